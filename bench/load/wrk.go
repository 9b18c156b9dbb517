package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed load.lua
var wrkScript []byte

// wrkTimeout is wrk's per-request timeout; wrk keeps a histogram bucket
// per microsecond up to it.
const wrkTimeout = 10 * time.Second

// wrkGen runs each slice of HTTP load as one wrk process.
type wrkGen struct {
	bin, script string
	threads     int
}

// newWrk finds wrk and writes the script into dir.
func newWrk(dir string, threads int) (*wrkGen, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, errors.New("wrk not found: apt-get install -y wrk (or -loadgen go, a Go client in a child process, which takes more CPU)")
	}
	script := filepath.Join(dir, "load.lua")
	if err := os.WriteFile(script, wrkScript, 0o600); err != nil {
		return nil, err
	}
	return &wrkGen{bin: bin, script: script, threads: threads}, nil
}

func (g *wrkGen) String() string { return fmt.Sprintf("wrk (%d threads)", g.threads) }

func (g *wrkGen) run(s spec) (sample, error) {
	if s.Kind != kindHTTP {
		return sample{}, fmt.Errorf("wrk drives HTTP targets only, not %s", s.Kind)
	}
	secs := max(int(s.Duration/time.Second), 1)
	cmd := exec.Command(g.bin, "-t", strconv.Itoa(min(g.threads, s.Conns)), "-c", strconv.Itoa(s.Conns),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", fmt.Sprintf("%ds", int(wrkTimeout/time.Second)),
		"-s", g.script, s.URL, "--", s.Op, s.Prefix, strconv.Itoa(s.IDs), strconv.Itoa(s.Size))
	cmd.Env = append(os.Environ(), "LOAD_TOKEN="+s.Token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	res, err := parseWrk(out, s.Conns)
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %w; its output:\n%s%s", err, out, stderr.Bytes())
	}
	if res.GenCPU == 0 { // a wrk without os.clock: all it used
		res.GenCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return res, nil
}

// parseWrk reads the RESULT line and the histogram that load.lua prints.
func parseWrk(out []byte, conns int) (sample, error) {
	var s sample
	var found bool
	h := hist{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "H":
			v, err1 := strconv.ParseInt(f[1], 10, 64)
			c, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				return s, fmt.Errorf("bad histogram line %q", sc.Text())
			}
			h[v] += c
		case len(f) > 0 && f[0] == "RESULT":
			if err := parseResult(f[1:], &s); err != nil {
				return s, err
			}
			found = true
		}
	}
	if !found {
		return s, errors.New("no RESULT line")
	}
	s.Hist = uncorrect(h, s.Elapsed, s.Requests, conns)
	if n := count(s.Hist); n != s.Requests {
		return s, fmt.Errorf("histogram holds %d requests after taking out wrk's correction, not %d", n, s.Requests)
	}
	return s, nil
}

func parseResult(fields []string, s *sample) error {
	v := map[string]int64{}
	for _, kv := range fields {
		k, val, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("bad RESULT field %q", kv)
		}
		v[k] = n
	}
	s.Elapsed = time.Duration(v["duration"]) * time.Microsecond
	s.Requests, s.Non2xx = v["requests"], v["non2xx"]
	s.Failed = v["connect"] + v["read"] + v["write"] + v["timeout"]
	s.GenCPU = time.Duration(v["cpu_us"]) * time.Microsecond
	return nil
}

// uncorrect takes wrk's coordinated-omission correction back out of its
// histogram. wrk (4.x, stats_correct) adds, for each latency n >= 2e, one
// sample at each n - k*e above e, where e = duration / (requests / conns);
// it reads each bucket before any higher one adds to it, so the additions
// never compound, and the samples added at m > e are exactly the corrected
// count at m + e. The harness drives closed loops and wants the latencies
// the requests had, as the Go load generator reports them.
func uncorrect(h hist, elapsed time.Duration, requests int64, conns int) hist {
	if requests/int64(conns) == 0 {
		return h
	}
	e := elapsed.Microseconds() / (requests / int64(conns))
	orig := hist{}
	for m, c := range h {
		if m > e {
			c -= h[m+e]
		}
		if c > 0 {
			orig[m] = c
		}
	}
	return orig
}

func count(h hist) int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}
