package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
)

// reloadTokens replaces the token set with the stored list. Reloads are
// serialized, so that a slow one cannot install an older list over a
// newer one.
func (s *service) reloadTokens(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	list, err := s.tokens.List(ctx)
	if err != nil {
		return err
	}
	s.set.Store(tokens.NewSet(list))
	return nil
}

// tokensChanged follows a token change made through the API: a revoked
// token leaves the set at once (before the response), then the list is
// read again, whether or not the request that made the change is still
// there to wait.
func (s *service) tokensChanged(ctx context.Context, revoked string) {
	if revoked != "" {
		s.reloadMu.Lock()
		s.set.Store(s.set.Load().Without(revoked))
		s.reloadMu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.reloadTokens(ctx); err != nil {
		s.log.Error("reload tokens after a change: the previous token list (less any revoked token) stays in force until the next refresh", slog.String("error", err.Error()))
	}
}

// tokenRefresh is how often the token list is re-read without a signal:
// on DynamoDB, where the token commands change it while servers run; never
// on the embedded default, which no one else can change while it serves.
func (s *service) tokenRefresh() time.Duration {
	if s.backend.dir != nil {
		return 0
	}
	if s.cfg.TokenRefresh > 0 {
		return s.cfg.TokenRefresh
	}
	return DefaultTokenRefresh
}
