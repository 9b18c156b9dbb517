// Command load is sealstore's load harness. It starts a sealstore server on
// a temporary data directory and a trivial Go HTTPS JSON handler (the
// ceiling: same TLS settings, no storage, no crypto), drives each over
// HTTPS with concurrent keep-alive clients for a fixed time, and prints
// requests/s, p50 and p99 for each, and sealstore's ratio to the ceiling.
//
//	go run ./bench/load [-duration 10s] [-conns 32] [-size 1024] [-rounds 1]
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
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/api"
	"github.com/sealstore/sealstore/datadir"
	"github.com/sealstore/sealstore/server"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "time per phase")
	conns := flag.Int("conns", 32, "concurrent connections")
	size := flag.Int("size", 1024, "secret size in bytes")
	rounds := flag.Int("rounds", 1, "rounds of all phases (the report shows each)")
	flag.StringVar(&profile.file, "cpuprofile", "", "write a CPU profile of one phase to this file")
	flag.StringVar(&profile.phase, "profile-phase", "sealstore GET (read)", "the phase -cpuprofile covers")
	flag.Parse()
	// The whole process (ceiling and sealstore alike) runs with the GC
	// settings of sealstore serve; GOGC=100 in the environment measures
	// Go's defaults instead.
	server.TuneGC()
	if err := run(*duration, *conns, *size, *rounds); err != nil {
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

func run(duration time.Duration, conns, size, rounds int) error {
	gcPercent := debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	tmp, err := os.MkdirTemp("", "sealstore-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ceiling, err := startCeiling(filepath.Join(tmp, "ceiling"), size)
	if err != nil {
		return err
	}
	defer ceiling.Close()
	ss, err := startSealstore(filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	defer ss.stop()

	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s, GOGC %d; %d connections, %d-byte secrets, %s per workload\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), debug.SetGCPercent(-1), conns, size, duration)
	debug.SetGCPercent(gcPercent)
	for r := 1; r <= rounds; r++ {
		if err := round(r, ceiling, ss, duration, conns, size); err != nil {
			return err
		}
	}
	fmt.Printf("\nmemory of this process (servers and clients): %s\n", rss())
	return nil
}

// rss returns the process's resident memory from /proc (Linux): the total
// now and at its peak, and now split into anonymous memory (heaps, stacks:
// what the process itself holds) and file pages (bbolt's memory-mapped
// database, which the kernel may drop and re-read at will).
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
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

// workload is one kind of request against one server.
type workload struct {
	name   string
	client *http.Client
	mk     func(w, i int) (*http.Request, error)
}

// compare runs a (the ceiling) and b (sealstore) in alternating slices,
// ABBA order, so that a drift of the machine's speed hits both alike, and
// returns each one's totals and the median of the per-pair rate ratios.
func compare(a, b workload, slices, conns int, slice time.Duration) (ra, rb result, median float64) {
	var ratios []float64
	for i := range slices {
		var x, y result
		if i%2 == 0 {
			x = drive(a.name, a.client, slice, conns, a.mk)
			y = drive(b.name, b.client, slice, conns, b.mk)
		} else {
			y = drive(b.name, b.client, slice, conns, b.mk)
			x = drive(a.name, a.client, slice, conns, a.mk)
		}
		ratios = append(ratios, y.rate()/x.rate())
		ra, rb = ra.add(x), rb.add(y)
	}
	sort.Float64s(ratios)
	return ra, rb, ratios[len(ratios)/2]
}

func round(r int, ceiling *ceilingServer, ss *sealstoreServer, duration time.Duration, conns, size int) error {
	fmt.Printf("\nround %d\n", r)
	secret := strings.Repeat("s", size)
	body := func(id string) []byte {
		b, _ := json.Marshal(map[string]string{"id": id, "secret": secret})
		return b
	}
	var seq atomic.Int64
	var written atomic.Int64 // ids 0..written-1 exist
	cGet := workload{"ceiling GET", ceiling.client, func(int, int) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, ceiling.url+"/items/x", nil)
	}}
	cPost := workload{"ceiling POST", ceiling.client, func(w, i int) (*http.Request, error) {
		return jsonPost(ceiling.url+"/items/", body(fmt.Sprintf("c-%d-%d-%d", r, w, i)), "")
	}}
	sPost := workload{"sealstore POST (write)", ss.client, func(int, int) (*http.Request, error) {
		n := seq.Add(1) - 1
		if n >= written.Load() {
			written.Store(n + 1) // a later read may race ahead of this write: it then 404s and counts as an error
		}
		return jsonPost(ss.url+"/items/", body(fmt.Sprintf("r%d-%d", r, n)), ss.token)
	}}
	sGet := workload{"sealstore GET (read)", ss.client, func(w, i int) (*http.Request, error) {
		n := (int64(w)*7919 + int64(i)*104729) % max(written.Load()-int64(conns), 1)
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/items/r%d-%d", ss.url, r, n), nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+ss.token)
		}
		return req, err
	}}
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

// drive runs conns workers for d, each sending the requests mk makes
// (worker, sequence number) one at a time, and expects 200s.
func drive(name string, c *http.Client, d time.Duration, conns int, mk func(w, i int) (*http.Request, error)) result {
	if profile.file != "" && profile.phase == name && !profile.done {
		profile.done = true // the first slice of the phase only
		if f, err := os.Create(profile.file); err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	var errs atomic.Int64
	lat := make([][]time.Duration, conns)
	deadline := time.Now().Add(d)
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				req, err := mk(w, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
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
	return result{name: name, n: len(all), errors: int(errs.Load()), elapsed: time.Since(start), cpu: cpuTime() - cpu0, lat: all}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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

// ceilingServer is the trivial HTTPS JSON handler.
type ceilingServer struct {
	*http.Server
	url    string
	client *http.Client
}

// startCeiling starts the trivial handler: GET answers the JSON a read of
// a size-byte secret answers, POST decodes the JSON body and answers
// {"status":"ok"}; no token check, storage or crypto.
func startCeiling(dir string, size int) (*ceilingServer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := datadir.EnsureCert(dir); err != nil {
		return nil, err
	}
	certs, err := api.LoadCert(filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile))
	if err != nil {
		return nil, err
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
		return nil, err
	}
	srv := &http.Server{Handler: h, TLSConfig: api.TLSConfig(certs)}
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		return nil, err
	}
	return &ceilingServer{Server: srv, url: "https://" + ln.Addr().String(), client: client}, nil
}

// sealstoreServer is a sealstore server.Run in this process.
type sealstoreServer struct {
	url, token string
	client     *http.Client
	stop       func()
}

var tokenLine = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)

func startSealstore(dir string) (*sealstoreServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	cfg := server.Config{DataDir: dir, Listen: "127.0.0.1:0", Out: &out, Log: io.Discard,
		OnListen: func(https, _ net.Addr) { addrc <- https }}
	go func() { done <- server.Run(ctx, cfg, nil) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("sealstore did not start: %w", err)
	}
	token := tokenLine.FindString(out.String())
	if token == "" {
		cancel()
		return nil, errors.New("no bootstrap token printed")
	}
	client, err := newClient(filepath.Join(dir, datadir.CertFile), 64)
	if err != nil {
		cancel()
		return nil, err
	}
	stop := func() { cancel(); <-done }
	return &sealstoreServer{url: "https://" + addr.String(), token: token, client: client, stop: stop}, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
