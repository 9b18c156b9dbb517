package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// goal is one target line of the issue, judged on one round.
type goal struct {
	Text     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	Skipped  string `json:"skipped,omitempty"`
}

func (g goal) String() string {
	verdict := "not met"
	switch {
	case g.Skipped != "":
		return fmt.Sprintf("- %s: skipped (%s)", g.Text, g.Skipped)
	case g.Met:
		verdict = "met"
	}
	return fmt.Sprintf("- %s: %s — **%s**", g.Text, g.Measured, verdict)
}

// ratioGoal: a's rate is at least min times b's (median of the cycles).
func ratioGoal(text string, c comparison, a, b string, min float64) goal {
	r := c.ratio(a, b)
	return goal{Text: text, Measured: fmt.Sprintf("%s (median of %d cycles)", fmtRatio(r), c.Cycles), Met: r >= min}
}

// tailGoal: a's p99 is at most max times its p50.
func tailGoal(text string, c comparison, a string, max float64) goal {
	t := c.Rows[c.row(a)]
	r := tailRatio(t)
	return goal{Text: text, Measured: fmt.Sprintf("%.2f (p50 %s, p99 %s)", r, fmtMs(t.Hist.percentile(0.50)), fmtMs(t.Hist.percentile(0.99))), Met: r <= max}
}

// memGoal: a's resident memory after the comparison is at most limit.
func memGoal(text string, c comparison, a string, limitKiB int64) goal {
	m := c.Rows[c.row(a)].Mem
	return goal{Text: text, Met: m.RSS <= limitKiB, Measured: fmt.Sprintf("RSS %s (anonymous %s, file-backed %s; peak %s)",
		fmtMiB(m.RSS), fmtMiB(m.Anon), fmtMiB(m.File), fmtMiB(m.Peak))}
}

func tailRatio(s sample) float64 {
	return float64(s.Hist.percentile(0.99)) / float64(max(s.Hist.percentile(0.50), 1))
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
func fmtUs(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }
func fmtMiB(kib int64) string      { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// fmtRatio shows a ratio below 2 as a percentage, others as a multiple.
func fmtRatio(r float64) string {
	switch {
	case math.IsNaN(r):
		return "—"
	case r < 2:
		return fmt.Sprintf("%.0f%%", 100*r)
	}
	return fmt.Sprintf("%.1f×", r)
}

// fmtRate writes req/s with thousands separators.
func fmtRate(r float64) string {
	s := fmt.Sprintf("%.0f", r)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// printTable writes c as a Markdown table, with a ratio column against
// each target of bases that ran.
func printTable(w io.Writer, title string, c comparison, bases []string, emu bool) {
	fmt.Fprintf(w, "\n%s (round %d; %d cycles of one slice per target)\n\n", title, c.Round, c.Cycles)
	head := "| target | req/s | p50 | p99 | p99/p50 | server CPU/req | load gen. CPU/req |"
	if emu {
		head += " emulators CPU/req |"
	}
	head += " server RSS (anon.) | errors |"
	var cols []string
	for _, b := range bases {
		if c.row(b) >= 0 {
			cols = append(cols, b)
			head += " vs " + b + " |"
		}
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, "|"+strings.Repeat("---|", strings.Count(head, "|")-1))
	for i, s := range c.Rows {
		line := fmt.Sprintf("| %s | %s | %s | %s | %.1f | %s | %s |", c.Names[i], fmtRate(s.rate()),
			fmtMs(s.Hist.percentile(0.50)), fmtMs(s.Hist.percentile(0.99)), tailRatio(s),
			fmtUs(s.perRequest(s.ServerCPU)), fmtUs(s.perRequest(s.GenCPU)))
		if emu {
			line += " " + fmtUs(s.perRequest(s.EmuCPU)) + " |"
		}
		line += fmt.Sprintf(" %s (%s) | %s |", fmtMiB(s.Mem.RSS), fmtMiB(s.Mem.Anon), fmtErrors(s))
		for _, b := range cols {
			r := "baseline"
			if b != c.Names[i] {
				r = fmtRatio(c.ratio(c.Names[i], b))
			}
			line += " " + r + " |"
		}
		fmt.Fprintln(w, line)
	}
}

func fmtErrors(s sample) string {
	if s.errors() == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d** (%d non-2xx, %d unanswered)", s.errors(), s.Non2xx, s.Failed)
}

// jsonRow is a table row for -json.
type jsonRow struct {
	Target      string             `json:"target"`
	Rate        float64            `json:"req_per_s"`
	P50us       int64              `json:"p50_us"`
	P99us       int64              `json:"p99_us"`
	ServerCPUus float64            `json:"server_cpu_us_per_req"`
	GenCPUus    float64            `json:"loadgen_cpu_us_per_req"`
	EmuCPUus    float64            `json:"emulators_cpu_us_per_req"`
	Mem         mem                `json:"server_mem_kib"`
	Requests    int64              `json:"requests"`
	Non2xx      int64              `json:"non2xx"`
	Failed      int64              `json:"unanswered"`
	Ratios      map[string]float64 `json:"ratio_to"`
}

// jsonComparison is one comparison and its goals, for -json.
type jsonComparison struct {
	Round int       `json:"round"`
	Op    string    `json:"op"`
	Rows  []jsonRow `json:"rows"`
}

func toJSON(c comparison) jsonComparison {
	out := jsonComparison{Round: c.Round, Op: c.Op}
	for i, s := range c.Rows {
		r := jsonRow{Target: c.Names[i], Rate: s.rate(), P50us: s.Hist.percentile(0.50).Microseconds(),
			P99us: s.Hist.percentile(0.99).Microseconds(), ServerCPUus: us(s.perRequest(s.ServerCPU)),
			GenCPUus: us(s.perRequest(s.GenCPU)), EmuCPUus: us(s.perRequest(s.EmuCPU)), Mem: s.Mem,
			Requests: s.Requests, Non2xx: s.Non2xx, Failed: s.Failed, Ratios: map[string]float64{}}
		for j, b := range c.Names {
			if j != i && !math.IsNaN(c.Ratios[i][j]) {
				r.Ratios[b] = c.Ratios[i][j]
			}
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// writeJSON writes v to path, indented.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
