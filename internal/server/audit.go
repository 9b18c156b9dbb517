package server

import (
	"context"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keystore"
)

// VerifyOptions say what VerifyAudit checks besides the chains.
type VerifyOptions struct {
	// Progress, if not nil, is called with the entries checked so far.
	Progress func(done int)
	// Checkpoints, kept outside the database (a sink), show chains
	// deleted or truncated since.
	Checkpoints []audit.Checkpoint
	// Records compares every stored record with its last audited write.
	Records bool
}

// Verification is what VerifyAudit found.
type Verification struct {
	audit.Report
	// Records is the record check's outcome, when asked for.
	Records *audit.RecordsReport
}

// VerifyAudit walks every chain of the deployment's audit trail and
// reports the first broken entry of each, what the checkpoints show, and,
// with Records, every stored record that its last audited write does not
// account for: offline for the embedded default (no server may hold the
// data directory), beside running servers on DynamoDB. It needs the root
// key: the audit key is a branch key of the key store.
func VerifyAudit(ctx context.Context, cfg Config, o VerifyOptions) (Verification, error) {
	if err := cfg.Backend.Validate(); err != nil {
		return Verification{}, err
	}
	b, err := openBackend(ctx, cfg, false, nil)
	if err != nil {
		return Verification{}, err
	}
	defer b.close()
	return verifyOpened(ctx, cfg, b, o)
}

func verifyOpened(ctx context.Context, cfg Config, b *opened, o VerifyOptions) (Verification, error) {
	ks := keystore.New(KeyStoreName, KeyStoreTable, b.db, b.root)
	var v Verification
	var stored []audit.Stored
	var scanned time.Time
	if o.Records {
		// The store first: a write's entry follows its write, so every
		// write the scan saw is in the trail read after it.
		recs, _, err := openRecords(ctx, b, newCache(cfg), cfg.Now, recordsHooks{})
		if err != nil {
			return Verification{}, err
		}
		defer recs.Close()
		scanned = time.Now()
		err = recs.EachStored(ctx, func(r records.StoredRecord) error {
			stored = append(stored, audit.Stored{Collection: r.Collection, Name: audited.RecordName(r.Key), ETag: r.ETag})
			return nil
		})
		if err != nil {
			return Verification{}, err
		}
	}
	rep, err := audit.VerifyWith(ctx, b.trail, ks, audit.VerifyOptions{Progress: o.Progress, Checkpoints: o.Checkpoints})
	if err != nil {
		return Verification{}, err
	}
	v.Report = rep
	if o.Records {
		rr, err := audit.CheckRecords(ctx, b.trail, ks, stored, scanned)
		if err != nil {
			return Verification{}, err
		}
		v.Records = &rr
	}
	return v, nil
}
