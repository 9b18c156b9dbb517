// Command load is sealstore's load harness. Every server under test runs
// in a process of its own, and so does the load: wrk (C, one Lua script
// for the reference routes' reads and writes) or, with -loadgen go, a Go
// client in a child process of this program. The harness measures each
// server's CPU time and memory from /proc, and prints a Markdown table
// per comparison: requests/s, p50, p99, CPU per request, memory, errors,
// the ratios to the baselines, and the target lines.
//
//	go run ./bench/load [-duration 10s] [-slice 1s] [-conns 32] [-size 1024] [-rounds 1] [-json FILE]
//
// The embedded comparison: 'sealstore serve' (built from ./cmd/sealstore)
// on a temporary data directory against the ceiling, a trivial Go HTTPS
// JSON handler with the same TLS settings (this program as -child
// ceiling). With -dynamodb, under scripts/emulators/start: the DynamoDB
// emulator's own GetItem / PutItem (the AWS SDK in a child process),
// 'sealstore serve --store dynamodb', and the reference FastAPI app
// (uvicorn, started here when python3 has its Debian packages).
//
// Each comparison alternates slices of every target (ABBA for two,
// ABCCBA for three) for -duration each, and reports the median of the
// per-cycle rate ratios: this VM's speed drifts by tens of percent within
// a minute, which sequential phases would mistake for a difference.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/internal/server"
)

// options are the command line's.
type options struct {
	duration, slice            time.Duration
	conns, size, ids, refIDs   int
	rounds, wrkThreads         int
	loadgen, sealstore, refApp string
	cpuprofile, phase, jsonOut string
	dynamo                     bool
	child, childDir, childSpec string
}

func parseFlags() options {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "time per target per workload in each round")
	flag.DurationVar(&o.slice, "slice", time.Second, "length of one slice (whole seconds)")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections")
	flag.IntVar(&o.size, "size", 1024, "secret size in bytes")
	flag.IntVar(&o.ids, "ids", 10000, "ids written to each server before the measurement; reads pick among them")
	flag.IntVar(&o.refIDs, "reference-ids", 1000, "ids written to the reference app (it writes ~200/s)")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds of all comparisons (the report shows each)")
	flag.StringVar(&o.loadgen, "loadgen", "wrk", "HTTP load generator: wrk, or go (a Go client in a child process)")
	flag.IntVar(&o.wrkThreads, "wrk-threads", runtime.NumCPU(), "wrk's threads")
	flag.StringVar(&o.sealstore, "sealstore", "", "sealstore binary to run (default: go build ./cmd/sealstore)")
	flag.StringVar(&o.refApp, "reference", "../shared/reference/seed_app.py", "the reference FastAPI app (-dynamodb)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write CPU profiles of the sealstore server to FILE.1, FILE.2, …, one per slice of -profile-phase, each with its allocation profile beside it (FILE.1.allocs, …) (sealstore then runs as this program's child, server.Run in process)")
	flag.StringVar(&o.phase, "profile-phase", "sealstore read", "the target and workload -cpuprofile covers, e.g. 'sealstore-dynamodb write'")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results to this file as JSON")
	flag.BoolVar(&o.dynamo, "dynamodb", false, "compare on DynamoDB + KMS: the emulator's own rate, sealstore and the reference app (run under scripts/emulators/start)")
	flag.StringVar(&o.child, "child", "", "internal: run as a child: ceiling, sealstore or loadgen")
	flag.StringVar(&o.childDir, "dir", "", "internal: the child server's directory")
	flag.StringVar(&o.childSpec, "spec", "", "internal: the load generator's spec (JSON)")
	flag.Parse()
	return o
}

func main() {
	o := parseFlags()
	var err error
	switch o.child {
	case "":
		err = run(o)
	case "loadgen":
		err = runLoadgen(o.childSpec)
	default:
		// The children serve with the GC settings of sealstore serve.
		server.TuneGC()
		err = serveChild(o.child, o.childDir, o.size, o.dynamo)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// run is the harness: it sets up, runs the comparisons and reports.
func run(o options) error {
	if o.slice < time.Second || o.duration < 2*o.slice {
		return errors.New("-slice must be at least 1s and -duration at least two slices")
	}
	if o.loadgen != "wrk" && o.loadgen != "go" {
		return fmt.Errorf("-loadgen %q: wrk or go", o.loadgen)
	}
	tmp, err := os.MkdirTemp("", "sealstore-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	h := &harness{conns: o.conns, size: o.size, ids: o.ids, slice: o.slice.Truncate(time.Second),
		cycles: int(o.duration / o.slice), profile: o.cpuprofile, phase: o.phase, tmp: tmp}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go h.stopAll(sig)
	if o.loadgen == "go" {
		h.gen = goGen{}
	} else if h.gen, err = newWrk(tmp, o.wrkThreads); err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs, %s/%s, %s; load average %s (1, 5, 15 min)\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	fmt.Printf("load: %s, %d connections, %d-byte secrets, %s per target per workload in %s slices, %d round(s)\n",
		h.gen, o.conns, o.size, o.duration, h.slice, o.rounds)
	var rep report
	if o.dynamo {
		rep, err = h.runDynamo(o, tmp)
	} else {
		rep, err = h.runEmbedded(o, tmp)
	}
	if err != nil {
		return err
	}
	rep.LoadAvgEnd = loadAvg()
	fmt.Printf("\nload average at the end: %s\n", rep.LoadAvgEnd)
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, rep); err != nil {
			return err
		}
	}
	if h.errors > 0 {
		return fmt.Errorf("%d requests failed or answered outside 2xx: these figures are not valid", h.errors)
	}
	return nil
}

// report is a run's results, for -json.
type report struct {
	Mode        string            `json:"mode"`
	Date        string            `json:"date"`
	CPUs        int               `json:"cpus"`
	Go          string            `json:"go"`
	LoadGen     string            `json:"load_generator"`
	Conns       int               `json:"connections"`
	Size        int               `json:"secret_bytes"`
	SliceS      float64           `json:"slice_s"`
	LoadAvg     string            `json:"load_average_start"`
	LoadAvgEnd  string            `json:"load_average_end"`
	Skipped     map[string]string `json:"skipped,omitempty"`
	Comparisons []jsonComparison  `json:"comparisons"`
	Goals       [][]goal          `json:"goals_per_round"`
}

func (h *harness) newReport(mode string) report {
	return report{Mode: mode, Date: time.Now().Format(time.RFC3339), CPUs: runtime.NumCPU(), Go: runtime.Version(),
		LoadGen: h.gen.String(), Conns: h.conns, Size: h.size, SliceS: h.slice.Seconds(), LoadAvg: loadAvg(), Skipped: map[string]string{}}
}

// startSealstore starts the sealstore target: the built command, or
// with -cpuprofile this program's child (server.Run in process).
func (h *harness) startSealstore(o options, name, dir string, b server.Backend) (*target, error) {
	if o.cpuprofile != "" {
		t, err := startChild(name, "sealstore", dir, o.size, b.Kind == server.KindDynamoDB)
		if err != nil {
			return nil, err
		}
		return h.track(t), nil
	}
	bin := o.sealstore
	if bin == "" {
		var err error
		if bin, err = buildSealstore(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	t, err := startSealstore(name, bin, dir, b)
	if err != nil {
		return nil, err
	}
	return h.track(t), nil
}

// httpSide is the load of an HTTP target.
func (h *harness) httpSide(t *target, ids int) side {
	return side{t: t, gen: h.gen, spec: spec{Kind: kindHTTP, URL: t.url, CA: t.ca, Token: t.token, IDs: ids, Size: h.size, Conns: h.conns}}
}
