package main

// Process-level tests of "sealstore serve" and the offline "sealstore
// tokens" tools. Each test runs the real command as a subprocess (TestMain
// puts a "sealstore" executable, this test binary, on PATH), talks to it
// over HTTPS with the data directory's certificate as the only trusted
// root, and stops it with real signals.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/syncbuf"
)

// Timeouts. The subprocess is this test binary, built with -race when the
// tests are, so starts and requests are slower than in production.
const (
	startTimeout = 60 * time.Second // until the banner is printed
	exitTimeout  = 10 * time.Second // from SIGTERM (nothing in flight) to exit
	cmdTimeout   = 30 * time.Second // one offline CLI command
)

var tokenRE = regexp.MustCompile(`^sst_[A-Za-z0-9_-]{43}$`)

// childEnv is the environment of every subprocess: ours without the
// SEALSTORE_* variables, which would change the defaults under test.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEALSTORE_") {
			env = append(env, kv)
		}
	}
	return env
}

// proc is a running "sealstore serve".
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	dir    string
	stderr syncbuf.Buffer

	mu    sync.Mutex
	lines []string // stdout, line by line

	ready chan struct{} // closed when the banner's last line is read
	done  chan struct{} // closed once the process has exited
	state *os.ProcessState

	// From the banner.
	addr, httpAddr, fingerprint, bootstrap, version string

	client *http.Client
}

// startProc starts "sealstore serve ARGS..." without waiting for it.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return startProcEnv(t, childEnv(), func(line string) bool { return strings.HasPrefix(line, "WARNING:") }, args...)
}

// startProcEnv starts "sealstore serve ARGS..." in environment env; its
// ready channel closes at the first stdout line for which ready is true
// (the banner's last line).
func startProcEnv(t *testing.T, env []string, ready func(line string) bool, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, ready: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command("sealstore", append([]string{"serve"}, args...)...)
	p.cmd.Env = env
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sealstore serve: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		readyClosed := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			if ready(line) && !readyClosed {
				close(p.ready)
				readyClosed = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.stderr.String(), "DATA RACE") {
			t.Errorf("sealstore serve reported a data race:\n%s", tail(p.stderr.String(), 8000))
		}
		if t.Failed() {
			t.Logf("sealstore serve %s\nstdout:\n%s\nstderr (tail):\n%s",
				strings.Join(args, " "), strings.Join(p.stdout(), "\n"), tail(p.stderr.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// startServer starts "sealstore serve --data-dir DIR --listen 127.0.0.1:0
// EXTRA..." and waits for its banner, which it checks and parses.
func startServer(t *testing.T, dir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--data-dir", dir, "--listen", "127.0.0.1:0"}, extra...)
	p := startProc(t, args...)
	p.dir = dir
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("sealstore serve exited before serving (%v):\n%s", p.state, p.stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("sealstore serve printed no banner within %v; stdout so far: %q", startTimeout, p.stdout())
	}
	for _, line := range p.stdout() {
		switch {
		case strings.HasPrefix(line, "bootstrap admin token (shown once; store it now): "):
			p.bootstrap = strings.TrimPrefix(line, "bootstrap admin token (shown once; store it now): ")
		case strings.HasPrefix(line, "sealstore listening on https://"):
			p.addr = strings.TrimPrefix(line, "sealstore listening on https://")
		case strings.HasPrefix(line, "plain HTTP on http://"):
			p.httpAddr = strings.TrimSuffix(strings.TrimPrefix(line, "plain HTTP on http://"), " redirects to HTTPS")
		case strings.HasPrefix(line, "certificate SHA-256 fingerprint: "):
			p.fingerprint = strings.TrimPrefix(line, "certificate SHA-256 fingerprint: ")
		case strings.HasPrefix(line, "version: "):
			p.version = strings.TrimPrefix(line, "version: ")
		case line == "data directory: "+dir, strings.HasPrefix(line, "WARNING: "):
		default:
			t.Errorf("unexpected banner line %q", line)
		}
	}
	if p.bootstrap != "" && !tokenRE.MatchString(p.bootstrap) {
		t.Errorf("bootstrap token %q does not match %s", p.bootstrap, tokenRE)
	}
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("listening address %q: want 127.0.0.1 and a real port (%v)", p.addr, err)
	}
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(p.fingerprint) {
		t.Errorf("fingerprint %q is not 32 colon-separated upper-case hex bytes", p.fingerprint)
	}
	if !slicesContain(p.stdout(), "data directory: "+dir) {
		t.Errorf("banner lacks %q: %q", "data directory: "+dir, p.stdout())
	}
	certFile := filepath.Join(dir, datadir.CertFile)
	for i, a := range extra {
		if a == "--tls-cert" && i+1 < len(extra) {
			certFile = extra[i+1]
		}
	}
	p.client = newClient(t, certFile)
	return p
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *proc) stdout() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

func (p *proc) url(path string) string { return "https://" + p.addr + path }

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to d for the process to exit and returns its exit code
// (-1 if a signal killed it).
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.state.ExitCode()
	case <-time.After(d):
		p.t.Fatalf("sealstore serve did not exit within %v", d)
		return 0
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and requires a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	if code := p.wait(exitTimeout); code != 0 {
		p.t.Fatalf("after SIGTERM sealstore serve exited with %d (%v), want 0", code, p.state)
	}
}

// newClient returns a client that trusts only the certificate in certFile.
func newClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 64,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		Timeout:   60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// result is the outcome of one request.
type result struct {
	status int
	body   []byte
	header http.Header
	err    error
}

func (p *proc) do(ctx context.Context, method, path, token string, body []byte) result {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url(path), r)
	if err != nil {
		return result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(p.client, req)
}

func send(c *http.Client, req *http.Request) result {
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{status: resp.StatusCode, err: fmt.Errorf("reading the %d response: %w", resp.StatusCode, err)}
	}
	return result{status: resp.StatusCode, body: b, header: resp.Header}
}

func itemBody(id, secret string) []byte {
	b, err := json.Marshal(map[string]string{"id": id, "secret": secret})
	if err != nil {
		panic(err)
	}
	return b
}

// stored reports whether r is a complete acknowledgement of a POST.
func (r result) stored() bool {
	var out struct{ Status string }
	return r.err == nil && r.status == http.StatusOK && json.Unmarshal(r.body, &out) == nil && out.Status == "stored"
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(r.body))
}

func (p *proc) post(ctx context.Context, token, id, secret string) result {
	return p.do(ctx, http.MethodPost, "/items/", token, itemBody(id, secret))
}

// get reads item id and returns the result and, on a 200, the secret.
func (p *proc) get(ctx context.Context, token, id string) (result, string, error) {
	r := p.do(ctx, http.MethodGet, "/items/"+url.PathEscape(id), token, nil)
	if r.err != nil || r.status != http.StatusOK {
		return r, "", nil
	}
	var out struct {
		ItemID string `json:"item_id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		return r, "", fmt.Errorf("GET %s: 200 with a bad body %q: %v", id, r.body, err)
	}
	if out.ItemID != id {
		return r, "", fmt.Errorf("GET %s: 200 with item_id %q", id, out.ItemID)
	}
	return r, out.Secret, nil
}

// newSecret returns a distinct secret for id, with characters JSON must
// escape and some multi-byte UTF-8.
func newSecret(id string, size int) string {
	s := fmt.Sprintf("secret \"%s\" \\ é€😀 %s ", id, rand.Text())
	for len(s) < size {
		s += rand.Text()
	}
	return s
}

// checkItems reads every id in want (id → secret) with 16 workers and
// requires each to come back with exactly that secret. For ids in maybe,
// a 404 is also accepted, but a stored secret must still be exact. It
// returns how many of maybe were found.
func checkItems(t *testing.T, p *proc, token string, want, maybe map[string]string) int {
	t.Helper()
	type job struct {
		id, secret string
		required   bool
	}
	jobs := make(chan job)
	var found atomic.Int64
	var failures atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				r, got, err := p.get(t.Context(), token, j.id)
				switch {
				case err != nil:
					t.Error(err)
				case r.err != nil:
					t.Errorf("GET %s: %v", j.id, r.err)
				case r.status == http.StatusOK && got == j.secret:
					if !j.required {
						found.Add(1)
					}
					continue
				case r.status == http.StatusOK:
					t.Errorf("GET %s: secret %q, want %q", j.id, got, j.secret)
				case r.status == http.StatusNotFound && !j.required:
					continue
				default:
					t.Errorf("GET %s: %v, want 200", j.id, r)
				}
				if failures.Add(1) > 20 {
					t.Error("too many failures; giving up")
					for range jobs {
					}
					return
				}
			}
		})
	}
	for id, s := range want {
		jobs <- job{id, s, true}
	}
	for id, s := range maybe {
		if _, ok := want[id]; !ok {
			jobs <- job{id, s, false}
		}
	}
	close(jobs)
	wg.Wait()
	return int(found.Load())
}

// runSealstore runs a one-shot sealstore command and returns its stdout,
// stderr and exit code.
func runSealstore(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runSealstoreEnv(t, nil, args...)
}

// runSealstoreEnv is runSealstore with env added to the environment.
func runSealstoreEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sealstore", args...)
	cmd.Env = append(childEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("sealstore %s did not finish within %v", strings.Join(args, " "), cmdTimeout)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sealstore %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// TestServeSIGTERMDurability writes 1,000 items with 16 concurrent
// writers, stops the server with SIGTERM and starts it again: it must exit
// 0, not print a second bootstrap token, and serve every acknowledged item.
func TestServeSIGTERMDurability(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	p := startServer(t, dir)
	if p.bootstrap == "" {
		t.Fatalf("the first start printed no bootstrap token: %q", p.stdout())
	}
	admin := p.bootstrap

	// The data directory's layout and modes.
	for name, mode := range map[string]os.FileMode{
		".": 0o700, datadir.RootFile: 0o600, datadir.DBFile: 0o600, datadir.KeyFile: 0o600, datadir.CertFile: 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("data directory: %v", err)
		} else if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %04o, want %04o", name, fi.Mode().Perm(), mode)
		}
	}
	// The printed fingerprint is that of the certificate served, which is
	// the data directory's tls-cert.pem.
	r := p.do(t.Context(), http.MethodGet, "/healthz", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /healthz: %v", r)
	}
	if fp := certFileFingerprint(t, filepath.Join(dir, datadir.CertFile)); fp != p.fingerprint {
		t.Errorf("banner fingerprint %s, tls-cert.pem's %s", p.fingerprint, fp)
	}
	if fp := servedFingerprint(t, p); fp != p.fingerprint {
		t.Errorf("banner fingerprint %s, served certificate's %s", p.fingerprint, fp)
	}

	const n, workers = 1000, 16
	var mu sync.Mutex
	acked := map[string]string{}
	ids := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range ids {
				id := fmt.Sprintf("durable-%04d", i)
				secret := newSecret(id, 40+i%300)
				r := p.post(t.Context(), admin, id, secret)
				if !r.stored() {
					t.Errorf("POST %s: %v, want 200 stored", id, r)
					continue
				}
				mu.Lock()
				acked[id] = secret
				mu.Unlock()
			}
		})
	}
	for i := range n {
		ids <- i
	}
	close(ids)
	wg.Wait()
	if len(acked) != n {
		t.Fatalf("%d of %d writes acknowledged", len(acked), n)
	}

	p.stop()
	if !strings.Contains(p.stderr.String(), `"msg":"draining"`) {
		t.Errorf("stderr has no draining log line")
	}

	p2 := startServer(t, dir)
	if p2.bootstrap != "" {
		t.Errorf("the second start printed a bootstrap token again")
	}
	for _, line := range p2.stdout() {
		if strings.Contains(line, "sst_") || strings.Contains(strings.ToLower(line), "bootstrap") {
			t.Errorf("the second start printed %q", line)
		}
	}
	if p2.fingerprint != p.fingerprint {
		t.Errorf("the certificate changed across a restart: %s, then %s", p.fingerprint, p2.fingerprint)
	}
	checkItems(t, p2, admin, acked, nil)
	if r, _, _ := p2.get(t.Context(), admin, "never-written"); r.status != http.StatusNotFound {
		t.Errorf("GET never-written: %v, want 404", r)
	}
	p2.stop()
}

// TestServeSIGKILLDurability kills the server with SIGKILL while 16
// writers are still writing: after a restart every write that got a 200
// reads back exactly, and any other write is either absent or exact.
func TestServeSIGKILLDurability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	admin := p.bootstrap
	if admin == "" {
		t.Fatal("no bootstrap token")
	}

	const killAfter, maxWrites, workers = 500, 100000, 16
	var (
		mu        sync.Mutex
		attempted = map[string]string{}
		acked     = map[string]string{}
		nAcked    atomic.Int64
		next      atomic.Int64
		killed    atomic.Bool
		killNow   = make(chan struct{})
		killOnce  sync.Once
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > maxWrites {
					return
				}
				id := fmt.Sprintf("kill-%06d", i)
				secret := newSecret(id, 64)
				mu.Lock()
				attempted[id] = secret
				mu.Unlock()
				r := p.post(ctx, admin, id, secret)
				if r.stored() {
					mu.Lock()
					acked[id] = secret
					mu.Unlock()
					if nAcked.Add(1) >= killAfter {
						killOnce.Do(func() { close(killNow) })
					}
					continue
				}
				if killed.Load() {
					// Killed mid-request: no acknowledgement.
					if r.err == nil {
						t.Errorf("POST %s: a response other than 200 around the kill: %v", id, r)
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				t.Errorf("POST %s before the kill: %v", id, r)
				killOnce.Do(func() { close(killNow) })
				return
			}
		})
	}
	select {
	case <-killNow:
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d writes acknowledged in 2 minutes", nAcked.Load())
	}
	killed.Store(true)
	p.signal(syscall.SIGKILL)
	if code := p.wait(exitTimeout); code != -1 {
		t.Errorf("after SIGKILL: exit code %d (%v), want death by signal", code, p.state)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes attempted, %d acknowledged before the kill", len(attempted), len(acked))
	if len(acked) < killAfter {
		t.Fatalf("only %d writes acknowledged", len(acked))
	}

	p2 := startServer(t, dir)
	if p2.bootstrap != "" {
		t.Errorf("the restart after SIGKILL printed a bootstrap token again")
	}
	found := checkItems(t, p2, admin, acked, attempted)
	t.Logf("%d of %d unacknowledged writes were stored", found, len(attempted)-len(acked))
	p2.stop()
}

// TestServeSIGTERMDrains sends SIGTERM while requests are in flight: 16
// requests whose bodies are only half sent, and 16 writers in a loop. The
// server must wait for the half-sent requests, answer each with a
// complete 200, never answer anything with a 5xx, and exit 0; every
// acknowledged write must survive a restart.
func TestServeSIGTERMDrains(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir, "--drain-timeout", "60s")
	admin := p.bootstrap

	var (
		mu    sync.Mutex
		acked = map[string]string{}
	)
	ack := func(id, secret string) {
		mu.Lock()
		acked[id] = secret
		mu.Unlock()
	}

	// Slow requests: headers and half the body now, the rest after SIGTERM.
	const slowN = 16
	type slowReq struct {
		id, secret string
		res        chan result
	}
	release := make(chan struct{})
	var halfSent sync.WaitGroup
	slow := make([]slowReq, slowN)
	for i := range slow {
		id := fmt.Sprintf("slow-%02d", i)
		s := slowReq{id: id, secret: newSecret(id, 2000), res: make(chan result, 1)}
		slow[i] = s
		body := itemBody(s.id, s.secret)
		pr, pw := io.Pipe()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url("/items/"), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		halfSent.Add(1)
		go func() {
			defer pw.Close()
			if _, err := pw.Write(body[:len(body)/2]); err != nil {
				pw.CloseWithError(err)
				halfSent.Done()
				return
			}
			halfSent.Done()
			<-release
			_, _ = pw.Write(body[len(body)/2:])
		}()
		go func() { s.res <- send(p.client, req) }()
	}

	// Fast writers, until the server is gone.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var fastAcked atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("fast-%02d-%05d", w, i)
				secret := newSecret(id, 4000)
				r := p.post(ctx, admin, id, secret)
				switch {
				case r.stored():
					ack(id, secret)
					fastAcked.Add(1)
				case r.err == nil || r.status != 0:
					// A response that is not a complete 200.
					t.Errorf("POST %s during the drain: %v", id, r)
					return
				default:
					// No response (connection refused or closed):
					// not acknowledged, which is allowed.
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}

	waitDone := make(chan struct{})
	go func() { halfSent.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow requests did not get their first halves out")
	}
	deadline := time.Now().Add(30 * time.Second)
	for fastAcked.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Let the server read the slow requests' headers (1 s: on a loaded
	// machine the server process may not run at once).
	time.Sleep(time.Second)

	p.signal(syscall.SIGTERM)
	time.Sleep(time.Second)
	if p.exited() {
		t.Fatalf("sealstore serve exited (%v) with %d requests still in flight", p.state, slowN)
	}
	close(release)
	for _, s := range slow {
		select {
		case r := <-s.res:
			if !r.stored() {
				t.Errorf("in-flight POST %s: %v, want a complete 200", s.id, r)
				continue
			}
			ack(s.id, s.secret)
		case <-time.After(60 * time.Second):
			t.Fatalf("in-flight POST %s got no answer", s.id)
		}
	}
	code := p.wait(30 * time.Second)
	cancel()
	wg.Wait()
	if code != 0 {
		t.Fatalf("after draining, exit code %d (%v), want 0", code, p.state)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d writes acknowledged (%d fast)", len(acked), fastAcked.Load())

	p2 := startServer(t, dir)
	checkItems(t, p2, admin, acked, nil)
	p2.stop()
}

// TestServeDrainTimeout: a request that never completes does not hold the
// server past --drain-timeout.
func TestServeDrainTimeout(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "--drain-timeout", "1s")
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.url("/items/"), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 1000
	req.Header.Set("Authorization", "Bearer "+p.bootstrap)
	wrote := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteHeaders: func() { close(wrote) },
	}))
	go send(p.client, req)
	go func() { _, _ = pw.Write([]byte(`{"id": "stuck", "secret": "`)) }()
	select {
	case <-wrote:
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck request's headers were not sent")
	}
	// Let the server read them (1 s: on a loaded machine the server
	// process may not run at once); a request it has not read yet would
	// not hold it.
	time.Sleep(time.Second)
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(exitTimeout)
	t.Logf("exited %v after SIGTERM with code %d; stderr: %s", time.Since(start), code, tail(p.stderr.String(), 2000))
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("exited %v after SIGTERM: did not wait for the in-flight request", d)
	}
	if code == -1 {
		t.Errorf("killed by a signal (%v)", p.state)
	}
}

// TestServeTokens: the offline token tools against a real data directory,
// the scopes they grant once the server starts, and their refusal to
// touch the directory while a server holds it.
func TestServeTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	admin := p.bootstrap
	if r := p.post(t.Context(), admin, "existing", "the existing secret"); !r.stored() {
		t.Fatalf("POST: %v", r)
	}
	p.stop()

	out, errOut, code := runSealstore(t, "tokens", "create", "--data-dir", dir, "--scope", "items:read", "--name", "r")
	if code != 0 {
		t.Fatalf("tokens create: exit %d: %s", code, errOut)
	}
	if errOut != "" {
		t.Errorf("tokens create wrote to stderr: %q", errOut)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 || !tokenRE.MatchString(strings.TrimSuffix(out, "\n")) {
		t.Fatalf("tokens create stdout %q: want one line matching %s", out, tokenRE)
	}
	reader := strings.TrimSuffix(out, "\n")

	// Flags after the positional-free subcommand, and a random name.
	out, errOut, code = runSealstore(t, "tokens", "create", "--scope", "other:write, *:read", "--data-dir", dir)
	if code != 0 || !tokenRE.MatchString(strings.TrimSpace(out)) {
		t.Fatalf("tokens create (random name): exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	_, errOut, code = runSealstore(t, "tokens", "create", "--data-dir", dir, "--scope", "items:write", "--name", "r")
	if code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("tokens create of an existing name: exit %d, stderr %q; want 1 and a message saying it exists", code, errOut)
	}
	_, errOut, code = runSealstore(t, "tokens", "create", "--data-dir", dir, "--scope", "items:read", "--name", "bad name")
	if code == 0 || !strings.Contains(errOut, "name") {
		t.Errorf("tokens create --name 'bad name': exit %d, stderr %q", code, errOut)
	}

	out, errOut, code = runSealstore(t, "tokens", "list", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("tokens list: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	listRE := regexp.MustCompile(`^(\S+)\t(\S+)\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	var names []string
	for _, l := range lines {
		m := listRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("tokens list line %q does not match %s", l, listRE)
			continue
		}
		names = append(names, m[1]+" "+m[2])
		if strings.Contains(l, "sst_") {
			t.Errorf("tokens list shows a secret: %q", l)
		}
	}
	if len(names) != 3 || names[0] != "bootstrap-admin *:admin" || names[1] != "r items:read" ||
		!regexp.MustCompile(`^token-[0-9a-f]{8} (other:write,\*:read|\*:read,other:write)$`).MatchString(names[2]) {
		t.Errorf("tokens list: %q; want bootstrap-admin, r and a token-XXXXXXXX, sorted, with their scopes", names)
	}

	p = startServer(t, dir)
	if p.bootstrap != "" {
		t.Errorf("a restart printed a bootstrap token")
	}
	checkAccess := func(p *proc, readerValid bool) {
		t.Helper()
		r, got, err := p.get(t.Context(), reader, "existing")
		switch {
		case err != nil:
			t.Error(err)
		case readerValid && (r.status != http.StatusOK || got != "the existing secret"):
			t.Errorf("GET with the items:read token: %v", r)
		case !readerValid && r.status != http.StatusUnauthorized:
			t.Errorf("GET with a revoked token: %v, want 401", r)
		}
		r = p.post(t.Context(), reader, "by-reader", "x")
		if want := map[bool]int{true: http.StatusForbidden, false: http.StatusUnauthorized}[readerValid]; r.status != want {
			t.Errorf("POST with the items:read token (valid %v): %v, want %d", readerValid, r, want)
		}
		if r := p.post(t.Context(), admin, "by-admin", "y"); !r.stored() {
			t.Errorf("POST with the bootstrap token: %v", r)
		}
		if r := p.do(t.Context(), http.MethodGet, "/items/existing", "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("GET without a token: %v, want 401", r)
		}
	}
	checkAccess(p, true)

	// While the server runs, the tools cannot open the directory: without
	// a token for the server's API they say so, promptly (with one, they
	// go through the API: TestTokensThroughServer).
	for _, args := range [][]string{
		{"tokens", "revoke", "r", "--data-dir", dir},
		{"tokens", "list", "--data-dir", dir},
		{"tokens", "create", "--data-dir", dir, "--scope", "items:read"},
	} {
		start := time.Now()
		out, errOut, code := runSealstore(t, args...)
		if code != 1 || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "SEALSTORE_TOKEN") || out != "" {
			t.Errorf("%s while serving: exit %d, stdout %q, stderr %q; want 1 and a message that the directory is in use, naming SEALSTORE_TOKEN",
				strings.Join(args[:2], " "), code, out, errOut)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s while serving took %v to fail", strings.Join(args[:2], " "), d)
		}
	}
	// A second server on the same directory is refused too.
	_, errOut, code = runSealstore(t, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "in use") {
		t.Errorf("a second serve on the directory: exit %d, stderr %q; want 1 and 'in use'", code, errOut)
	}

	// SIGHUP reloads certificate and tokens without interrupting service.
	p.signal(syscall.SIGHUP)
	waitFor(t, 20*time.Second, "the reload log line", func() bool {
		return strings.Contains(p.stderr.String(), `"msg":"reloaded tokens","tokens":3`)
	})
	if p.exited() {
		t.Fatalf("SIGHUP stopped the server (%v)", p.state)
	}
	checkAccess(p, true)
	p.stop()

	out, errOut, code = runSealstore(t, "tokens", "revoke", "r", "--data-dir", dir)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("tokens revoke r: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = runSealstore(t, "tokens", "revoke", "--data-dir", dir, "r")
	if code != 1 || !strings.Contains(errOut, "no token with that name") {
		t.Errorf("revoking r twice: exit %d, stderr %q", code, errOut)
	}
	out, _, _ = runSealstore(t, "tokens", "list", "--data-dir", dir)
	if strings.Contains(out, "r\titems:read") || !strings.Contains(out, "bootstrap-admin\t*:admin\t") {
		t.Errorf("tokens list after revoking r: %q", out)
	}

	p = startServer(t, dir)
	checkAccess(p, false)
	p.stop()
}

// TestServeRootKeyChecks: serve refuses a root key others may read, and a
// database whose root key is gone, without creating a new one.
func TestServeRootKeyChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	p.stop()
	root := filepath.Join(dir, datadir.RootFile)

	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(root, mode); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runSealstore(t, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
		if code == 0 || code == -1 {
			t.Errorf("root.key mode %04o: exit %d, want a refusal", mode, code)
		}
		if want := fmt.Sprintf("%04o", mode); !strings.Contains(errOut, want) || !strings.Contains(errOut, "chmod 600") {
			t.Errorf("root.key mode %04o: stderr %q; want the mode and 'chmod 600'", mode, errOut)
		}
		if strings.Contains(out, "listening") {
			t.Errorf("root.key mode %04o: the server started: %q", mode, out)
		}
	}
	if err := os.Chmod(root, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startServer(t, dir)
	p.stop()

	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runSealstore(t, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0")
	if code == 0 || code == -1 || !strings.Contains(errOut, "root key") || !strings.Contains(errOut, "missing") {
		t.Errorf("database without root.key: exit %d, stderr %q; want a refusal saying the root key is missing", code, errOut)
	}
	if strings.Contains(out, "listening") || strings.Contains(out, "bootstrap") {
		t.Errorf("database without root.key: stdout %q", out)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve created a new root key over the existing database (%v)", err)
	}
}

// TestServeFailedFirstStart: a first start that fails before serving (here
// on an unreadable --tls-cert) must not cost the bootstrap token: the next
// successful start prints one, or the directory is left with no token
// at all.
func TestServeFailedFirstStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	out, errOut, code := runSealstore(t, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0",
		"--tls-cert", missing, "--tls-key", missing)
	if code != 1 || !strings.Contains(errOut, "missing.pem") {
		t.Fatalf("serve with a missing --tls-cert: exit %d, stderr %q; want 1 naming the file", code, errOut)
	}
	if strings.Contains(out, "sst_") {
		t.Logf("the failed start printed a token: %q", out)
	}
	p := startServer(t, dir)
	if p.bootstrap == "" {
		p.stop()
		list, _, _ := runSealstore(t, "tokens", "list", "--data-dir", dir)
		t.Fatalf("after a failed first start, the first successful start printed no bootstrap token; tokens list: %q", list)
	}
	if r := p.post(t.Context(), p.bootstrap, "x", "y"); !r.stored() {
		t.Errorf("POST with the bootstrap token: %v", r)
	}
	p.stop()
}

// TestServeCustomCertReload: --tls-cert/--tls-key serve the given
// certificate; SIGHUP picks up new files and keeps the old certificate if
// the new files are broken.
func TestServeCustomCertReload(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	certFile, keyFile := filepath.Join(tmp, "cert.pem"), filepath.Join(tmp, "key.pem")
	certA, keyA, fpA := makeCert(t, "A")
	certB, keyB, fpB := makeCert(t, "B")
	writeFile(t, certFile, certA)
	writeFile(t, keyFile, keyA)

	p := startServer(t, dir, "--tls-cert", certFile, "--tls-key", keyFile)
	if p.fingerprint != fpA {
		t.Errorf("banner fingerprint %s, want the --tls-cert one %s", p.fingerprint, fpA)
	}
	if fp := servedFingerprint(t, p); fp != fpA {
		t.Errorf("served certificate %s, want %s", fp, fpA)
	}

	writeFile(t, certFile, certB)
	writeFile(t, keyFile, keyB)
	p.signal(syscall.SIGHUP)
	waitFor(t, 20*time.Second, "the new certificate", func() bool { return servedFingerprint(t, p) == fpB })
	p.client = newClient(t, certFile) // trusting B only

	// Broken files: the reload fails, is logged, and B stays.
	writeFile(t, certFile, []byte("not a certificate"))
	p.signal(syscall.SIGHUP)
	waitFor(t, 20*time.Second, "the reload error log line", func() bool {
		return strings.Contains(p.stderr.String(), `"msg":"reload certificate: the previous certificate stays in use"`)
	})
	if fp := servedFingerprint(t, p); fp != fpB {
		t.Errorf("after a failed reload the served certificate is %s, want %s", fp, fpB)
	}
	if r := p.post(t.Context(), p.bootstrap, "after-reload", "s"); !r.stored() {
		t.Errorf("POST after the reloads: %v", r)
	}
	p.stop()
}

// TestServeHTTPRedirect: --http-listen redirects GET to HTTPS and refuses
// everything else.
func TestServeHTTPRedirect(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir(), "--http-listen", "127.0.0.1:0")
	if p.httpAddr == "" {
		t.Fatalf("no plain HTTP line in the banner: %q", p.stdout())
	}
	_, httpsPort, _ := net.SplitHostPort(p.addr)
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := c.Get("http://" + p.httpAddr + "/items/abc?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://127.0.0.1:" + httpsPort + "/items/abc?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("GET over HTTP: %d to %q, want 308 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, err = c.Post("http://"+p.httpAddr+"/items/", "application/json", bytes.NewReader(itemBody("a", "b")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST over HTTP: %d, want 400", resp.StatusCode)
	}
	// The redirect leads to the HTTPS service.
	p.client.CheckRedirect = nil
	r := send(p.client, mustRequest(t, "http://"+p.httpAddr+"/healthz"))
	if r.status != http.StatusOK {
		t.Errorf("GET /healthz through the redirect: %v", r)
	}
	p.stop()
}

func mustRequest(t *testing.T, u string) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestServeListenInUse: a listen address in use fails with exit 1 naming it.
func TestServeListenInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	out, errOut, code := runSealstore(t, "serve", "--data-dir", dir, "--listen", ln.Addr().String())
	if code != 1 || !strings.Contains(errOut, ln.Addr().String()) {
		t.Errorf("serve on a used address: exit %d, stderr %q; want 1 naming %s", code, errOut, ln.Addr())
	}
	// The failed first start did not spend the bootstrap token.
	if strings.Contains(out, "sst_") {
		t.Errorf("the failed start printed a token: %q", out)
	}
	p := startServer(t, dir)
	defer p.stop()
	if r := p.post(t.Context(), p.bootstrap, "x", "y"); p.bootstrap == "" || !r.stored() {
		t.Errorf("the first start that serves: bootstrap token %q, POST %v; want a working token", p.bootstrap, r)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fingerprint is the banner's format of a DER certificate's SHA-256.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func certFileFingerprint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	return fingerprint(block.Bytes)
}

// servedFingerprint connects afresh and returns the fingerprint of the
// certificate the server presents.
func servedFingerprint(t *testing.T, p *proc) string {
	t.Helper()
	conn, err := tls.Dial("tcp", p.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", p.addr, err)
	}
	defer conn.Close()
	return fingerprint(conn.ConnectionState().PeerCertificates[0].Raw)
}

// makeCert returns a self-signed certificate for 127.0.0.1, its key (both
// PEM) and its fingerprint.
func makeCert(t *testing.T, name string) (certPEM, keyPEM []byte, fp string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sealstore test " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), fingerprint(der)
}
