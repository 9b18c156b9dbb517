package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/syncbuf"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// fakeRecords is a Records whose answers the test sets.
type fakeRecords struct {
	Records // the /v1 methods: not used by these tests
	mu      sync.Mutex
	get     func(ctx context.Context, id string) (string, error)
	put     func(ctx context.Context, id, secret string) error
	ready   func(ctx context.Context) error
	lastID  string
	lastSec string
}

func (f *fakeRecords) GetSecret(ctx context.Context, id string) (string, error) {
	f.mu.Lock()
	f.lastID = id
	fn := f.get
	f.mu.Unlock()
	if fn == nil {
		return "", records.ErrNotFound
	}
	return fn(ctx, id)
}

func (f *fakeRecords) PutSecret(ctx context.Context, id, secret string) (string, error) {
	f.mu.Lock()
	f.lastID, f.lastSec = id, secret
	fn := f.put
	f.mu.Unlock()
	if fn == nil {
		return `"etag"`, nil
	}
	return `"etag"`, fn(ctx, id, secret)
}

func (f *fakeRecords) Ready(ctx context.Context) error {
	f.mu.Lock()
	fn := f.ready
	f.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

type testServer struct {
	h       http.Handler
	ts      *tokens.Store
	recs    *fakeRecords
	metrics *Metrics
	log     *syncbuf.Buffer
	// secrets of tokens by name: read (items:read), write (items:write),
	// admin (*:admin), other (other:admin).
	secrets map[string]string
}

// newTestServer builds the handler with a fake Records and tokens made
// through tokens.Store over a bolt store.
func newTestServer(t testing.TB, limit int) *testServer {
	t.Helper()
	return newTestServerWith(t, limit, nil)
}

// newTestServerWith is newTestServer with a change to the handler's
// configuration (tweak may be nil).
func newTestServerWith(t testing.TB, limit int, tweak func(*Config)) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := tokens.New(db, "tokens")
	if err := ts.Init(ctx); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	for name, scopes := range map[string]string{
		"read": "items:read", "write": "items:write", "admin": "*:admin", "other": "other:admin",
	} {
		ss, err := tokens.ParseScopes(scopes)
		if err != nil {
			t.Fatal(err)
		}
		_, s, err := ts.Create(ctx, name, ss)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = s
	}
	list, err := ts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set := tokens.NewSet(list)
	srv := &testServer{recs: &fakeRecords{}, metrics: NewMetrics(), log: &syncbuf.Buffer{}, secrets: secrets, ts: ts}
	cfg := Config{
		Records:      srv.recs,
		Tokens:       func() *tokens.Set { return set },
		Log:          slog.New(slog.NewJSONHandler(srv.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:      srv.metrics,
		FailureLimit: limit,
		Version:      "test",
		TokenStore:   ts,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv.h = New(cfg)
	return srv
}

// do sends a request with the named token ("" for none).
func (s *testServer) do(t testing.TB, method, target, token string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		sec, ok := s.secrets[token]
		if !ok {
			sec = token
		}
		req.Header.Set("Authorization", "Bearer "+sec)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Status != status {
		t.Fatalf("problem status %d, want %d", p.Status, status)
	}
	return p
}

// wantDetail checks an error of a reference route: FastAPI's
// application/json {"detail": "message"}. It returns the message.
func wantDetail(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json (as FastAPI answers)", ct)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	d, ok := out["detail"].(string)
	if !ok || len(out) != 1 {
		t.Fatalf("body %s: want exactly {\"detail\": \"...\"}", rec.Body)
	}
	return d
}

// wantIssues checks a validation failure of a reference route: FastAPI's
// 422 application/json {"detail": [{"type", "loc", "msg"}]}, with no
// "input" member. It returns the issues.
func wantIssues(t *testing.T, rec *httptest.ResponseRecorder) []issue {
	t.Helper()
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json (as FastAPI answers)", ct)
	}
	var raw struct{ Detail []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil || len(raw.Detail) == 0 {
		t.Fatalf("body %s: want {\"detail\": [issues]} (%v)", rec.Body, err)
	}
	var out struct{ Detail []issue }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	for i, d := range raw.Detail {
		if _, ok := d["input"]; ok {
			t.Errorf("issue %d has an input member: %s", i, rec.Body)
		}
		if out.Detail[i].Type == "" || out.Detail[i].Msg == "" || len(out.Detail[i].Loc) == 0 {
			t.Errorf("issue %d lacks type, msg or loc: %s", i, rec.Body)
		}
	}
	return out.Detail
}

var requestIDRE = regexp.MustCompile(`^[0-9A-Za-z_-]{4,64}$`)

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := rec.Header().Get(k); got != v[0] {
			t.Errorf("header %s = %q, want %q", k, got, v[0])
		}
	}
	if id := rec.Header().Get("X-Request-Id"); !requestIDRE.MatchString(id) {
		t.Errorf("X-Request-Id %q", id)
	}
}

// counter returns the value of a counter in the metrics' registry with the
// given label value (0 if absent).
func counter(t *testing.T, m *Metrics, name, label, value string) float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, met := range mf.GetMetric() {
			for _, lp := range met.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return met.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestHealthzPublic(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 0)
	rec := s.do(t, http.MethodGet, "/healthz", "", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("GET /healthz: %d %s", rec.Code, rec.Body)
	}
	checkSecurityHeaders(t, rec)
}

func TestRequestIDsUnique(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 0)
	seen := map[string]bool{}
	for range 100 {
		rec := s.do(t, http.MethodGet, "/healthz", "", nil)
		id := rec.Header().Get("X-Request-Id")
		if !requestIDRE.MatchString(id) || seen[id] {
			t.Fatalf("request id %q is malformed or repeated", id)
		}
		seen[id] = true
		if !strings.Contains(s.log.String(), `"request_id":"`+id+`"`) {
			t.Fatalf("request id %q is not in the log", id)
		}
	}
	// Two handlers do not share ids.
	other := newTestServer(t, 0)
	if id := other.do(t, http.MethodGet, "/healthz", "", nil).Header().Get("X-Request-Id"); seen[id] {
		t.Fatalf("a second handler repeated request id %q", id)
	}
}

func TestRouteCheck(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/nope", http.StatusNotFound, ""},
		{http.MethodGet, "/", http.StatusNotFound, ""},
		{http.MethodPost, "/nope", http.StatusNotFound, ""},
		{http.MethodGet, "/items/a/b", http.StatusNotFound, ""},
		{http.MethodGet, "/healthz/", http.StatusNotFound, ""},
		{http.MethodGet, "/openapi.json/x", http.StatusNotFound, ""},
		{http.MethodGet, "/docs/x", http.StatusNotFound, ""},
		{http.MethodPost, "/openapi.json", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodDelete, "/items/x", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPost, "/items/x", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPut, "/items/x", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPut, "/items/", http.StatusMethodNotAllowed, "GET, POST, HEAD"},
		{http.MethodDelete, "/items/", http.StatusMethodNotAllowed, "GET, POST, HEAD"},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPatch, "/metrics", http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for _, c := range cases {
		for _, tok := range []string{"", "admin"} {
			rec := s.do(t, c.method, c.path, tok, nil)
			if rec.Code != c.status {
				t.Errorf("%s %s (token %q): status %d, want %d; body %s", c.method, c.path, tok, rec.Code, c.status, rec.Body)
				continue
			}
			var detail string
			if isReferencePath(c.path) {
				detail = wantDetail(t, rec, c.status) // FastAPI's words
				if want := http.StatusText(c.status); detail != want {
					t.Errorf("%s %s: detail %q, want FastAPI's %q", c.method, c.path, detail, want)
				}
			} else {
				detail = wantProblem(t, rec, c.status).Detail
			}
			if got := rec.Header().Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
			if c.status == http.StatusMethodNotAllowed && !isReferencePath(c.path) && !strings.Contains(detail, c.allow) {
				t.Errorf("%s %s: detail %q does not list the allowed methods", c.method, c.path, detail)
			}
			checkSecurityHeaders(t, rec)
		}
	}
	// "/items" without the slash: ServeMux sends the client to "/items/"
	// (as the reference's framework does); it must not reach a handler.
	rec := s.do(t, http.MethodGet, "/items", "read", nil)
	if rec.Code != http.StatusNotFound && !(rec.Code/100 == 3 && rec.Header().Get("Location") == "/items/") {
		t.Errorf("GET /items: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	checkSecurityHeaders(t, rec)
	if s.recs.lastID != "" {
		t.Errorf("an unrouted request reached Records (id %q)", s.recs.lastID)
	}
	// The log names unmatched routes, never the raw path.
	if strings.Contains(s.log.String(), "/items/a/b") {
		t.Error("the request log holds a raw path")
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	s.recs.get = func(_ context.Context, id string) (string, error) { return "value-of-" + id, nil }

	for _, tok := range []string{"", "sst_" + strings.Repeat("A", 43), "garbage"} {
		rec := s.do(t, http.MethodGet, "/items/x", tok, nil)
		wantDetail(t, rec, http.StatusUnauthorized)
		if rec.Header().Get("WWW-Authenticate") != `Bearer realm="sealstore"` {
			t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
		}
		checkSecurityHeaders(t, rec)
	}
	for _, tok := range []string{"write", "other"} {
		d := wantDetail(t, s.do(t, http.MethodGet, "/items/x", tok, nil), http.StatusForbidden)
		if !strings.Contains(d, "items:read") {
			t.Errorf("403 detail %q does not name the scope", d)
		}
	}
	wantDetail(t, s.do(t, http.MethodPost, "/items/", "read", strings.NewReader(`{"id":"a","secret":"b"}`)), http.StatusForbidden)
	wantProblem(t, s.do(t, http.MethodGet, "/metrics", "read", nil), http.StatusForbidden)
	if s.recs.lastID != "" {
		t.Fatalf("a refused request reached Records (id %q)", s.recs.lastID)
	}

	for _, tok := range []string{"read", "admin"} {
		rec := s.do(t, http.MethodGet, "/items/x", tok, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET with %s token: %d %s", tok, rec.Code, rec.Body)
		}
		var out struct {
			ItemID string `json:"item_id"`
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.ItemID != "x" || out.Secret != "value-of-x" {
			t.Fatalf("GET body %s (%v)", rec.Body, err)
		}
		checkSecurityHeaders(t, rec)
	}
	if rec := s.do(t, http.MethodGet, "/metrics", "admin", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "sealstore_http_requests_total") {
		t.Fatalf("GET /metrics with admin: %d", rec.Code)
	}
	if got := counter(t, s.metrics, "sealstore_auth_failures_total", "reason", "unauthenticated"); got != 3 {
		t.Errorf("unauthenticated failures counted %v, want 3", got)
	}
	if got := counter(t, s.metrics, "sealstore_auth_failures_total", "reason", "forbidden"); got != 4 {
		t.Errorf("forbidden failures counted %v, want 4", got)
	}
	logs := s.log.String()
	for name, sec := range s.secrets {
		if strings.Contains(logs, sec) {
			t.Errorf("the log holds the %s token's secret", name)
		}
	}
	if !strings.Contains(logs, `"token":"read"`) {
		t.Error("the log does not name the token used")
	}
	if strings.Contains(logs, "value-of-x") {
		t.Error("the log holds a secret value")
	}
}

func TestAuthThrottle(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 2)
	for range 2 {
		wantDetail(t, s.do(t, http.MethodGet, "/items/x", "sst_bad", nil), http.StatusUnauthorized)
	}
	// Blocked now: further bad or missing tokens get 429 ...
	for _, tok := range []string{"sst_bad", "", "sst_" + strings.Repeat("A", 43)} {
		rec := s.do(t, http.MethodGet, "/items/x", tok, nil)
		wantDetail(t, rec, http.StatusTooManyRequests)
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After %q", ra)
		}
	}
	if s.recs.lastID != "" {
		t.Error("a throttled request reached Records")
	}
	// ... while a valid token from the same address is served: the limiter
	// refuses failures, not the address.
	if rec := s.do(t, http.MethodGet, "/items/x", "read", nil); rec.Code != http.StatusNotFound || s.recs.lastID != "x" {
		t.Errorf("a valid token from a blocked address: %d %s; want it served (404 from the fake)", rec.Code, rec.Body)
	}
	// A valid token without the scope is still a 403, not a 429.
	wantDetail(t, s.do(t, http.MethodGet, "/items/x", "write", nil), http.StatusForbidden)
	// Public routes are not throttled.
	if rec := s.do(t, http.MethodGet, "/healthz", "", nil); rec.Code != http.StatusOK {
		t.Errorf("healthz while throttled: %d", rec.Code)
	}
	// Another address is not affected.
	req := httptest.NewRequest(http.MethodGet, "/items/x", nil)
	req.RemoteAddr = "198.51.100.9:4000"
	req.Header.Set("Authorization", "Bearer sst_bad")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a bad token from another address: %d; want 401", rec.Code)
	}
	if got := counter(t, s.metrics, "sealstore_auth_failures_total", "reason", "throttled"); got != 3 {
		t.Errorf("throttled counted %v, want 3", got)
	}
}

func TestPostItem(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"k1","secret":"s3cr3t-value"}`))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"stored"`) {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	if s.recs.lastID != "k1" || s.recs.lastSec != "s3cr3t-value" {
		t.Fatalf("Records got %q/%q", s.recs.lastID, s.recs.lastSec)
	}
	// A wrongly typed secret: 422, and the value is not echoed.
	rec = s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"k1","secret":98765432123}`))
	if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusBadRequest {
		t.Fatalf("wrong type: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "98765432123") {
		t.Errorf("error response echoes the secret: %s", rec.Body)
	}
	// Malformed JSON holding a secret: not echoed either.
	rec = s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"k1","secret":"leaky-secret-value"`))
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("malformed JSON: %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "leaky-secret-value") {
		t.Errorf("error response echoes the body: %s", rec.Body)
	}
	if strings.Contains(s.log.String(), "s3cr3t-value") || strings.Contains(s.log.String(), "leaky-secret-value") {
		t.Error("the log holds a secret")
	}
}

// decryptFailure returns a real item.ErrDecrypt error with a reason code,
// from an item whose footer was changed.
func decryptFailure(t *testing.T) error {
	t.Helper()
	ctx := context.Background()
	src := hierarchy.Static{StoreName: "s", Keys: []hierarchy.BranchKey{{
		ID: "b", Version: "e9ce18a3-edb5-4272-9f86-1cacb7997ff6", Key: secret.Random(32)}}}
	kr, err := hierarchy.New("b", src, hierarchy.NewCache(0, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := item.New(item.Config{TableName: "t", PartitionKey: "id",
		Actions: map[string]item.Action{"id": item.SignOnly, "v": item.EncryptAndSign}, Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	it, err := enc.Encrypt(ctx, attr.Item{"id": attr.S("x"), "v": attr.S("plaintext")})
	if err != nil {
		t.Fatal(err)
	}
	foot := bytes.Clone(it[item.FooterAttr].(attr.B))
	foot[len(foot)-1] ^= 1
	it[item.FooterAttr] = attr.B(foot)
	_, err = enc.Decrypt(ctx, it)
	if !errors.Is(err, item.ErrDecrypt) || item.Reason(err) == "" {
		t.Fatalf("tampered item: %v (reason %q), want ErrDecrypt with a reason", err, item.Reason(err))
	}
	return fmt.Errorf("records: %w", err)
}

func TestProblemMapping(t *testing.T) {
	t.Parallel()
	decErr := decryptFailure(t)
	reason := item.Reason(decErr)
	cases := []struct {
		name       string
		err        error
		status     int
		detail     string // exact, if set
		retryAfter string
		notInBody  string
	}{
		{name: "not found", err: records.ErrNotFound, status: 404, detail: "not found"},
		{name: "wrapped not found", err: fmt.Errorf("x: %w", records.ErrNotFound), status: 404, detail: "not found"},
		{name: "store unavailable", err: fmt.Errorf("records: get: %w: connection refused to 10.1.2.3", store.ErrUnavailable),
			status: 503, detail: msgUnavailable, retryAfter: "5", notInBody: "10.1.2.3"},
		{name: "materials unavailable", err: fmt.Errorf("records: %w: %w", materials.ErrUnavailable, errors.New("kms throttled arn:aws:kms:xyz")),
			status: 503, detail: msgUnavailable, retryAfter: "5", notInBody: "arn:aws"},
		{name: "deadline", err: fmt.Errorf("records: %w", context.DeadlineExceeded), status: 503, detail: msgUnavailable, retryAfter: "5"},
		{name: "decrypt", err: decErr, status: 500, detail: msgDecrypt, notInBody: reason},
		{name: "too large", err: fmt.Errorf("records: put: %w", store.ErrTooLarge), status: 413},
		{name: "invalid", err: &records.InvalidError{Field: "id", Reason: "must not be empty"}, status: 422},
		{name: "internal", err: errors.New("boom: internal detail /var/lib/x"), status: 500, detail: msgInternal, notInBody: "boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, 1000)
			s.recs.get = func(context.Context, string) (string, error) { return "must-not-appear", c.err }
			rec := s.do(t, http.MethodGet, "/items/some-id", "read", nil)
			if c.status == http.StatusUnprocessableEntity {
				is := wantIssues(t, rec)
				if want := (issue{Type: "value_error", Loc: []any{"path", "item_id"}, Msg: "Value error, must not be empty"}); !reflect.DeepEqual(is, []issue{want}) {
					t.Errorf("issues %+v, want %+v", is, want)
				}
			} else if d := wantDetail(t, rec, c.status); c.detail != "" && d != c.detail {
				t.Errorf("detail %q, want %q", d, c.detail)
			}
			if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
			}
			body := rec.Body.String()
			if strings.Contains(body, "must-not-appear") {
				t.Error("response holds the value returned with the error")
			}
			if c.notInBody != "" && strings.Contains(body, c.notInBody) {
				t.Errorf("response holds the internal cause %q: %s", c.notInBody, body)
			}
			checkSecurityHeaders(t, rec)
		})
	}
}

func TestProblemMappingOnPostAndReady(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	s.recs.put = func(context.Context, string, string) error { return fmt.Errorf("records: put: %w", store.ErrTooLarge) }
	wantDetail(t, s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":"b"}`)), http.StatusRequestEntityTooLarge)

	s.recs.put = func(context.Context, string, string) error {
		return &records.InvalidError{Field: "id", Reason: "must not contain control characters"}
	}
	is := wantIssues(t, s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":"b"}`)))
	if want := (issue{Type: "value_error", Loc: []any{"body", "id"}, Msg: "Value error, must not contain control characters"}); !reflect.DeepEqual(is, []issue{want}) {
		t.Errorf("422 issues %+v, want %+v", is, want)
	}

	s.recs.ready = func(context.Context) error { return fmt.Errorf("records: store: %w", store.ErrUnavailable) }
	rec := s.do(t, http.MethodGet, "/readyz", "read", nil)
	wantProblem(t, rec, http.StatusServiceUnavailable)
	if rec.Header().Get("Retry-After") != "5" {
		t.Errorf("readyz Retry-After %q", rec.Header().Get("Retry-After"))
	}
	s.recs.ready = nil
	if rec := s.do(t, http.MethodGet, "/readyz", "read", nil); rec.Code != http.StatusOK {
		t.Errorf("readyz when ready: %d", rec.Code)
	}

	// GET /items/ is the empty id: 422 without reaching Records.
	s.recs.lastID = "unchanged"
	wantIssues(t, s.do(t, http.MethodGet, "/items/", "read", nil))
	if s.recs.lastID != "unchanged" {
		t.Error("GET /items/ reached Records")
	}
}

func TestDecryptFailureMetric(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	decErr := decryptFailure(t)
	reason := item.Reason(decErr)
	s.recs.get = func(context.Context, string) (string, error) { return "", decErr }
	const name = "sealstore_decrypt_failures_total"
	if got := counter(t, s.metrics, name, "reason", reason); got != 0 {
		t.Fatalf("counter starts at %v", got)
	}
	for i := 1; i <= 3; i++ {
		wantDetail(t, s.do(t, http.MethodGet, "/items/x", "read", nil), http.StatusInternalServerError)
		if got := counter(t, s.metrics, name, "reason", reason); got != float64(i) {
			t.Fatalf("after %d failures, %s{reason=%q} = %v", i, name, reason, got)
		}
	}
	// Other failures do not count as decrypt failures.
	s.recs.get = func(context.Context, string) (string, error) { return "", errors.New("other") }
	wantDetail(t, s.do(t, http.MethodGet, "/items/x", "read", nil), http.StatusInternalServerError)
	if got := counter(t, s.metrics, name, "reason", reason); got != 3 {
		t.Fatalf("a non-decrypt error changed the counter to %v", got)
	}
	if !strings.Contains(s.log.String(), `"reason":"`+reason+`"`) {
		t.Error("the decrypt failure's reason is not logged")
	}
}

func TestPanicIsRecovered(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	const panicValue = "panic-value-with-secret-xyzzy"
	var calls int
	var mu sync.Mutex
	s.recs.get = func(_ context.Context, id string) (string, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		if id == "boom" {
			panic(panicValue)
		}
		return "fine", nil
	}
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+s.secrets["read"])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for range 2 {
		resp, body := get("/items/boom")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("panicking handler: status %d, body %s", resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q", ct)
		}
		var p problem
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 500 || p.Detail != msgInternal {
			t.Errorf("panic body %q (%v)", body, err)
		}
		if strings.Contains(body, panicValue) {
			t.Error("response holds the panic value")
		}
		for k, v := range securityHeaders {
			if resp.Header.Get(k) != v[0] {
				t.Errorf("after a panic, header %s = %q", k, resp.Header.Get(k))
			}
		}
		// The server keeps serving.
		resp, body = get("/items/ok")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "fine") {
			t.Fatalf("after a panic: %d %s", resp.StatusCode, body)
		}
	}
	if calls != 4 {
		t.Errorf("Records called %d times, want 4", calls)
	}
	logs := s.log.String()
	if strings.Contains(logs, panicValue) {
		t.Error("the log holds the panic value")
	}
	if !strings.Contains(logs, `"msg":"panic"`) {
		t.Error("the panic is not logged")
	}
	if got := counter(t, s.metrics, "sealstore_http_requests_total", "status", "500"); got != 2 {
		t.Errorf("requests_total{status=500} = %v, want 2", got)
	}
}

func TestHandlerTimeoutContext(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	var deadline time.Duration
	s.recs.get = func(ctx context.Context, _ string) (string, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return "", errors.New("no deadline")
		}
		deadline = time.Until(d)
		return "v", nil
	}
	if rec := s.do(t, http.MethodGet, "/items/x", "read", nil); rec.Code != http.StatusOK {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	if deadline <= 0 || deadline > 30*time.Second {
		t.Fatalf("Records ran with %v left, want at most 30s", deadline)
	}
}
