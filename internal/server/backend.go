package server

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/awsconf"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/journal"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// Backend kinds.
const (
	// KindBolt is the embedded default: a data directory holding a bbolt
	// database and a local root key file (development only).
	KindBolt = "bolt"
	// KindDynamoDB keeps records and branch keys in Amazon DynamoDB under
	// an AWS KMS root key.
	KindDynamoDB = "dynamodb"
)

// Backend selects where records and keys live.
type Backend struct {
	// Kind is KindBolt (the default when empty) or KindDynamoDB.
	Kind string
	// Region is the AWS region; empty: from the environment.
	Region string
	// DynamoDBEndpoint and KMSEndpoint override the SDK's endpoints:
	// https://, or http:// to a loopback address only (an emulator).
	DynamoDBEndpoint, KMSEndpoint string
	// KMSKeyID is the KMS key ARN of the root key.
	KMSKeyID string
	// TablePrefix starts the name of every DynamoDB table sealstore owns.
	TablePrefix string
}

func (b Backend) kind() string {
	if b.Kind == "" {
		return KindBolt
	}
	return b.Kind
}

// Validate checks the backend settings without contacting anything.
func (b Backend) Validate() error { return b.validate(true) }

// ValidateStore checks the settings the token commands need: those of
// Validate but the KMS key, which they never use.
func (b Backend) ValidateStore() error { return b.validate(false) }

func (b Backend) validate(needKMS bool) error {
	switch b.kind() {
	case KindBolt:
		if b.Region != "" || b.DynamoDBEndpoint != "" || b.KMSEndpoint != "" || b.KMSKeyID != "" || b.TablePrefix != "" {
			return errors.New("--region, --dynamodb-endpoint, --kms-endpoint, --kms-key-id and --table-prefix apply only with --store dynamodb")
		}
		return nil
	case KindDynamoDB:
		if err := dynamo.CheckPrefix(b.TablePrefix); err != nil {
			return fmt.Errorf("--table-prefix: %w", err)
		}
		if needKMS && b.KMSKeyID == "" {
			return errors.New("--store dynamodb needs --kms-key-id (the ARN of the KMS key that wraps branch keys)")
		}
		for _, e := range []struct{ flag, url string }{{"dynamodb-endpoint", b.DynamoDBEndpoint}, {"kms-endpoint", b.KMSEndpoint}} {
			if err := awsconf.CheckEndpoint(e.url); err != nil {
				return fmt.Errorf("--%s: %w", e.flag, err)
			}
		}
		return nil
	}
	return fmt.Errorf("--store %q: want %s or %s", b.Kind, KindBolt, KindDynamoDB)
}

// opened is an open backend: a store, a root key and, for the embedded
// default, its data directory.
type opened struct {
	db store.Store
	// trail is where the audit trail is: on the embedded default the
	// data directory's journal, over the database where earlier releases
	// kept it; on DynamoDB the store.
	trail audit.Backend
	// createTable creates a table even where db only checks that its
	// tables exist: for the collections the API creates.
	createTable func(ctx context.Context, t store.Table) error
	root        keystore.Root
	dir         *datadir.Dir // nil for DynamoDB
	close       func() error
	// desc describes where the data is, for the banner.
	desc string
}

// openBackend opens the configured backend. With create false, the
// DynamoDB tables must already exist ('sealstore init' makes them).
func openBackend(ctx context.Context, cfg Config, create bool, onKMS func(op string, err error)) (*opened, error) {
	b := cfg.Backend
	if b.kind() == KindBolt {
		dir, err := datadir.Open(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		j, err := journal.Open(filepath.Join(dir.Path, datadir.AuditDir), journal.Options{SegmentSize: cfg.Audit.SegmentSize})
		if err != nil {
			dir.Close()
			return nil, fmt.Errorf("audit journal: %w", err)
		}
		closeAll := func() error { return errors.Join(j.Close(), dir.Close()) }
		return &opened{db: dir.Store, trail: audit.Layered(j, dir.Store), createTable: dir.Store.CreateTable, root: dir.Root, dir: dir,
			close: closeAll, desc: "data directory: " + dir.Path}, nil
	}
	db, err := dynamo.Open(ctx, dynamo.Config{Region: b.Region, Endpoint: b.DynamoDBEndpoint, TablePrefix: b.TablePrefix})
	if err != nil {
		return nil, err
	}
	root, err := kmsroot.Open(ctx, kmsroot.Config{Region: b.Region, Endpoint: b.KMSEndpoint, KeyARN: b.KMSKeyID, Observe: onKMS})
	if err != nil {
		return nil, err
	}
	var s store.Store = db
	if !create {
		s = existingTables{db}
	}
	desc := fmt.Sprintf("records and keys: DynamoDB tables %[1]ssecure_items, %[1]scol_* (collections) and %[1]ssealstore_*, root key %[2]s", b.TablePrefix, b.KMSKeyID)
	return &opened{db: s, trail: s, createTable: db.CreateTable, root: root, close: func() error { return nil }, desc: desc}, nil
}

// existingTables is a DynamoDB store whose CreateTable only checks that
// the table exists as described: a server does not create tables, so that
// it can run without that permission and a typo in --table-prefix is an
// error rather than a new, empty deployment.
type existingTables struct{ *dynamo.Store }

func (e existingTables) CreateTable(ctx context.Context, t store.Table) error {
	return e.CheckTable(ctx, t)
}

// openTokenStore opens just the store, for the token commands: the data
// directory's database (only while no server holds it), or DynamoDB, whose
// tables must exist.
func openTokenStore(ctx context.Context, dataDir string, b Backend) (store.Store, func() error, error) {
	if b.kind() == KindBolt {
		db, err := datadir.OpenStore(dataDir)
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
	db, err := dynamo.Open(ctx, dynamo.Config{Region: b.Region, Endpoint: b.DynamoDBEndpoint, TablePrefix: b.TablePrefix})
	if err != nil {
		return nil, nil, err
	}
	return existingTables{db}, func() error { return nil }, nil
}
