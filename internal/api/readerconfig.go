package api

import (
	"context"

	"github.com/sealstore/sealstore/internal/readerconfig"
)

type readerConfigOutput struct {
	Body readerconfig.Config
}

// readerConfig serves GET /v1/collections/{name}/reader-config.
func (s *server) readerConfig(ctx context.Context, in *collectionInput) (*readerConfigOutput, error) {
	rc, err := s.svc.ReaderConfig(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	rc.KeyStore = s.cfg.KeyStore
	if s.cfg.TableName != nil {
		rc.TableName = s.cfg.TableName(rc.LogicalTableName)
	}
	return &readerConfigOutput{Body: rc}, nil
}
