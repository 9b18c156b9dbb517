package server

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/sink"
)

// AuditConfig is how the audit trail leaves the process and how soon its
// entries are durable. Only the config file sets it — no flag, variable
// or API route does — so that a stolen admin token cannot turn a sink
// off.
type AuditConfig struct {
	// File is a JSON-lines file every entry and checkpoint is appended
	// to (reopened on SIGHUP, for log rotation); "" for none.
	File string
	// Syslog is a syslog address (unix:///dev/log, unixgram://PATH,
	// tcp://HOST:PORT) every entry and checkpoint is sent to, in RFC 5424;
	// "" for none. SyslogFacility names its facility (default authpriv).
	Syslog, SyslogFacility string
	// SinkRequired fails a request whose entry a sink could not take;
	// by default a failing sink is counted and logged, and the trail's
	// own write decides.
	SinkRequired bool
	// SyncInterval bounds how long a read's entry waits to reach the
	// disk on the embedded default (its power-loss window); zero: 10 ms.
	// SyncEvery makes every request wait for its entry's fdatasync.
	SyncInterval time.Duration
	SyncEvery    bool
	// CheckpointInterval is how often checkpoints go to the sinks;
	// zero: a minute.
	CheckpointInterval time.Duration
	// SegmentSize is the size of the embedded journal's segment files;
	// zero: journal.DefaultSegmentSize (a tuning knob with no setting).
	SegmentSize int64
}

// openSinks opens the sinks c names.
func openSinks(c AuditConfig) ([]sink.Sink, error) {
	var out []sink.Sink
	if c.File != "" {
		f, err := sink.OpenFile(c.File)
		if err != nil {
			return nil, fmt.Errorf("audit file %s: %w", c.File, err)
		}
		out = append(out, f)
	}
	if c.Syslog != "" {
		fac := 0
		if c.SyslogFacility != "" {
			var err error
			if fac, err = sink.ParseFacility(c.SyslogFacility); err != nil {
				closeSinks(out)
				return nil, fmt.Errorf("audit syslog facility: %w", err)
			}
		}
		s, err := sink.DialSyslog(sink.SyslogConfig{Address: c.Syslog, Facility: fac})
		if err != nil {
			closeSinks(out)
			return nil, fmt.Errorf("audit syslog %s: %w", c.Syslog, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func closeSinks(ss []sink.Sink) error {
	var errs []error
	for _, s := range ss {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// auditSink is a sink as the audit log sees it.
type auditSink struct{ s sink.Sink }

func (a auditSink) Name() string { return a.s.Name() }

func (a auditSink) Write(recs []audit.SinkRecord) error {
	out := make([]sink.Record, len(recs))
	for i, r := range recs {
		out[i] = sink.Record{Kind: r.Kind, Time: r.Time, JSON: r.JSON}
	}
	return a.s.Write(out)
}

// sinkFailures counts the batches a sink could not take.
func newSinkFailures() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sealstore_audit_sink_failures_total",
		Help: "Batches of audit entries or checkpoints an audit sink (file, syslog) could not take.",
	}, []string{"sink"})
}

// auditOptions are the trail's options for this service.
func (s *service) auditOptions() audit.Options {
	c := s.cfg.Audit
	o := audit.Options{SinkRequired: c.SinkRequired, SyncInterval: c.SyncInterval, SyncEvery: c.SyncEvery,
		CheckpointInterval: c.CheckpointInterval}
	for _, k := range s.sinks {
		o.Sinks = append(o.Sinks, auditSink{k})
	}
	o.SinkFailed = func(name string, err error) {
		s.sinkFailures.WithLabelValues(name).Inc()
		s.log.Error("audit sink failed", slog.String("sink", name), slog.String("error", err.Error()))
	}
	return o
}

// reopenSinks reopens every sink (SIGHUP: log rotation).
func (s *service) reopenSinks() {
	for _, k := range s.sinks {
		if err := k.Reopen(); err != nil {
			s.log.Error("reopen audit sink", slog.String("sink", k.Name()), slog.String("error", err.Error()))
		}
	}
}
