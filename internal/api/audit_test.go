package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/internal/audit"
)

// fakeAudit records entries, or fails every Append while down is set.
type fakeAudit struct {
	mu      sync.Mutex
	entries []audit.Entry
	down    bool
}

func (f *fakeAudit) Append(ctx context.Context, e audit.Entry) error {
	if err := ctx.Err(); err != nil {
		return err // as audit.Log does
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("audit store unreachable")
	}
	f.entries = append(f.entries, e)
	return nil
}

func (f *fakeAudit) RecordID(_ context.Context, collection, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", errors.New("audit key unreachable")
	}
	return fmt.Sprintf("hmac(%s,%d)", collection, len(id)), nil
}

func (f *fakeAudit) List(context.Context, audit.Filter, string, int) ([]audit.Entry, string, error) {
	return nil, "", nil
}

func (f *fakeAudit) last() audit.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.entries) == 0 {
		return audit.Entry{}
	}
	return f.entries[len(f.entries)-1]
}

func TestAuditEntryPerRequest(t *testing.T) {
	t.Parallel()
	fa := &fakeAudit{}
	s := newTestServerWith(t, 1000, func(c *Config) { c.Audit = fa })
	const canary = "canary-id-7f3a9"
	s.recs.get = func(context.Context, string) (string, error) { return "s3cret", nil }

	rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"`+canary+`","secret":"x"}`))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	e := fa.last()
	if e.Action != "record.put" || e.Token != "write" || e.Collection != "items" || e.Outcome != "ok" || e.Record == "" {
		t.Fatalf("entry after POST = %+v", e)
	}
	if strings.Contains(e.Record, canary) {
		t.Fatalf("the audit entry holds the record id in clear: %q", e.Record)
	}

	s.recs.get = nil // ErrNotFound
	if rec := s.do(t, http.MethodGet, "/items/"+canary, "read", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("GET missing: %d", rec.Code)
	}
	if e := fa.last(); e.Action != "record.get" || e.Outcome != "not_found" || e.Token != "read" {
		t.Fatalf("entry after a 404 GET = %+v", e)
	}
}

// A request whose audit entry cannot be written fails, even when the
// operation itself succeeded.
func TestAuditFailureFailsTheRequest(t *testing.T) {
	t.Parallel()
	fa := &fakeAudit{down: true}
	s := newTestServerWith(t, 1000, func(c *Config) { c.Audit = fa })
	s.recs.get = func(context.Context, string) (string, error) { return "s3cret-canary", nil }
	for _, c := range []struct {
		method, path, token, body string
	}{
		{http.MethodGet, "/items/a", "read", ""},
		{http.MethodPost, "/items/", "write", `{"id":"a","secret":"s3cret-canary"}`},
	} {
		var rec *httptest.ResponseRecorder
		if c.body == "" {
			rec = s.do(t, c.method, c.path, c.token, nil)
		} else {
			rec = s.do(t, c.method, c.path, c.token, strings.NewReader(c.body))
		}
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s with the audit trail down: %d (Retry-After %q); want 503 with Retry-After", c.method, c.path, rec.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "s3cret-canary") {
			t.Errorf("%s %s: the secret reached the client despite the audit failure", c.method, c.path)
		}
	}
	if n := counter(t, s.metrics, "sealstore_audit_writes_total", "outcome", "error"); n < 2 {
		t.Errorf("sealstore_audit_writes_total{outcome=error} = %v; want >= 2", n)
	}
	if strings.Contains(s.log.String(), "s3cret-canary") {
		t.Error("the request log holds the secret")
	}
}

// An operation that took effect is audited even when its client goes away
// (or its deadline passes) before the entry is written.
func TestAuditSurvivesClientGone(t *testing.T) {
	t.Parallel()
	fa := &fakeAudit{}
	s := newTestServerWith(t, 1000, func(c *Config) { c.Audit = fa })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.recs.put = func(context.Context, string, string) error {
		cancel() // the client hangs up once the write is done
		return nil
	}
	req := httptest.NewRequest(http.MethodPost, "/items/", strings.NewReader(`{"id":"gone","secret":"x"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.secrets["write"])
	s.h.ServeHTTP(httptest.NewRecorder(), req)
	if e := fa.last(); e.Action != "record.put" || e.Outcome != "ok" {
		t.Fatalf("last entry after a write whose client left: %+v; want the record.put", e)
	}
}

// A token whose creation cannot be audited is taken back: nobody saw its
// secret, and the trail does not hold it.
func TestTokenCreationWithdrawnWhenUnaudited(t *testing.T) {
	t.Parallel()
	fa := &fakeAudit{}
	s := newTestServerWith(t, 1000, func(c *Config) { c.Audit = fa })
	fa.mu.Lock()
	fa.down = true
	fa.mu.Unlock()
	rec := s.do(t, http.MethodPost, "/v1/tokens", "admin", strings.NewReader(`{"name":"ghost","scopes":["items:read"]}`))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "sst_") {
		t.Fatalf("POST /v1/tokens with the audit trail down: %d %s; want 503 without a token", rec.Code, rec.Body)
	}
	list, err := s.ts.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Name == "ghost" {
			t.Fatal("the token whose creation was not audited is still stored")
		}
	}
}

// A well-formed X-Request-Id is the request's id: in the response, the
// request log and the audit entry. A malformed one (or several) is
// replaced by a new id, and never echoed.
func TestRequestIDFromClient(t *testing.T) {
	t.Parallel()
	fa := &fakeAudit{}
	s := newTestServerWith(t, 1000, func(c *Config) { c.Audit = fa })
	for _, c := range []struct {
		what string
		ids  []string
		keep bool
	}{
		{"a UUID", []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}, true},
		{"letters, digits, dot, underscore", []string{"req_42.retry-1"}, true},
		{"64 characters", []string{strings.Repeat("a", 64)}, true},
		{"65 characters", []string{strings.Repeat("a", 65)}, false},
		{"a space", []string{"a b"}, false},
		{"a quote", []string{`a"b`}, false},
		{"a log line", []string{"x\",\"level\":\"ERROR"}, false},
		{"non-ASCII", []string{"é"}, false},
		{"a slash", []string{"a/b"}, false},
		{"empty", []string{""}, false},
		{"twice", []string{"a", "b"}, false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/items/x", nil)
		req.Header.Set("Authorization", "Bearer "+s.secrets["read"])
		for _, id := range c.ids {
			req.Header.Add("X-Request-Id", id)
		}
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		entry := fa.last()
		switch {
		case c.keep && got != c.ids[0]:
			t.Errorf("%s: X-Request-Id %q; want the client's %q", c.what, got, c.ids[0])
		case !c.keep && (slices.Contains(c.ids, got) || !requestIDRE.MatchString(got)):
			t.Errorf("%s: X-Request-Id %q; want a new id, not the client's", c.what, got)
		case entry.RequestID != got:
			t.Errorf("%s: audit entry request id %q; want %q", c.what, entry.RequestID, got)
		case !strings.Contains(s.log.String(), `"request_id":"`+got+`"`):
			t.Errorf("%s: the request log does not name %q", c.what, got)
		}
		if !c.keep && len(c.ids[0]) > 1 && strings.Contains(s.log.String(), c.ids[0]) {
			t.Errorf("%s: the log holds the malformed id", c.what)
		}
	}
}
