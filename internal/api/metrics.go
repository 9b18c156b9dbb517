package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the service's Prometheus metrics, in their own registry.
// Labels are routes, methods, status codes and fixed reason codes: never
// a request value.
type Metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	decryptFailures *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	auditWrites     *prometheus.CounterVec
}

// NewMetrics returns a fresh set of metrics with Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sealstore_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
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
	m.reg.MustRegister(m.requests, m.duration, m.decryptFailures, m.authFailures, m.auditWrites,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
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
