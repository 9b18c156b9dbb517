package kmsroot

import (
	"context"

	"github.com/sealstore/sealstore/internal/awsconf"
)

// Config selects a KMS endpoint and the root key.
type Config struct {
	// Region; empty: from the environment.
	Region string
	// Endpoint overrides the SDK's endpoint; empty: the default. The
	// caller vets it.
	Endpoint string
	// KeyARN is the key's full ARN.
	KeyARN string
	// Observe, if set, is called once per KMS call (see Root.Observe).
	Observe func(operation string, err error)
}

// Open returns the root key cfg names, with the shared AWS settings (the
// SDK's credentials chain, retries with jittered back-off, timeouts). It
// makes no request.
func Open(ctx context.Context, cfg Config) (*Root, error) {
	awsCfg, err := awsconf.Load(ctx, cfg.Region)
	if err != nil {
		return nil, err
	}
	client := NewClient(awsCfg, cfg.Endpoint)
	if err := awsconf.CheckResolved("kms", client.Options().BaseEndpoint); err != nil {
		return nil, err
	}
	r, err := New(client, cfg.KeyARN)
	if err != nil {
		return nil, err
	}
	if cfg.Observe != nil {
		r.Observe(cfg.Observe)
	}
	return r, nil
}
