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
