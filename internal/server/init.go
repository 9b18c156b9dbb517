package server

import (
	"context"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/keystore/kmsroot"
)

// Init prepares a deployment, idempotently: it creates every table
// sealstore owns (on DynamoDB waiting until each and its indexes are
// active), the key store, the first collection's branch key and the audit
// trail's, and, the first time, prints a bootstrap admin token to out.
func Init(ctx context.Context, cfg Config, out io.Writer) error {
	if err := cfg.Backend.Validate(); err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg, true, nil)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintln(out, b.desc)
	ts := tokens.New(b.db, TokensTable)
	if err := ts.Init(ctx); err != nil {
		return err
	}
	_, ks, err := openRecords(ctx, b, newCache(cfg), cfg.Now, recordsHooks{})
	if err != nil {
		return err
	}
	for _, t := range audit.Tables() {
		if err := b.trail.CreateTable(ctx, t); err != nil {
			return err
		}
	}
	if err := audit.EnsureKey(ctx, ks); err != nil {
		return err
	}
	if err := bootstrap(ctx, b.db, ts, out); err != nil {
		return err
	}
	fmt.Fprintln(out, "ready: tables, key store and branch keys are in place")
	return nil
}

// WithTokens opens the configured token store and runs fn on it: offline
// for the embedded default (no server may hold the data directory), beside
// running servers on DynamoDB (they pick changes up on SIGHUP).
func WithTokens(ctx context.Context, dataDir string, b Backend, fn func(context.Context, *tokens.Store) error) error {
	if err := b.ValidateStore(); err != nil {
		return err
	}
	db, closeDB, err := openTokenStore(ctx, dataDir, b)
	if err != nil {
		return err
	}
	defer closeDB()
	ts := tokens.New(db, TokensTable)
	if err := ts.Init(ctx); err != nil {
		return err
	}
	return fn(ctx, ts)
}

// kmsCalls counts KMS calls by operation and outcome.
type kmsCalls struct{ *prometheus.CounterVec }

// newKMSCalls exports every operation and outcome from the start, at zero.
func newKMSCalls() kmsCalls {
	k := kmsCalls{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sealstore_kms_calls_total",
		Help: "Calls to AWS KMS, by operation and outcome (ok or error).",
	}, []string{"operation", "outcome"})}
	for _, op := range []string{kmsroot.OpGenerateDataKeyWithoutPlaintext, kmsroot.OpDecrypt, kmsroot.OpReEncrypt} {
		k.WithLabelValues(op, "ok")
		k.WithLabelValues(op, "error")
	}
	return k
}

func (k kmsCalls) observe(op string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	k.WithLabelValues(op, outcome).Inc()
}
