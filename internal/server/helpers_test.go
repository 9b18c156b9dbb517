package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Token names created by seedTokens.
const (
	tokAdmin  = "t-admin"  // *:admin
	tokRW     = "t-rw"     // items:read,items:write
	tokReader = "t-reader" // items:read
	tokWriter = "t-writer" // items:write
	tokOther  = "t-other"  // other:admin
	// tokRevoked was *:admin and was revoked before the server started.
	tokRevoked = "t-revoked"
)

// seedTokens creates the standard tokens in a data directory before any
// server runs there, and returns their secrets by name.
func seedTokens(t testing.TB, dataDir string, b server.Backend) map[string]string {
	t.Helper()
	out := map[string]string{}
	if b.Kind == server.KindDynamoDB {
		initOnce(t, dataDir, b, io.Discard)
	} else if dir, err := datadir.Open(dataDir); err != nil { // creates it
		t.Fatalf("datadir.Open: %v", err)
	} else {
		dir.Close()
	}
	err := server.WithTokens(context.Background(), dataDir, b, func(ctx context.Context, ts *tokens.Store) error {
		seedInto(t, ts, out)
		return nil
	})
	if err != nil {
		t.Fatalf("seed tokens: %v", err)
	}
	return out
}

// seedInto creates the standard tokens in ts and records their secrets.
func seedInto(t testing.TB, ts *tokens.Store, out map[string]string) {
	t.Helper()
	ctx := context.Background()
	specs := map[string]string{
		tokAdmin:  "*:admin",
		tokRW:     "items:read,items:write",
		tokReader: "items:read",
		tokWriter: "items:write",
		tokOther:  "other:admin",
	}
	for name, list := range specs {
		scopes, err := tokens.ParseScopes(list)
		if err != nil {
			t.Fatalf("ParseScopes(%q): %v", list, err)
		}
		_, secret, err := ts.Create(ctx, name, scopes)
		if err != nil {
			t.Fatalf("tokens Create %s: %v", name, err)
		}
		out[name] = secret
	}
	// A token that existed once and was revoked.
	_, secret, err := ts.Create(ctx, tokRevoked, []tokens.Scope{{Collection: tokens.AnyCollection, Action: tokens.Admin}})
	if err != nil {
		t.Fatalf("tokens Create %s: %v", tokRevoked, err)
	}
	if err := ts.Revoke(ctx, tokRevoked); err != nil {
		t.Fatalf("tokens Revoke: %v", err)
	}
	out[tokRevoked] = secret
}

// serverStoreVar selects the e2e tests' backend: unset, the embedded
// default; "dynamodb", DynamoDB + KMS on the emulators. ./scripts/test runs
// this package once each way.
const serverStoreVar = "SEALSTORE_TEST_SERVER_STORE"

var (
	prefixesMu sync.Mutex
	prefixes   = map[string]string{} // data directory → table prefix
	inited     = map[string]bool{}   // data directories whose tables exist
)

// backendFor returns the backend of the server on dataDir: a data
// directory keeps its DynamoDB table prefix across restarts.
func backendFor(t testing.TB, dataDir string) server.Backend {
	t.Helper()
	switch os.Getenv(serverStoreVar) {
	case "":
		return server.Backend{}
	case server.KindDynamoDB:
	default:
		t.Fatalf("%s=%q: want unset or dynamodb", serverStoreVar, os.Getenv(serverStoreVar))
	}
	return dynamoBackend(t, dataDir)
}

// dynamoBackend returns a DynamoDB + KMS backend on the emulators whose
// tables belong to dataDir alone.
func dynamoBackend(t testing.TB, dataDir string) server.Backend {
	t.Helper()
	env := emutest.Both(t)
	prefixesMu.Lock()
	defer prefixesMu.Unlock()
	p, ok := prefixes[dataDir]
	if !ok {
		p = emutest.Prefix(t)
		prefixes[dataDir] = p
	}
	return server.Backend{
		Kind: server.KindDynamoDB, Region: env.Region, TablePrefix: p, KMSKeyID: env.KMSKeyARN,
		DynamoDBEndpoint: env.DynamoDBEndpoint, KMSEndpoint: env.KMSEndpoint,
	}
}

// initOnce runs 'sealstore init' for a DynamoDB data directory the first
// time, writing its output (the bootstrap token) to out.
func initOnce(t testing.TB, dataDir string, b server.Backend, out io.Writer) {
	t.Helper()
	prefixesMu.Lock()
	done := inited[dataDir]
	inited[dataDir] = true
	prefixesMu.Unlock()
	if done {
		return
	}
	if err := server.Init(context.Background(), server.Config{DataDir: dataDir, Backend: b}, out); err != nil {
		t.Fatalf("server.Init: %v", err)
	}
}

// opts tunes startServer.
type opts struct {
	dataDir      string          // default t.TempDir()
	backend      *server.Backend // default backendFor(dataDir)
	keyCacheTTL  time.Duration
	tokenRefresh time.Duration
	seed         bool // create the standard tokens before starting
	noHTTP       bool // no plain-HTTP listener
	failureLimit int
	out, log     *syncbuf.Buffer
	// now is the server's clock for key rotation and jobs; rotationCheck
	// how often it looks for due rotations.
	now           func() time.Time
	rotationCheck time.Duration
	audit         server.AuditConfig // sinks and durability of the trail
}

// srv is a running in-process server.
type srv struct {
	t         testing.TB
	dataDir   string
	httpsAddr string
	httpAddr  string
	out, log  *syncbuf.Buffer
	tokens    map[string]string // by name; "bootstrap" for the printed one
	client    *http.Client
	reload    chan struct{}
	cancel    context.CancelFunc
	done      chan error
	stopOnce  sync.Once
	stopErr   error
}

var bootstrapLine = regexp.MustCompile(`bootstrap admin token \(shown once; store it now\): (sst_[A-Za-z0-9_-]+)`)

var tokenInText = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)

// countTokens counts the token secrets in text, and any other "sst_"
// string as one more: counting "sst_" alone would also count the 4
// characters turning up inside a token's random part (1 in 400,000).
func countTokens(text string) int {
	return len(tokenInText.FindAllString(text, -1)) + strings.Count(tokenInText.ReplaceAllString(text, ""), "sst_")
}

// startServer runs server.Run in a goroutine and waits until it listens.
// It stops the server (and checks Run's result) in t.Cleanup.
func startServer(t testing.TB, o opts) *srv {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.out == nil {
		o.out = &syncbuf.Buffer{}
	}
	if o.log == nil {
		o.log = &syncbuf.Buffer{}
	}
	s := &srv{t: t, dataDir: o.dataDir, out: o.out, log: o.log, tokens: map[string]string{},
		reload: make(chan struct{}), done: make(chan error, 1)}
	b := backendFor(t, o.dataDir)
	if o.backend != nil {
		b = *o.backend
	}
	if o.seed {
		s.tokens = seedTokens(t, o.dataDir, b)
	}
	type addrs struct{ https, http net.Addr }
	listening := make(chan addrs, 1)
	if b.Kind == server.KindDynamoDB {
		initOnce(t, o.dataDir, b, o.out)
	}
	cfg := server.Config{
		DataDir:       o.dataDir,
		Backend:       b,
		KeyCacheTTL:   o.keyCacheTTL,
		TokenRefresh:  o.tokenRefresh,
		Listen:        "127.0.0.1:0",
		FailureLimit:  o.failureLimit,
		DrainTimeout:  5 * time.Second,
		Out:           o.out,
		Log:           o.log,
		OnListen:      func(https, http net.Addr) { listening <- addrs{https, http} },
		Now:           o.now,
		RotationCheck: o.rotationCheck,
		Audit:         o.audit,
	}
	if !o.noHTTP {
		cfg.HTTPListen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.done <- server.Run(ctx, cfg, s.reload) }()
	select {
	case a := <-listening:
		s.httpsAddr = a.https.String()
		if a.http != nil {
			s.httpAddr = a.http.String()
		}
	case err := <-s.done:
		cancel()
		t.Fatalf("server.Run returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start listening within 30s")
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("server.Run returned %v after cancel; want nil", err)
		}
	})
	if m := bootstrapLine.FindStringSubmatch(o.out.String()); m != nil {
		s.tokens["bootstrap"] = m[1]
	}
	s.client = s.newClient(nil)
	return s
}

// stop cancels the server's context and waits for Run to return.
func (s *srv) stop() error {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.stopErr = <-s.done:
		case <-time.After(30 * time.Second):
			s.stopErr = errors.New("server.Run did not return within 30s of cancel")
		}
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
	})
	return s.stopErr
}

// certPool returns a pool holding the data directory's certificate.
func certPool(t testing.TB, dataDir string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, datadir.CertFile))
	if err != nil {
		t.Fatalf("read cert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in the data directory's cert file")
	}
	return pool
}

// newClient returns an HTTPS client trusting the data directory's cert;
// tweak may adjust its TLS config.
func (s *srv) newClient(tweak func(*tls.Config)) *http.Client {
	tc := &tls.Config{RootCAs: certPool(s.t, s.dataDir)}
	if tweak != nil {
		tweak(tc)
	}
	tr := &http.Transport{
		TLSClientConfig:     tc,
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   false,
	}
	s.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func (s *srv) url(path string) string { return "https://" + s.httpsAddr + path }

// resp is a read response.
type resp struct {
	status int
	header http.Header
	body   []byte
	// path is the request's path, if known: under /items/, errors are
	// FastAPI's (checkProblem).
	path string
}

func (r resp) String() string {
	return http.StatusText(r.status) + " " + strings.TrimSpace(string(r.body))
}

// problem decodes an RFC 9457 body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// do sends a request with the named token ("" for none) and reads the
// whole response.
func (s *srv) do(method, path, token string, body []byte, header map[string]string) resp {
	s.t.Helper()
	return s.doClient(s.client, method, path, token, body, header)
}

func (s *srv) doClient(c *http.Client, method, path, token string, body []byte, header map[string]string) resp {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url(path), rd)
	if err != nil {
		s.t.Fatalf("NewRequest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b, path: req.URL.Path}
}

// post sends POST /items/ with a JSON body of id and secret.
func (s *srv) post(token, id, secret string) resp {
	s.t.Helper()
	b, err := json.Marshal(map[string]string{"id": id, "secret": secret})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.do(http.MethodPost, "/items/", token, b, nil)
}

// get sends GET /items/{id}.
func (s *srv) get(token, id string) resp {
	s.t.Helper()
	return s.do(http.MethodGet, "/items/"+escapePath(id), token, nil, nil)
}

// escapePath escapes an id as one path segment.
func escapePath(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// mustStore stores a secret and fails unless the answer is 200 stored.
func (s *srv) mustStore(token, id, secret string) {
	s.t.Helper()
	r := s.post(token, id, secret)
	if r.status != http.StatusOK {
		s.t.Fatalf("POST /items/ id=%.40q: got %d %s; want 200", id, r.status, r.body)
	}
	var out struct{ Status string }
	if err := json.Unmarshal(r.body, &out); err != nil || out.Status != "stored" {
		s.t.Fatalf("POST /items/ id=%.40q: body %s; want {\"status\":\"stored\"}", id, r.body)
	}
}

// mustRead reads a secret back and fails unless it is want.
func (s *srv) mustRead(token, id, want string) {
	s.t.Helper()
	r := s.get(token, id)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /items/%.40q: got %d %s; want 200", id, r.status, r.body)
	}
	var out struct {
		ItemID string `json:"item_id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		s.t.Fatalf("GET /items/%.40q: body %q: %v", id, r.body, err)
	}
	if out.ItemID != id || out.Secret != want {
		s.t.Fatalf("GET /items/%.40q: got item_id=%.40q secret=%.40q; want %.40q, %.40q", id, out.ItemID, out.Secret, id, want)
	}
}

// checkProblem checks that r is a problem+json of the given status and
// returns it; an answer of a reference route (under /items/) is checked
// as FastAPI's error instead (checkFastAPI).
func checkProblem(t testing.TB, what string, r resp, status int) problem {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d (%s); want %d", what, r.status, bytes.TrimSpace(r.body), status)
	}
	if r.status < 400 {
		t.Errorf("%s: %d is not an error status", what, r.status)
		return problem{}
	}
	if r.path == "/items" || strings.HasPrefix(r.path, "/items/") {
		return checkFastAPI(t, what, r)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: Content-Type %q; want application/problem+json", what, ct)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Errorf("%s: body %q is not JSON: %v", what, r.body, err)
		return p
	}
	if p.Status != r.status {
		t.Errorf("%s: problem status %d, HTTP status %d", what, p.Status, r.status)
	}
	if p.Title == "" {
		t.Errorf("%s: problem has no title: %s", what, r.body)
	}
	return p
}

// checkFastAPI checks that r is an error as the reference's FastAPI app
// answers one: application/json, {"detail": "message"}, or for 422
// {"detail": [{"type", "loc", "msg"}]} without the input values. It
// returns the problem it amounts to (the issues' messages as its detail).
func checkFastAPI(t testing.TB, what string, r resp) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q; want application/json, as FastAPI answers", what, ct)
	}
	p := problem{Status: r.status, Title: http.StatusText(r.status)}
	var msg struct{ Detail string }
	if json.Unmarshal(r.body, &msg) == nil && msg.Detail != "" && r.status != http.StatusUnprocessableEntity {
		p.Detail = msg.Detail
		return p
	}
	var list struct {
		Detail []map[string]any
	}
	if err := json.Unmarshal(r.body, &list); err != nil || len(list.Detail) == 0 || r.status != http.StatusUnprocessableEntity {
		t.Errorf("%s: body %s; want {\"detail\": \"...\"}, or for a 422 {\"detail\": [...]}", what, r.body)
		return p
	}
	var msgs []string
	for _, d := range list.Detail {
		m, _ := d["msg"].(string)
		if _, ok := d["type"].(string); !ok || m == "" || d["loc"] == nil {
			t.Errorf("%s: issue %v lacks type, loc or msg", what, d)
		}
		if _, ok := d["input"]; ok {
			t.Errorf("%s: issue %v holds the input", what, d)
		}
		msgs = append(msgs, m)
	}
	p.Detail = strings.Join(msgs, "; ")
	return p
}

// checkSecurityHeaders checks the headers every HTTPS response carries.
func checkSecurityHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	hsts := h.Get("Strict-Transport-Security")
	maxAge := -1
	if m := regexp.MustCompile(`(?i)max-age=(\d+)`).FindStringSubmatch(hsts); m != nil {
		maxAge, _ = strconv.Atoi(m[1])
	}
	if maxAge < 63072000 {
		t.Errorf("%s: Strict-Transport-Security %q; want max-age >= 63072000", what, hsts)
	}
	want := map[string]string{
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := h.Get(k); !strings.Contains(got, v) {
			t.Errorf("%s: %s %q; want %q", what, k, got, v)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("%s: Content-Security-Policy %q; want default-src 'none'", what, csp)
	}
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randB64URL returns n random bytes in unpadded base64url, as tokens are.
func randB64URL(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// logLine is a request log line.
type logLine map[string]any

// logLines parses every JSON line of a log.
func logLines(t testing.TB, log []byte) []logLine {
	t.Helper()
	var out []logLine
	for _, ln := range bytes.Split(log, []byte("\n")) {
		ln = bytes.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		var l logLine
		if err := json.Unmarshal(ln, &l); err != nil {
			t.Errorf("log line is not JSON: %q: %v", ln, err)
			continue
		}
		out = append(out, l)
	}
	return out
}
