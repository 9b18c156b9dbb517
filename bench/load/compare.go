package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"time"
)

// harness holds one run's settings and what it has measured.
type harness struct {
	conns, size, ids int
	slice            time.Duration
	cycles           int       // slices per target in each comparison
	gen              generator // HTTP load
	emu              []int     // the emulators' processes (DynamoDB runs)
	profile, phase   string    // -cpuprofile, -profile-phase
	profiled         int
	errors           int64
	mu               sync.Mutex
	running          []*target // to stop if this process is interrupted
	tmp              string    // and the directory to remove then
}

// track records a started target, for stopAll.
func (h *harness) track(t *target) *target {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running = append(h.running, t)
	return t
}

// stopAll stops every target started, on SIGINT or SIGTERM, and exits:
// the deferred stops would not run, and uvicorn's workers, in a process
// group of their own, would outlive this process.
func (h *harness) stopAll(sig <-chan os.Signal) {
	s := <-sig
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(os.Stderr, "load: %v: stopping the servers\n", s)
	for _, t := range h.running {
		t.stop()
	}
	os.RemoveAll(h.tmp)
	os.Exit(1)
}

// side is one target's part in a comparison: the server, and the load
// sent to it (spec without Op, Prefix and Duration).
type side struct {
	t    *target
	gen  generator
	spec spec
}

// comparison is one workload on several targets in one round.
type comparison struct {
	Round  int
	Op     string // "read" or "write"
	Cycles int
	Rows   []sample
	Names  []string
	// Ratios[a][b] is the median, over the cycles, of the ratio of target
	// a's rate to target b's in the same cycle.
	Ratios [][]float64
}

func (c comparison) row(name string) int { return slices.Index(c.Names, name) }

// ratio is the median ratio of a's rate to b's (NaN: either is missing).
func (c comparison) ratio(a, b string) float64 {
	i, j := c.row(a), c.row(b)
	if i < 0 || j < 0 {
		return math.NaN()
	}
	return c.Ratios[i][j]
}

// compare runs op on every side in turn, one slice each per cycle, in
// forward order on even cycles and backward on odd ones (ABBA for two),
// so that a drift of the machine's speed hits every side alike; it
// returns each side's totals and the median per-cycle ratios.
func (h *harness) compare(round int, op string, sides []side) (comparison, error) {
	c := comparison{Round: round, Op: op, Cycles: h.cycles, Rows: make([]sample, len(sides))}
	rates := make([][]float64, len(sides))
	for _, s := range sides {
		c.Names = append(c.Names, s.t.name)
	}
	for cycle := range h.cycles {
		for k := range sides {
			i := k
			if cycle%2 == 1 {
				i = len(sides) - 1 - k
			}
			res, err := h.runSlice(sides[i], op, fmt.Sprintf("r%dc%d", round, cycle))
			if err != nil {
				return c, fmt.Errorf("%s %s: %w", sides[i].t.name, op, err)
			}
			c.Rows[i].add(res)
			rates[i] = append(rates[i], res.rate())
		}
	}
	for i := range sides {
		h.errors += c.Rows[i].errors()
		c.Ratios = append(c.Ratios, make([]float64, len(sides)))
		for j := range sides {
			c.Ratios[i][j] = medianRatio(rates[i], rates[j])
		}
	}
	return c, nil
}

func medianRatio(a, b []float64) float64 {
	var r []float64
	for k := range a {
		if b[k] > 0 {
			r = append(r, a[k]/b[k])
		}
	}
	if len(r) == 0 {
		return math.NaN()
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// runSlice sends one slice of op to a side, and measures the CPU time of
// the server's (and the emulators') processes around it and the server's
// memory after it.
func (h *harness) runSlice(sd side, op, prefix string) (sample, error) {
	s := sd.spec
	s.Op, s.Prefix, s.Duration = op, prefix, h.slice
	if h.profile != "" && h.phase == sd.t.name+" "+op && sd.t.startProf != nil {
		h.profiled++
		if err := sd.t.startProf(fmt.Sprintf("%s.%d", h.profile, h.profiled)); err != nil {
			return sample{}, err
		}
		defer sd.t.stopProf()
	}
	pids := sd.t.procs()
	cpu0, emu0 := cpuTime(pids), cpuTime(h.emu)
	res, err := sd.gen.run(s)
	if err != nil {
		return res, err
	}
	res.ServerCPU, res.EmuCPU = cpuTime(pids)-cpu0, cpuTime(h.emu)-emu0
	res.Mem = memory(sd.t.procs())
	return res, nil
}

// seed writes the ids s-0 … s-IDs-1 that reads pick from, through a Go
// client in a child process (not measured).
func (h *harness) seed(sd side) error {
	s := sd.spec
	s.Op = "seed"
	n := s.IDs
	res, err := goGen{}.run(s)
	if err != nil {
		return fmt.Errorf("writing %d ids to %s: %w", n, sd.t.name, err)
	}
	if res.errors() > 0 || res.Requests != int64(n) {
		return fmt.Errorf("writing %d ids to %s: %d answered, %d errors", n, sd.t.name, res.Requests, res.errors())
	}
	fmt.Printf("seeded %s with %d ids in %.1f s\n", sd.t.name, n, res.Elapsed.Seconds())
	return nil
}
