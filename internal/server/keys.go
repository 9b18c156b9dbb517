package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/records"
)

// Keys runs a deployment's key lifecycle in this process, without a
// server: the standalone 'sealstore keys' commands on DynamoDB. Servers
// beside it see its changes as they see one another's. Every operation is
// appended to the audit trail under the name given to OpenKeys.
type Keys struct {
	recs  *records.Service
	trail *audit.Log
	who   string
	close func() error
}

// OpenKeys opens the DynamoDB + KMS deployment cfg names for key
// operations; who names the operator in the audit trail. On the embedded
// store the running server holds the data directory, so the commands go
// through it instead.
func OpenKeys(ctx context.Context, cfg Config, who string) (*Keys, error) {
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
	recs, ks, err := openRecords(ctx, b, newCache(cfg), cfg.Now)
	if err != nil {
		b.close()
		return nil, err
	}
	trail, err := audit.Open(ctx, b.db, ks, audit.Options{})
	if err != nil {
		recs.Close()
		b.close()
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	return &Keys{recs: recs, trail: trail, who: who, close: b.close}, nil
}

// Close stops a rewrap this process runs (it stays running in the store:
// a server, or the next standalone run, takes it over once its lease runs
// out), flushes the audit trail and closes the store.
func (k *Keys) Close() error {
	k.recs.Close()
	err := k.trail.Close()
	return errors.Join(err, k.close())
}

// audited appends the entry of an operation that ended with err; an entry
// that cannot be written fails an operation that succeeded.
func (k *Keys) audited(ctx context.Context, action, coll, detail string, err error) error {
	e := audit.Entry{Token: k.who, Action: action, Collection: coll, Outcome: api.Outcome(err), Detail: detail}
	if aerr := k.trail.Append(context.WithoutCancel(ctx), e); aerr != nil && err == nil {
		return fmt.Errorf("the operation was done but its audit entry could not be written: %w", aerr)
	}
	return err
}

// KeyStatus is records.Service.KeyStatus, audited.
func (k *Keys) KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error) {
	st, err := k.recs.KeyStatus(ctx, coll)
	return st, k.audited(ctx, "keys.status", coll, "", err)
}

// RotateKey is records.Service.RotateKey, audited.
func (k *Keys) RotateKey(ctx context.Context, coll string) (records.KeyVersion, error) {
	v, err := k.recs.RotateKey(ctx, coll)
	detail := ""
	if err == nil {
		detail = fmt.Sprintf("version=%d id=%s", v.Version, v.ID)
	}
	return v, k.audited(ctx, "keys.rotate", coll, detail, err)
}

// SetKeyPolicy is records.Service.SetKeyPolicy, audited as a retire or a
// schedule.
func (k *Keys) SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error) {
	st, err := k.recs.SetKeyPolicy(ctx, coll, p)
	action, detail := "keys.schedule", ""
	switch {
	case p.MinDecryptableVersion != nil:
		action, detail = "keys.retire", fmt.Sprintf("minDecryptableVersion=%d force=%t", *p.MinDecryptableVersion, p.Force)
	case p.RotationPeriod != nil:
		detail = "rotationPeriod=" + p.RotationPeriod.String()
	}
	return st, k.audited(ctx, action, coll, detail, err)
}

// StartRewrap is records.Service.StartRewrap, audited; the job runs in
// this process until Close.
func (k *Keys) StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error) {
	job, err := k.recs.StartRewrap(ctx, coll, o)
	return job, k.audited(ctx, "keys.rewrap", coll, "job="+job.ID, err)
}

// RewrapStatus is records.Service.RewrapStatus (not audited: the command
// polls it).
func (k *Keys) RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error) {
	return k.recs.RewrapStatus(ctx, coll)
}

// ShredKeys is records.Service.ShredKeys, audited with the receipt.
func (k *Keys) ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error) {
	r, err := k.recs.ShredKeys(ctx, coll, confirm)
	detail := ""
	if err == nil {
		detail = r.Detail()
	}
	return r, k.audited(ctx, "keys.shred", coll, detail, err)
}
