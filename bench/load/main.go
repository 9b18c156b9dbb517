// Command load is sealstore's load harness. It starts a sealstore server on
// a temporary data directory and a trivial Go HTTPS JSON handler (the
// ceiling: same TLS settings, no storage, no crypto), drives each over
// HTTPS with concurrent keep-alive clients for a fixed time, and prints
// requests/s, p50 and p99 for each, and sealstore's ratio to the ceiling.
//
//	go run ./bench/load [-duration 10s] [-conns 32] [-size 1024] [-rounds 1] [-processes]
//
// By default both servers run in this process, beside the clients, under
// one Go scheduler; -processes runs each in a child process instead (with
// its own heap and collector) and reports the sealstore process's memory.
// On two cores the OS then time-slices three processes, which lengthens
// every server's tail latency, the trivial one's most.
//
// Each comparison alternates 1-second slices of the ceiling and of
// sealstore (ABBA) for -duration each, and reports the median of the
// per-pair throughput ratios: this VM's speed drifts by tens of percent
// within a minute, which sequential phases would mistake for a difference.
//
// Everything runs on 127.0.0.1 in this process: clients and servers share
// the machine's cores in every phase alike, so the ratios are fair.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sealstore/sealstore/internal/server"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time per phase")
	conns := flag.Int("conns", 32, "concurrent connections")
	size := flag.Int("size", 1024, "secret size in bytes")
	rounds := flag.Int("rounds", 1, "rounds of all phases (the report shows each)")
	flag.StringVar(&profile.file, "cpuprofile", "", "write a CPU profile of one phase of this process to this file (without -processes, it holds the servers)")
	flag.StringVar(&profile.phase, "profile-phase", "sealstore GET (read)", "the phase -cpuprofile covers")
	dynamo := flag.Bool("dynamodb", false, "compare sealstore on DynamoDB + KMS with the DynamoDB emulator's own PutItem/GetItem rate, instead of the embedded default with a trivial handler (needs the emulators: run under scripts/emulators/start)")
	processes := flag.Bool("processes", false, "run each server in a child process (its own heap and GC; reports the sealstore process's memory) instead of in this process")
	child := flag.String("child", "", "internal: run as the child serving 'ceiling' or 'sealstore' from -dir")
	childDir := flag.String("dir", "", "internal: the child's directory")
	flag.Parse()
	// The whole process (ceiling and sealstore alike) runs with the GC
	// settings of sealstore serve; GOGC=100 in the environment measures
	// Go's defaults instead.
	server.TuneGC()
	if *child != "" {
		if err := serveChild(*child, *childDir, *size); err != nil {
			fmt.Fprintln(os.Stderr, "load child:", err)
			os.Exit(1)
		}
		return
	}
	run := run
	if *dynamo {
		run = runDynamo
	}
	if err := run(*duration, *conns, *size, *rounds, !*processes); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// profile names the phase to profile and the file to write.
var profile struct {
	file, phase string
	done        bool
}

// result is one phase's outcome.
type result struct {
	name     string
	n        int
	errors   int
	elapsed  time.Duration
	cpu      time.Duration // process CPU time used during the phase
	lat      []time.Duration
	p50, p99 time.Duration
}

// add merges two results of the same workload.
func (r result) add(o result) result {
	r.name = o.name
	r.n += o.n
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	if len(r.lat) > 0 {
		r.p50, r.p99 = r.lat[len(r.lat)/2], r.lat[len(r.lat)*99/100]
	}
	return r
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) String() string {
	return fmt.Sprintf("%-22s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  p99/p50 %4.1f  CPU %4.0f µs/req (%3.0f%% of %d cores)  errors %d",
		r.name, r.rate(), ms(r.p50), ms(r.p99), float64(r.p99)/float64(max(r.p50, 1)),
		float64(r.cpu.Microseconds())/float64(max(r.n, 1)), 100*r.cpu.Seconds()/r.elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU(), r.errors)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func run(duration time.Duration, conns, size, rounds int, inProcess bool) error {
	gcPercent := debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	tmp, err := os.MkdirTemp("", "sealstore-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	start := startProcess
	if inProcess {
		start = startInProcess
	}
	ceiling, err := start("ceiling", filepath.Join(tmp, "ceiling"), size)
	if err != nil {
		return err
	}
	defer ceiling.stop()
	ss, err := start("sealstore", filepath.Join(tmp, "data"), size)
	if err != nil {
		return err
	}
	defer ss.stop()
	cpu = func() time.Duration { return cpuTime(0) + ceiling.cpu() + ss.cpu() }
	where := "each server in its own process"
	if inProcess {
		where = "both servers in this process"
	}

	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s, GOGC %d; %d connections, %d-byte secrets, %s per workload; %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), debug.SetGCPercent(-1), conns, size, duration, where)
	debug.SetGCPercent(gcPercent)
	for r := 1; r <= rounds; r++ {
		if err := round(r, ceiling, ss, duration, conns, size); err != nil {
			return err
		}
	}
	if inProcess {
		fmt.Printf("\nmemory of this process (servers and clients): %s\n", rss(0))
	} else {
		fmt.Printf("\nmemory of the sealstore process: %s\n", rss(ss.pid))
	}
	return nil
}

// compare runs a (the ceiling) and b (sealstore) in alternating slices,
// ABBA order, so that a drift of the machine's speed hits both alike, and
// returns each one's totals and the median of the per-pair rate ratios.
func compare(a, b workload, slices, conns int, slice time.Duration) (ra, rb result, median float64) {
	var ratios []float64
	for i := range slices {
		var x, y result
		if i%2 == 0 {
			x = drive(a, slice, conns)
			y = drive(b, slice, conns)
		} else {
			y = drive(b, slice, conns)
			x = drive(a, slice, conns)
		}
		ratios = append(ratios, y.rate()/x.rate())
		ra, rb = ra.add(x), rb.add(y)
	}
	sort.Float64s(ratios)
	return ra, rb, ratios[len(ratios)/2]
}

func round(r int, ceiling, ss *target, duration time.Duration, conns, size int) error {
	fmt.Printf("\nround %d\n", r)
	secret := strings.Repeat("s", size)
	body := func(id string) []byte {
		b, _ := json.Marshal(map[string]string{"id": id, "secret": secret})
		return b
	}
	var seq atomic.Int64
	var written atomic.Int64 // ids 0..written-1 exist
	cGet := httpWork("ceiling GET", ceiling.client, func(int, int) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, ceiling.url+"/items/x", nil)
	})
	cPost := httpWork("ceiling POST", ceiling.client, func(w, i int) (*http.Request, error) {
		return jsonPost(ceiling.url+"/items/", body(fmt.Sprintf("c-%d-%d-%d", r, w, i)), "")
	})
	sPost, sGet := sealstoreWork(ss, r, conns, body, &seq, &written)
	slices := max(int(duration/time.Second), 2)
	cw, sw, wRatio := compare(cPost, sPost, slices, conns, time.Second)
	cr, sr, rRatio := compare(cGet, sGet, slices, conns, time.Second)
	for _, res := range []result{cr, sr, cw, sw} {
		fmt.Println(res)
	}
	fmt.Printf("reads:  %.0f%% of the ceiling (median of %d paired 1 s slices; target >= 50%%)\n", 100*rRatio, slices)
	fmt.Printf("writes: %.0f%% of the ceiling (median of %d paired 1 s slices; target >= 20%%), every 200 after fsync\n", 100*wRatio, slices)
	if cr.errors+cw.errors+sr.errors+sw.errors > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

// sealstoreWork returns sealstore's write and read workloads: writes of
// fresh ids, reads of ids already written.
func sealstoreWork(ss *target, r, conns int, body func(id string) []byte, seq, written *atomic.Int64) (post, get workload) {
	post = httpWork("sealstore POST (write)", ss.client, func(int, int) (*http.Request, error) {
		n := seq.Add(1) - 1
		if n >= written.Load() {
			written.Store(n + 1) // a later read may race ahead of this write: it then 404s and counts as an error
		}
		return jsonPost(ss.url+"/items/", body(fmt.Sprintf("r%d-%d", r, n)), ss.token)
	})
	get = httpWork("sealstore GET (read)", ss.client, func(w, i int) (*http.Request, error) {
		n := (int64(w)*7919 + int64(i)*104729) % max(written.Load()-int64(conns), 1)
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/items/r%d-%d", ss.url, r, n), nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+ss.token)
		}
		return req, err
	})
	return post, get
}
