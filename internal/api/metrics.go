package api

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sealstore/sealstore/item"
)

// Metrics are the service's Prometheus metrics, in their own registry.
// Labels are routes, methods, status codes and fixed reason codes: never
// a request value. Every series whose labels are known in advance is
// exported from the start, at zero, so that dashboards and alerts work
// before the first failure; the series of a route, method and status
// appear once such a request is answered.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	responses       *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	decryptFailures *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	auditWrites     *prometheus.CounterVec
}

// The reasons of sealstore_auth_failures_total.
const (
	authUnauthenticated = "unauthenticated" // no valid token: 401
	authForbidden       = "forbidden"       // the token lacks the scope: 403, or 404 on a collection it cannot see
	authThrottled       = "throttled"       // the address is over the failure limit: 429
)

// decryptRecord is the decrypt failure reason of an item that decrypted
// and verified but is not the record stored at its key, or not of a
// record's shape (the records layer's checks, not package item's).
const decryptRecord = "record"

// NewMetrics returns a fresh set of metrics with Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_http_responses_total", Help: "HTTP responses by status class (2xx, 3xx, 4xx, 5xx).",
		}, []string{"class"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sealstore_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		decryptFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_decrypt_failures_total", Help: "Items that failed to decrypt or verify, by reason code.",
		}, []string{"reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_auth_failures_total", Help: "Refused requests: unauthenticated, forbidden or throttled.",
		}, []string{"reason"}),
		auditWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_audit_writes_total", Help: "Audit entries appended, by outcome (ok or error).",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.requests, m.responses, m.duration, m.decryptFailures, m.authFailures, m.auditWrites,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.zero()
	return m
}

// zero creates every series whose label values are known in advance.
func (m *Metrics) zero() {
	for _, c := range []string{"2xx", "3xx", "4xx", "5xx"} {
		m.responses.WithLabelValues(c)
	}
	for _, r := range append(item.Reasons(), decryptRecord) {
		m.decryptFailures.WithLabelValues(r)
	}
	for _, r := range []string{authUnauthenticated, authForbidden, authThrottled} {
		m.authFailures.WithLabelValues(r)
	}
	for _, o := range []string{"ok", "error"} {
		m.auditWrites.WithLabelValues(o)
	}
}

// statusClass is the class label of an HTTP status: "2xx" for 200 to 299.
func statusClass(status int) string {
	return strconv.Itoa(status/100) + "xx"
}

// Register adds more collectors (from other layers) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Gatherer returns the registry, for tests and other listeners.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }
