package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
)

// apiConfig is the configuration of the API over recs and trail.
func (s *service) apiConfig(recs *records.Service, trail *audit.Log) api.Config {
	keyStore, tableName := s.keyStore()
	return api.Config{
		Records:       recs,
		Keys:          recs,
		Imports:       recs,
		Tokens:        s.set.Load,
		Log:           s.log,
		Metrics:       s.metrics,
		Version:       s.cfg.Version,
		FailureLimit:  s.cfg.FailureLimit,
		FailureWindow: s.cfg.FailureWindow,
		Audit:         trail,
		TokenStore:    s.tokens,
		TokensChanged: s.tokensChanged,
		KeyStore:      keyStore,
		TableName:     tableName,
		VerifyAudit: func(ctx context.Context, cps []audit.Checkpoint, recs bool) (audit.Report, *audit.RecordsReport, error) {
			v, err := verifyOpened(ctx, s.cfg, s.backend, VerifyOptions{Checkpoints: cps, Records: recs})
			return v.Report, v.Records, err
		},
	}
}

// keyStore says where this deployment's branch keys are, and tableName
// which physical table a logical one is (nil: the same).
func (s *service) keyStore() (keyStore readerconfig.KeyStore, tableName func(string) string) {
	b := s.cfg.Backend
	if b.kind() != KindDynamoDB {
		return readerconfig.KeyStore{Name: KeyStoreName, Table: KeyStoreTable}, nil
	}
	prefix := b.TablePrefix
	return readerconfig.KeyStore{Name: KeyStoreName, Table: prefix + KeyStoreTable, KMSKeyARN: b.KMSKeyID},
		func(logical string) string { return prefix + logical }
}

// cacheMetrics count the branch key cache's hits and misses.
func cacheMetrics(cache *hierarchy.Cache) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sealstore_key_cache_hits_total",
			Help: "Branch key lookups answered from the cache."}, func() float64 { h, _ := cache.Stats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sealstore_key_cache_misses_total",
			Help: "Branch key lookups that loaded the key from the key store (or waited for a load)."}, func() float64 { _, m := cache.Stats(); return float64(m) }),
	}
}
