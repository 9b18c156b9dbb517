package server

import (
	"context"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/keystore"
)

// VerifyAudit walks every chain of the deployment's audit trail and
// reports the first broken entry of each: offline for the embedded
// default (no server may hold the data directory), beside running
// servers on DynamoDB. It needs the root key: the audit key is a branch
// key of the key store.
func VerifyAudit(ctx context.Context, cfg Config, progress func(done int)) (audit.Report, error) {
	if err := cfg.Backend.Validate(); err != nil {
		return audit.Report{}, err
	}
	b, err := openBackend(ctx, cfg, false, nil)
	if err != nil {
		return audit.Report{}, err
	}
	defer b.close()
	ks := keystore.New(KeyStoreName, KeyStoreTable, b.db, b.root)
	return audit.Verify(ctx, b.trail, ks, progress)
}
