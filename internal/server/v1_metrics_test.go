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

// freshSeries are the series a freshly started server exports before
// any request, each at zero: every metric whose label values are known in
// advance.
var freshSeries = []string{
	`sealstore_http_responses_total{class="2xx"}`,
	`sealstore_http_responses_total{class="3xx"}`,
	`sealstore_http_responses_total{class="4xx"}`,
	`sealstore_http_responses_total{class="5xx"}`,
	`sealstore_auth_failures_total{reason="unauthenticated"}`,
	`sealstore_auth_failures_total{reason="forbidden"}`,
	`sealstore_auth_failures_total{reason="throttled"}`,
	`sealstore_audit_writes_total{outcome="error"}`,
	`sealstore_audit_sink_failures_total{sink="file"}`,
	`sealstore_audit_sink_failures_total{sink="syslog"}`,
	`sealstore_kms_calls_total{operation="Decrypt",outcome="error"}`,
	`sealstore_kms_calls_total{operation="GenerateDataKeyWithoutPlaintext",outcome="error"}`,
	`sealstore_kms_calls_total{operation="ReEncrypt",outcome="error"}`,
	`sealstore_decrypt_failures_total{reason="record"}`,
	`sealstore_decrypt_failures_total{reason="not_encrypted"}`,
	`sealstore_decrypt_failures_total{reason="header"}`,
	`sealstore_decrypt_failures_total{reason="footer"}`,
	`sealstore_decrypt_failures_total{reason="attribute"}`,
	`sealstore_decrypt_failures_total{reason="legend"}`,
	`sealstore_decrypt_failures_total{reason="context"}`,
	`sealstore_decrypt_failures_total{reason="unwrap"}`,
	`sealstore_decrypt_failures_total{reason="commitment"}`,
	`sealstore_decrypt_failures_total{reason="recipient_tag"}`,
	`sealstore_decrypt_failures_total{reason="signature"}`,
	`sealstore_decrypt_failures_total{reason="field_key"}`,
	`sealstore_decrypt_failures_total{reason="field"}`,
	`sealstore_decrypt_failures_total{reason="field_value"}`,
}

// freshFamilies are exported from the start too, with values that may
// not be zero (the server's own start reads keys, through KMS on
// DynamoDB, and writes the trail).
var freshFamilies = []string{
	`sealstore_audit_writes_total{outcome="ok"}`,
	`sealstore_kms_calls_total{operation="Decrypt",outcome="ok"}`,
	`sealstore_kms_calls_total{operation="GenerateDataKeyWithoutPlaintext",outcome="ok"}`,
	`sealstore_kms_calls_total{operation="ReEncrypt",outcome="ok"}`,
	`sealstore_key_cache_hits_total`,
	`sealstore_key_cache_misses_total`,
	`go_goroutines`,
	`process_start_time_seconds`,
}

// Every metric family is on /metrics from the start, so that dashboards
// and alerts can be written before the first failure: the first scrape of
// a fresh server lists every series in freshSeries
// at zero and every one in freshFamilies. The status classes then count.
func TestMetricsFreshServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	scraper := s.tokens[tokAdmin]
	r := s.do(http.MethodGet, "/metrics", scraper, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %s", r)
	}
	samples := metricSamples(r.body)
	for _, series := range freshSeries {
		if v, ok := samples[series]; !ok || v != 0 {
			t.Errorf("fresh server: %s = %v (present %v); want 0", series, v, ok)
		}
	}
	for _, series := range freshFamilies {
		if _, ok := samples[series]; !ok {
			t.Errorf("fresh server: no %s", series)
		}
	}
	s.do(http.MethodGet, "/v1/no-such-route", scraper, nil, nil)
	s.do(http.MethodGet, "/v1/collections", "", nil, nil)
	after := metricSamples(s.do(http.MethodGet, "/metrics", scraper, nil, nil).body)
	if got := after[`sealstore_http_responses_total{class="4xx"}`]; got != 2 {
		t.Errorf(`after a 404 and a 401, sealstore_http_responses_total{class="4xx"} = %v; want 2`, got)
	}
	if got := after[`sealstore_http_responses_total{class="2xx"}`]; got < 1 {
		t.Errorf(`after a scrape, sealstore_http_responses_total{class="2xx"} = %v; want >= 1`, got)
	}
}

// metricSamples maps each sample line of a Prometheus text exposition,
// name and labels as printed, to its value.
func metricSamples(body []byte) map[string]float64 {
	out := map[string]float64{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z_:]+(?:\{.*\})?) ([0-9.e+-]+)$`).FindAllSubmatch(body, -1) {
		if v, err := strconv.ParseFloat(string(m[2]), 64); err == nil {
			out[string(m[1])] = v
		}
	}
	return out
}
