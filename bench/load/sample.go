package main

import (
	"slices"
	"time"
)

// hist is a latency histogram: microseconds to count.
type hist map[int64]int64

func (h hist) add(o hist) {
	for v, c := range o {
		h[v] += c
	}
}

// percentile returns the smallest latency at or above fraction p of the
// requests.
func (h hist) percentile(p float64) time.Duration {
	var total int64
	keys := make([]int64, 0, len(h))
	for v, c := range h {
		keys = append(keys, v)
		total += c
	}
	slices.Sort(keys)
	want := int64(p * float64(total))
	var seen int64
	for _, v := range keys {
		seen += h[v]
		if seen > want {
			return time.Duration(v) * time.Microsecond
		}
	}
	return 0
}

// mem is a server's resident memory, summed over its processes (from
// /proc/PID/status, in KiB).
type mem struct {
	RSS, Peak, Anon, File int64
}

// sample is what one slice of load measured, or a sum of slices.
type sample struct {
	Requests int64         `json:"requests"` // answers received (2xx or not)
	Non2xx   int64         `json:"non2xx"`   // answers outside 2xx
	Failed   int64         `json:"failed"`   // requests without an answer: connect, read, write errors, timeouts
	Elapsed  time.Duration `json:"elapsed"`
	Hist     hist          `json:"-"`
	// CPU time of the server's processes, of the load generator's, and of
	// the emulators' (DynamoDB targets only) during the slice.
	ServerCPU, GenCPU, EmuCPU time.Duration
	// Mem is the server's memory at the end of the slice.
	Mem mem
}

func (s *sample) add(o sample) {
	s.Requests += o.Requests
	s.Non2xx += o.Non2xx
	s.Failed += o.Failed
	s.Elapsed += o.Elapsed
	if s.Hist == nil {
		s.Hist = hist{}
	}
	s.Hist.add(o.Hist)
	s.ServerCPU += o.ServerCPU
	s.GenCPU += o.GenCPU
	s.EmuCPU += o.EmuCPU
	s.Mem = o.Mem
	s.Mem.Peak = max(s.Mem.Peak, o.Mem.Peak)
}

// rate is 2xx answers per second.
func (s sample) rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests-s.Non2xx) / s.Elapsed.Seconds()
}

func (s sample) errors() int64 { return s.Non2xx + s.Failed }

// perRequest divides a CPU time by the answers received.
func (s sample) perRequest(cpu time.Duration) time.Duration {
	return cpu / time.Duration(max(s.Requests, 1))
}
