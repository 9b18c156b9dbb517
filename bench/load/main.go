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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
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

// rss returns a process's (0: this one) resident memory from /proc (Linux): the total
// now and at its peak, and now split into anonymous memory (heaps, stacks:
// what the process itself holds) and file pages (bbolt's memory-mapped
// database, which the kernel may drop and re-read at will).
func rss(pid int) string {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	v := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			v[k] = strings.TrimSpace(val)
		}
	}
	return fmt.Sprintf("RSS %s (peak %s): anonymous %s, file-backed %s", v["VmRSS"], v["VmHWM"], v["RssAnon"], v["RssFile"])
}

// workload is one kind of request against one server: op sends request i
// of worker w and waits for its answer.
type workload struct {
	name string
	op   func(w, i int) error
}

// httpWork is a workload of HTTP requests that must answer 200.
func httpWork(name string, c *http.Client, mk func(w, i int) (*http.Request, error)) workload {
	return workload{name, func(w, i int) error {
		req, err := mk(w, i)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}}
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

func jsonPost(url string, body []byte, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// drive runs conns workers of wl for d, each sending its requests one at a
// time.
func drive(wl workload, d time.Duration, conns int) result {
	name := wl.name
	if profile.file != "" && profile.phase == name && !profile.done {
		profile.done = true // the first slice of the phase only
		if f, err := os.Create(profile.file); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(d)
	start, cpu0 := time.Now(), cpu()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := wl.op(w, i); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	return result{name: name, n: len(all), errors: int(errs.Load()), elapsed: time.Since(start), cpu: cpu() - cpu0, lat: all}
}

// cpu is the CPU time used so far by this process and the servers'.
var cpu = func() time.Duration { return cpuTime(0) }

// cpuTime is the user and system CPU time of process pid (0: this one)
// so far, from /proc (Linux; 0 elsewhere).
func cpuTime(pid int) time.Duration {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100

func newClient(caFile string, conns int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no certificate in " + caFile)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}, Timeout: 30 * time.Second}, nil
}

// target is a server under test, as the clients see it.
type target struct {
	url, token string
	client     *http.Client
	pid        int // 0: in this process
	stop       func()
}

func (t *target) cpu() time.Duration {
	if t.pid == 0 {
		return 0 // counted with this process
	}
	return cpuTime(t.pid)
}

// startInProcess starts server kind ("ceiling" or "sealstore") in this
// process.
func startInProcess(kind, dir string, size int) (*target, error) {
	url, token, stop, err := serve(kind, dir, size)
	if err != nil {
		return nil, err
	}
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		stop()
		return nil, err
	}
	return &target{url: url, token: token, client: client, stop: stop}, nil
}

// startProcess starts server kind in a child process (this program with
// -child), which prints "URL TOKEN" on its stdout once serving.
func startProcess(kind, dir string, size int) (*target, error) {
	cmd := exec.Command(os.Args[0], "-child", kind, "-dir", dir, "-size", strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	var url, token string
	if _, err := fmt.Fscanln(stdout, &url, &token); err != nil {
		stop()
		return nil, fmt.Errorf("%s did not start: %w", kind, err)
	}
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		stop()
		return nil, err
	}
	return &target{url: url, token: token, client: client, pid: cmd.Process.Pid, stop: stop}, nil
}

// serveChild serves kind until its stdin closes.
func serveChild(kind, dir string, size int) error {
	url, token, stop, err := serve(kind, dir, size)
	if err != nil {
		return err
	}
	fmt.Println(url, token)
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return nil
}

// serve starts kind in this process: the trivial handler, or sealstore on
// the data directory dir. token is "-" for the ceiling.
func serve(kind, dir string, size int) (url, token string, stop func(), err error) {
	switch kind {
	case "ceiling":
		url, stop, err = serveCeiling(dir, size)
		return url, "-", stop, err
	case "sealstore":
		return serveSealstore(dir, server.Backend{})
	}
	return "", "", nil, fmt.Errorf("unknown server %q", kind)
}

// serveCeiling starts the trivial handler: GET answers the JSON a read of
// a size-byte secret answers, POST decodes the JSON body and answers
// {"status":"ok"}; no token check, storage or crypto.
func serveCeiling(dir string, size int) (string, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	if err := datadir.EnsureCert(dir); err != nil {
		return "", nil, err
	}
	certs, err := api.LoadCert(filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile))
	if err != nil {
		return "", nil, err
	}
	secret := strings.Repeat("s", size)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{"status": "ok"}
		if r.Method == http.MethodPost {
			var in map[string]string
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
				http.Error(w, "bad json", http.StatusBadRequest)
				return
			}
		} else {
			out = map[string]string{"item_id": r.URL.Path, "secret": secret}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, TLSConfig: api.TLSConfig(certs)}
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return "https://" + ln.Addr().String(), func() { srv.Close() }, nil
}

var tokenLine = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)

// serveSealstore runs server.Run (what sealstore serve runs) on dir.
// On DynamoDB, 'sealstore init' makes the tables and prints the token.
func serveSealstore(dir string, b server.Backend) (url, token string, stop func(), err error) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	cfg := server.Config{DataDir: dir, Backend: b, Listen: "127.0.0.1:0", Out: &out, Log: io.Discard,
		OnListen: func(https, _ net.Addr) { addrc <- https }}
	if b.Kind == server.KindDynamoDB {
		if err := server.Init(ctx, cfg, &out); err != nil {
			cancel()
			return "", "", nil, err
		}
	}
	go func() { done <- server.Run(ctx, cfg, nil) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		return "", "", nil, fmt.Errorf("sealstore did not start: %w", err)
	}
	token = tokenLine.FindString(out.String())
	if token == "" {
		cancel()
		return "", "", nil, errors.New("no bootstrap token printed")
	}
	return "https://" + addr.String(), token, func() { cancel(); <-done }, nil
}
