package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The failure limiter counts an IPv6 client by its /64.
func TestLimiterIPv6Per64(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 3)
	send := func(remote, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/items/x", nil)
		req.RemoteAddr = remote
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		return rec
	}
	bad := "sst_" + strings.Repeat("A", 43)
	for _, remote := range []string{"[2001:db8::1]:1000", "[2001:db8::2]:2000", "[2001:db8::1]:3000"} {
		if rec := send(remote, bad); rec.Code != http.StatusUnauthorized {
			t.Fatalf("bad token from %s: %d; want 401", remote, rec.Code)
		}
	}
	// Three failures from one /64: every address in it is blocked, the one
	// that never failed too; a valid token from any of them is served.
	for _, remote := range []string{"[2001:db8::1]:1001", "[2001:db8::2]:2001", "[2001:db8::ffff:ffff:ffff:ffff]:1", "[2001:db8::3]:9"} {
		if rec := send(remote, bad); rec.Code != http.StatusTooManyRequests {
			t.Errorf("bad token from %s after 3 failures in its /64: %d; want 429", remote, rec.Code)
		}
		if rec := send(remote, s.secrets["read"]); rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusUnauthorized {
			t.Errorf("valid token from %s after 3 failures in its /64: %d; want it served", remote, rec.Code)
		}
	}
	// Another /64 is not.
	for _, remote := range []string{"[2001:db8:1::1]:1000", "[2001:db8:0:1::1]:1000", "192.0.2.1:1000"} {
		rec := send(remote, s.secrets["read"])
		if rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusUnauthorized {
			t.Errorf("valid token from %s (another network): %d; want it served", remote, rec.Code)
		}
	}
	if got := counter(t, s.metrics, "sealstore_auth_failures_total", "reason", "throttled"); got != 4 {
		t.Errorf("throttled counted %v; want 4", got)
	}
	// The log still names the client address, not its /64.
	if !strings.Contains(s.log.String(), `"remote":"2001:db8::2"`) {
		t.Error("the log does not name the IPv6 client address")
	}
}

// IPv4 clients are counted per address.
func TestLimiterIPv4PerAddress(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 2)
	send := func(remote, token string) int {
		req := httptest.NewRequest(http.MethodGet, "/items/x", nil)
		req.RemoteAddr = remote
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range 2 {
		if code := send("192.0.2.1:1", "sst_bad"); code != http.StatusUnauthorized {
			t.Fatalf("bad token: %d", code)
		}
	}
	if code := send("192.0.2.1:2", "sst_bad"); code != http.StatusTooManyRequests {
		t.Errorf("blocked address: %d; want 429", code)
	}
	if code := send("192.0.2.2:1", "sst_bad"); code != http.StatusUnauthorized {
		t.Errorf("a neighbouring IPv4 address is blocked: %d", code)
	}
}
