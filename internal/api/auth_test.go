package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestLimiterBlocksAfterLimit(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := newLimiter(3, time.Minute, clk.now)
	const addr = "192.0.2.1"
	for i := range 3 {
		if wait, blocked := l.blocked(addr); blocked {
			t.Fatalf("blocked (wait %v) after %d failures, limit 3", wait, i)
		}
		l.fail(addr)
		clk.advance(10 * time.Second)
	}
	wait, blocked := l.blocked(addr)
	if !blocked {
		t.Fatal("not blocked after 3 failures, limit 3")
	}
	// The window started at the first failure, 30s ago.
	if wait != 30*time.Second {
		t.Fatalf("wait %v, want 30s (the rest of the window)", wait)
	}
	// Other addresses are not affected.
	if _, blocked := l.blocked("192.0.2.2"); blocked {
		t.Fatal("another address is blocked")
	}
	// Still blocked just before the window ends.
	clk.advance(30*time.Second - time.Nanosecond)
	if wait, blocked := l.blocked(addr); !blocked || wait != time.Nanosecond {
		t.Fatalf("1ns before the window ends: blocked %v, wait %v", blocked, wait)
	}
	// Unblocked once the window has passed, with a fresh count.
	clk.advance(time.Nanosecond)
	if _, blocked := l.blocked(addr); blocked {
		t.Fatal("still blocked after the window")
	}
	for i := range 2 {
		l.fail(addr)
		if _, blocked := l.blocked(addr); blocked {
			t.Fatalf("blocked after %d failures in a new window", i+1)
		}
	}
	l.fail(addr)
	if _, blocked := l.blocked(addr); !blocked {
		t.Fatal("not blocked after the limit in the new window")
	}
}

func TestLimiterFailAfterWindowStartsNewWindow(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := newLimiter(2, time.Minute, clk.now)
	l.fail("a")
	clk.advance(time.Minute) // the window has passed; blocked() not called
	l.fail("a")
	if _, blocked := l.blocked("a"); blocked {
		t.Fatal("failures from two windows were added up")
	}
	wait, _ := l.blocked("a")
	if wait != time.Minute {
		t.Fatalf("wait %v, want a full new window", wait)
	}
}

func TestLimiterDefaults(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		limit  int
		window time.Duration
	}{{0, 0}, {-1, -time.Second}} {
		l := newLimiter(c.limit, c.window, time.Now)
		if l.limit != DefaultFailureLimit || l.window != DefaultFailureWindow {
			t.Errorf("newLimiter(%d, %v): limit %d window %v, want the defaults", c.limit, c.window, l.limit, l.window)
		}
	}
	clk := newFakeClock()
	l := newLimiter(0, 0, clk.now)
	for range DefaultFailureLimit - 1 {
		l.fail("a")
	}
	if _, blocked := l.blocked("a"); blocked {
		t.Fatal("blocked before the default limit")
	}
	l.fail("a")
	if _, blocked := l.blocked("a"); !blocked {
		t.Fatal("not blocked at the default limit")
	}
}

func TestLimiterEvictionBound(t *testing.T) {
	t.Parallel()
	fill := func(l *limiter, n int) {
		for i := range n {
			l.fail(fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff))
		}
	}

	t.Run("all expired: dropped", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		l := newLimiter(1, time.Minute, clk.now)
		fill(l, limiterMaxAddrs)
		if len(l.addrs) != limiterMaxAddrs {
			t.Fatalf("%d addresses tracked, want %d", len(l.addrs), limiterMaxAddrs)
		}
		clk.advance(time.Minute) // every window expires
		l.fail("newest")
		if len(l.addrs) != 1 {
			t.Fatalf("after eviction of expired windows: %d addresses, want 1", len(l.addrs))
		}
		if _, blocked := l.blocked("newest"); !blocked {
			t.Fatal("the failure that caused the eviction was not counted")
		}
	})

	t.Run("nothing expired, all blocked: blocks kept, new address untracked", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		l := newLimiter(1, time.Minute, clk.now)
		fill(l, limiterMaxAddrs)
		l.fail("one-more")
		if len(l.addrs) != limiterMaxAddrs {
			t.Fatalf("%d addresses, want the %d blocked ones kept", len(l.addrs), limiterMaxAddrs)
		}
		if _, blocked := l.blocked("10.0.0.5"); !blocked {
			t.Fatal("a blocked address was forgotten to make room")
		}
		if _, blocked := l.blocked("one-more"); blocked {
			t.Fatal("an address was tracked in a full table")
		}
	})

	t.Run("nothing expired, none blocked: dropped for the new address", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		l := newLimiter(2, time.Minute, clk.now)
		fill(l, limiterMaxAddrs)
		l.fail("one-more")
		l.fail("one-more")
		if len(l.addrs) != 1 {
			t.Fatalf("%d addresses after eviction of unblocked ones, want 1", len(l.addrs))
		}
		if _, blocked := l.blocked("one-more"); !blocked {
			t.Fatal("the new address's failures were not counted")
		}
	})

	t.Run("some expired: only those dropped", func(t *testing.T) {
		t.Parallel()
		clk := newFakeClock()
		l := newLimiter(1, time.Minute, clk.now)
		fill(l, 10) // these will expire
		clk.advance(time.Minute)
		for i := range limiterMaxAddrs - 10 {
			l.fail(fmt.Sprintf("r%d", i))
		}
		l.fail("trigger")
		if want := limiterMaxAddrs - 10 + 1; len(l.addrs) != want {
			t.Fatalf("%d addresses, want %d (expired dropped, recent kept)", len(l.addrs), want)
		}
		if _, blocked := l.blocked("r0"); !blocked {
			t.Fatal("a recent address was forgotten by eviction")
		}
	})
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := newLimiter(1000, time.Minute, clk.now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l.fail(fmt.Sprint("a", (g+i)%4))
				l.blocked(fmt.Sprint("a", i%4))
			}
		})
	}
	wg.Wait()
	total := 0
	for _, f := range l.addrs {
		total += f.n
	}
	if total != 800 {
		t.Fatalf("%d failures counted, want 800", total)
	}
}

func TestBearer(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Bearer x":             "x",
		"bearer x":             "x",
		"BEARER x":             "x",
		"BeArEr sst_abc":       "sst_abc",
		"Bearer  x ":           "x",
		"Basic x":              "",
		"Basic dXNlcjpwYXNz":   "",
		"Bearer":               "",
		"Bearer ":              "",
		"":                     "",
		"x":                    "",
		"Bearerx":              "",
		"Token x":              "",
		" Bearer x":            "",
		"Bearer\tx":            "",
		"NotBearer x":          "",
		"Bearer x y":           "x y",
		"Bearer sst_token\r\n": "sst_token",
	}
	for in, want := range cases {
		if got := bearer(in); got != want {
			t.Errorf("bearer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"192.0.2.1:1234":   "192.0.2.1",
		"[2001:db8::1]:80": "2001:db8::1",
		"192.0.2.1":        "192.0.2.1",
		"":                 "",
		"pipe":             "pipe",
	}
	for in, want := range cases {
		if got := clientAddr(in); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"192.0.2.1:1234":            "192.0.2.1",
		"[2001:db8::1]:80":          "2001:db8::/64",
		"[2001:db8::ffff:1:2:3]:80": "2001:db8::/64",
		"[2001:db8:0:1::1]:80":      "2001:db8:0:1::/64",
		"[::ffff:192.0.2.1]:80":     "::ffff:192.0.2.1",
		"not-an-address":            "not-an-address",
		"[fe80::1%eth0]:80":         "fe80::/64",
	} {
		if got := limiterKey(in); got != want {
			t.Errorf("limiterKey(%q) = %q, want %q", in, got, want)
		}
	}
	// Two ports of one address share a limiter entry.
	if clientAddr("192.0.2.1:1") != clientAddr("192.0.2.1:2") {
		t.Error("ports split one address")
	}
}

// newLiveTokenServer is newTestServer whose token set is read from the
// store on every request, so that tokens a test creates work at once.
func newLiveTokenServer(t *testing.T, limit int) *testServer {
	t.Helper()
	return newTestServerWith(t, limit, func(c *Config) {
		ts := c.TokenStore.(*tokens.Store)
		c.Tokens = func() *tokens.Set {
			list, err := ts.List(context.Background())
			if err != nil {
				t.Error(err)
			}
			return tokens.NewSet(list)
		}
	})
}

// addToken creates a token with scopes in s's store, known by name.
func (s *testServer) addToken(t *testing.T, name, scopes string) {
	t.Helper()
	ss, err := tokens.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := s.ts.Create(context.Background(), name, ss)
	if err != nil {
		t.Fatal(err)
	}
	s.secrets[name] = secret
}

// A *:metrics token reads /metrics and nothing else: a scraper needs no
// *:admin, which could also read, write and shred every collection.
func TestMetricsScope(t *testing.T) {
	t.Parallel()
	s := newLiveTokenServer(t, 1000)
	s.addToken(t, "scraper", "*:metrics")
	s.addToken(t, "coll-admin", "items:admin")
	if rec := s.do(t, http.MethodGet, "/metrics", "scraper", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("GET /metrics with *:metrics: %d", rec.Code)
	}
	if rec := s.do(t, http.MethodGet, "/metrics", "admin", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /metrics with *:admin: %d", rec.Code)
	}
	for _, tok := range []string{"coll-admin", "read"} {
		if d := wantProblem(t, s.do(t, http.MethodGet, "/metrics", tok, nil), http.StatusForbidden).Detail; !strings.Contains(d, "*:metrics") {
			t.Errorf("GET /metrics with %s: detail %q; want it to name *:metrics", tok, d)
		}
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, "/items/x", "", http.StatusForbidden},
		{http.MethodPost, "/items/", `{"id":"a","secret":"b"}`, http.StatusForbidden},
		{http.MethodGet, "/v1/collections/items", "", http.StatusNotFound},
		{http.MethodPut, "/v1/collections/items/records/r", `{"a":1}`, http.StatusNotFound},
		{http.MethodDelete, "/v1/collections/items/keys?confirm=items", "", http.StatusNotFound},
		{http.MethodGet, "/v1/audit", "", http.StatusForbidden},
		{http.MethodPost, "/v1/tokens", `{"scopes":["*:read"]}`, http.StatusForbidden},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		if rec := s.do(t, c.method, c.path, "scraper", body); rec.Code != c.status {
			t.Errorf("%s %s with *:metrics: %d %s; want %d", c.method, c.path, rec.Code, rec.Body, c.status)
		}
	}
	if s.recs.lastID != "" {
		t.Error("a *:metrics request reached Records")
	}
	// Only *:admin grants it.
	if rec := s.do(t, http.MethodPost, "/v1/tokens", "coll-admin", strings.NewReader(`{"scopes":["*:metrics"]}`)); rec.Code != http.StatusForbidden {
		t.Errorf("a collection admin granting *:metrics: %d %s; want 403", rec.Code, rec.Body)
	}
	if rec := s.do(t, http.MethodPost, "/v1/tokens", "admin", strings.NewReader(`{"name":"scraper2","scopes":["*:metrics"]}`)); rec.Code != http.StatusCreated {
		t.Errorf("*:admin granting *:metrics: %d %s; want 201", rec.Code, rec.Body)
	}
}
