package server

import (
	"context"
	"errors"
	"strings"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/awsconf"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// importSource is an import's source: its DynamoDB table through
// store/dynamo and, for the reference layout, the reference's KMS key
// through keystore/kmsroot (Decrypt pinned to that key), both with the
// server's AWS credentials (the SDK's default chain).
type importSource struct {
	db   *dynamo.Store
	root *kmsroot.Root // nil for a plaintext table
}

func (s importSource) KeySchema(ctx context.Context, table string) (store.Table, error) {
	return s.db.KeySchema(ctx, table)
}

func (s importSource) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	return s.db.Scan(ctx, t, cursor, limit)
}

func (s importSource) DeleteUnchanged(ctx context.Context, t store.Table, it attr.Item) error {
	return s.db.DeleteUnchanged(ctx, t, it)
}

var errNoSourceKey = errors.New("server: a plaintext import has no KMS key")

// Decrypt unwraps a data key the reference made with GenerateDataKey
// (no encryption context).
func (s importSource) Decrypt(ctx context.Context, blob []byte) (secret.Bytes, error) {
	if s.root == nil {
		return secret.Bytes{}, errNoSourceKey
	}
	return s.root.Unwrap(ctx, blob, nil)
}

// importSources opens import sources; onKMS, if not nil, is told of each
// KMS call (the sealstore_kms_calls_total metric).
func importSources(onKMS func(op string, err error)) records.SourceOpener {
	return func(ctx context.Context, src records.ImportSource, kms bool) (records.Source, error) {
		for _, e := range []struct{ field, url string }{{"dynamodbEndpoint", src.DynamoDBEndpoint}, {"kmsEndpoint", src.KMSEndpoint}} {
			if err := awsconf.CheckEndpoint(e.url); err != nil {
				return nil, &records.InvalidError{Field: "body.source." + e.field, Reason: err.Error()}
			}
		}
		cfg, err := awsconf.Load(ctx, src.Region)
		if err != nil {
			reason := "cannot be taken from the server's AWS configuration, which does not load"
			if strings.Contains(err.Error(), "no region") {
				reason = "is required: the server's AWS environment names no region"
			}
			return nil, &records.InvalidError{Field: "body.source.region", Reason: reason}
		}
		db, err := dynamo.Open(ctx, dynamo.Config{Region: src.Region, Endpoint: src.DynamoDBEndpoint})
		if err != nil {
			return nil, &records.InvalidError{Field: "body.source.dynamodbEndpoint", Reason: err.Error()}
		}
		out := importSource{db: db}
		if !kms {
			return out, nil
		}
		client := kmsroot.NewClient(cfg, src.KMSEndpoint)
		if err := awsconf.CheckResolved("kms", client.Options().BaseEndpoint); err != nil {
			return nil, &records.InvalidError{Field: "body.source.kmsEndpoint", Reason: err.Error()}
		}
		if out.root, err = kmsroot.New(client, src.KMSKeyID); err != nil {
			return nil, &records.InvalidError{Field: "body.source.kmsKeyId", Reason: "must be the full ARN of a KMS key, arn:<partition>:kms:<region>:<account>:key/<id>"}
		}
		if onKMS != nil {
			out.root.Observe(onKMS)
		}
		return out, nil
	}
}
