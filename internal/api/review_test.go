package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// fixedMethods are the only method label values allowed.
var fixedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace, "other",
}

// methodLabels returns every value of the "method" label of a metric.
func methodLabels(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, met := range mf.GetMetric() {
			for _, lp := range met.GetLabel() {
				if lp.GetName() == "method" {
					v := met.GetCounter().GetValue()
					if h := met.GetHistogram(); h != nil {
						v = float64(h.GetSampleCount())
					}
					out[lp.GetValue()] += v
				}
			}
		}
	}
	return out
}

// requestLogs returns the "request" lines of the JSON log.
func requestLogs(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for ln := range strings.Lines(log) {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestMethodLabelIsBounded(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	long := strings.Repeat("M", 5000)
	weird := []string{"FOOBAR", long, "get", "Post"}
	for _, m := range weird {
		for _, target := range []string{"/items/x", "/healthz", "/nope"} {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Method = m
			req.Header.Set("Authorization", "Bearer "+s.secrets["admin"])
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			if rec.Code < 400 {
				t.Errorf("%.10s %s: status %d; want an error", m, target, rec.Code)
			}
			if strings.Contains(rec.Body.String(), m) {
				t.Errorf("%.10s %s: the response echoes the method: %.200s", m, target, rec.Body)
			}
		}
	}
	// Some ordinary requests too, so the fixed values are there.
	s.do(t, http.MethodGet, "/healthz", "", nil)
	s.do(t, http.MethodHead, "/healthz", "", nil)
	s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":"b"}`))
	s.do(t, http.MethodDelete, "/items/x", "admin", nil)

	for _, name := range []string{"sealstore_http_requests_total", "sealstore_http_request_duration_seconds"} {
		labels := methodLabels(t, s.metrics, name)
		for v := range labels {
			if !slices.Contains(fixedMethods, v) {
				t.Errorf("%s has method label %.40q (%d bytes), outside the fixed set", name, v, len(v))
			}
		}
		if got, want := labels["other"], float64(len(weird)*3); got != want {
			t.Errorf("%s{method=\"other\"} = %v; want %v", name, got, want)
		}
		for _, v := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			if labels[v] == 0 {
				t.Errorf("%s has no %s requests", name, v)
			}
		}
	}
	// Every request log line's method is in the fixed set; the odd ones
	// are "other".
	lines := requestLogs(t, s.log.String())
	if len(lines) != len(weird)*3+4 {
		t.Fatalf("%d request log lines; want %d", len(lines), len(weird)*3+4)
	}
	others := 0
	for _, l := range lines {
		m, _ := l["method"].(string)
		if !slices.Contains(fixedMethods, m) {
			t.Errorf("log line method %.40q is outside the fixed set", m)
		}
		if m == "other" {
			others++
		}
	}
	if others != len(weird)*3 {
		t.Errorf("%d log lines with method \"other\"; want %d", others, len(weird)*3)
	}
	logs := s.log.String()
	for _, m := range weird {
		if strings.Contains(logs, `"`+m+`"`) {
			t.Errorf("the log holds the method %.10q", m)
		}
	}
	// Nor does the metrics page.
	rec := s.do(t, http.MethodGet, "/metrics", "admin", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	for _, m := range weird {
		if strings.Contains(rec.Body.String(), `"`+m+`"`) {
			t.Errorf("/metrics holds the method %.10q", m)
		}
	}
}

func TestMethodLabel(t *testing.T) {
	t.Parallel()
	for _, m := range fixedMethods[:9] {
		if got := methodLabel(m); got != m {
			t.Errorf("methodLabel(%q) = %q", m, got)
		}
	}
	for _, m := range []string{"", "get", "FOOBAR", "PROPFIND", "GET ", strings.Repeat("A", 5000)} {
		if got := methodLabel(m); got != "other" {
			t.Errorf("methodLabel(%.10q) = %q; want other", m, got)
		}
	}
}

type problemWithErrors struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// A JSON syntax error names where it is, never the character at fault,
// which may be the first character of a secret.
func TestSyntaxErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	cases := []struct {
		body, secret string
	}{
		{`{"id":"a","secret":Zq9}`, "Z"},
		{`{"id":"a","secret":"x"Zq9}`, "Z"},
		{`{"id":"a","secret":"\Zq9"}`, "Z"},
		{`{"id":"a","secret":tZq9}`, "Z"},
		{"{\"id\":\"a\",\"secret\":\"Z\x01q9\"}", "Z"},
	}
	for _, c := range cases {
		rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(c.body))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d; want 400; body %s", c.body, rec.Code, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%q: Content-Type %q", c.body, ct)
		}
		body := rec.Body.String()
		for _, bad := range []string{"Zq9", "'Z'", `"Z"`, `\u0001`} {
			if strings.Contains(body, bad) {
				t.Errorf("%q: the response holds %q: %s", c.body, bad, body)
			}
		}
		var p problemWithErrors
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%q: problem body %s: %v", c.body, body, err)
		}
		if strings.Contains(p.Detail, c.secret) {
			t.Errorf("%q: detail %q holds %q", c.body, p.Detail, c.secret)
		}
		if len(p.Errors) == 0 {
			t.Errorf("%q: no errors[] in %s", c.body, body)
		}
		sawByte := false
		for _, e := range p.Errors {
			if strings.Contains(e.Message, c.secret) {
				t.Errorf("%q: error message %q holds %q", c.body, e.Message, c.secret)
			}
			if e.Value != nil {
				t.Errorf("%q: error value %v is echoed", c.body, e.Value)
			}
			if strings.Contains(e.Message, "byte") {
				sawByte = true
			}
		}
		if !sawByte {
			t.Errorf("%q: no error message says at which byte: %s", c.body, body)
		}
		if s.recs.lastSec != "" || s.recs.lastID != "" {
			t.Fatalf("%q: a malformed body reached Records", c.body)
		}
	}
	if strings.Contains(s.log.String(), "Zq9") {
		t.Error("the log holds the body")
	}
}

// A secret sent unquoted as a number that does not fit a float64 makes
// encoding/json fail with an UnmarshalTypeError, whose message quotes the
// whole number: it must not come back either.
func TestNumberErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	digits := "9" + strings.Repeat("87654321", 50) // 401 digits: out of float64 range
	for _, secret := range []string{digits, "31337e999", "-271828e99999"} {
		for _, body := range []string{
			`{"id":"a","secret":` + secret + `}`,
			`{"id":"a","secret":"b","extra":` + secret + `}`,
		} {
			rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(body))
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("%.40q: status %d; want 4xx", body, rec.Code)
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("%.40q: the response quotes the unquoted secret %.20q…: %.200s", body, secret, rec.Body)
			}
		}
	}
	if s.recs.lastSec != "" {
		t.Fatal("a malformed body reached Records")
	}
}

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
	// Three failures from one /64: every address in it is blocked, even
	// with a valid token and one that never failed.
	for _, remote := range []string{"[2001:db8::1]:1001", "[2001:db8::2]:2001", "[2001:db8::ffff:ffff:ffff:ffff]:1", "[2001:db8::3]:9"} {
		rec := send(remote, s.secrets["read"])
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("valid token from %s after 3 failures in its /64: %d; want 429", remote, rec.Code)
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
	if code := send("192.0.2.1:2", s.secrets["read"]); code != http.StatusTooManyRequests {
		t.Errorf("blocked address: %d; want 429", code)
	}
	if code := send("192.0.2.2:1", s.secrets["read"]); code == http.StatusTooManyRequests {
		t.Error("a neighbouring IPv4 address is blocked")
	}
}
