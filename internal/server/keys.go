package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/records"
)

// Keys runs a deployment's key lifecycle in this process, without a
// server: the standalone 'sealstore keys' commands on DynamoDB. Servers
// beside it see its changes as they see one another's. Its operations
// are the audited ones (package audited), under the actor the caller's
// context names.
type Keys struct {
	*audited.Service
	recs  *records.Service
	trail *audit.Log
	close func() error
}

// OpenKeys opens the DynamoDB + KMS deployment cfg names for key
// operations. On the embedded store the running server holds the data
// directory, so the commands go through it instead.
func OpenKeys(ctx context.Context, cfg Config) (*Keys, error) {
	if err := cfg.Backend.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend.kind() != KindDynamoDB {
		return nil, errors.New("standalone key commands need --store dynamodb; on the embedded store, run them against the server (without --standalone)")
	}
	b, err := openBackend(ctx, cfg, false, nil)
	if err != nil {
		return nil, err
	}
	var svc *audited.Service
	recs, ks, err := openRecords(ctx, b, newCache(cfg), cfg.Now, recordsHooks{rewritten: func(ctx context.Context, coll string, k records.Key, etag string) error {
		return svc.RecordRewritten(ctx, coll, k, etag)
	}})
	if err != nil {
		b.close()
		return nil, err
	}
	sinks, err := openSinks(cfg.Audit)
	if err != nil {
		recs.Close()
		b.close()
		return nil, err
	}
	o := audit.Options{SinkRequired: cfg.Audit.SinkRequired, CheckpointInterval: cfg.Audit.CheckpointInterval}
	for _, k := range sinks {
		o.Sinks = append(o.Sinks, auditSink{k})
	}
	trail, err := audit.Open(ctx, b.trail, ks, o)
	if err != nil {
		closeSinks(sinks)
		recs.Close()
		b.close()
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	svc = audited.New(audited.Config{Keys: recs, Trail: trail})
	return &Keys{Service: svc, recs: recs, trail: trail, close: func() error { return errors.Join(closeSinks(sinks), b.close()) }}, nil
}

// Close stops a rewrap this process runs (it stays running in the store:
// a server, or the next standalone run, takes it over once its lease runs
// out), flushes the audit trail and closes the store.
func (k *Keys) Close() error {
	k.recs.Close()
	err := k.trail.Close()
	return errors.Join(err, k.close())
}
