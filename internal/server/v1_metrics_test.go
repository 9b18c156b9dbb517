package server_test

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// metricSum sums the samples of a metric whose labels match labelRE in a
// Prometheus text exposition.
func metricSum(t *testing.T, body []byte, name, labelRE string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{.*\})? ([0-9.e+-]+)$`)
	lab := regexp.MustCompile(labelRE)
	sum := 0.0
	for _, m := range re.FindAllSubmatch(body, -1) {
		if !lab.Match(m[1]) {
			continue
		}
		v, err := strconv.ParseFloat(string(m[2]), 64)
		if err != nil {
			t.Fatalf("%s: sample %q", name, m[2])
		}
		sum += v
	}
	return sum
}

// /metrics reports what the issue names: requests by route and status,
// latency, key cache hits and misses, audit writes (decrypt failures and
// KMS calls have tests of their own).
func TestV1Metrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("metered", custSchema)
	const n = 20
	for i := range n {
		s.mustPut(adm, recPath("metered", strconv.Itoa(i)), `{"email":"m@x"}`)
		if r := s.do(http.MethodGet, recPath("metered", strconv.Itoa(i)), adm, nil, nil); r.status != http.StatusOK {
			t.Fatalf("GET: %d %s", r.status, r.body)
		}
	}
	r := s.do(http.MethodGet, "/metrics", adm, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	route := `route="/v1/collections/\{name\}/records/\{id\}"`
	checks := []struct {
		name, labels string
		min          float64
	}{
		{"sealstore_http_requests_total", route + `.*status="200"`, 2 * n},
		{"sealstore_http_request_duration_seconds_count", route, 2 * n},
		{"sealstore_key_cache_hits_total", ``, 2*n - 2},
		{"sealstore_key_cache_misses_total", ``, 1},
		{"sealstore_audit_writes_total", `outcome="ok"`, 2*n + 1},
	}
	for _, c := range checks {
		if got := metricSum(t, r.body, c.name, c.labels); got < c.min {
			t.Errorf("%s{%s} = %v; want >= %v", c.name, c.labels, got, c.min)
		}
	}
	// Labels are route patterns, never the ids requested.
	if regexp.MustCompile(`route="[^"]*metered`).Match(r.body) {
		t.Error("a metric label holds a request path value")
	}
	// Only *:admin reads metrics.
	if r := s.do(http.MethodGet, "/metrics", s.tokens[tokRW], nil, nil); r.status != http.StatusForbidden {
		t.Errorf("GET /metrics with items:read,write: %d; want 403", r.status)
	}
}
