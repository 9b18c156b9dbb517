package audited

import (
	"context"
	"log/slog"
	"strings"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Tokens is the token administration Service wraps: *tokens.Store.
type Tokens interface {
	Create(ctx context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error)
	List(ctx context.Context) ([]tokens.Token, error)
	Revoke(ctx context.Context, name string) error
}

// CreateToken creates a token: a token.create naming it and its scopes.
// A token whose creation cannot be recorded is revoked again (nobody will
// see its secret) and ErrUnrecorded returned.
func (s *Service) CreateToken(ctx context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error) {
	t, secret, err := s.tokens.Create(ctx, name, scopes)
	if err == nil {
		name = t.Name
	}
	asked := make([]string, len(scopes))
	for i, sc := range scopes {
		asked[i] = sc.String()
	}
	if rerr := s.record(ctx, op{action: audit.TokenCreate, detail: TokenDetail(name, asked)}, err); rerr != err {
		if err == nil {
			s.withdraw(ctx, t.Name)
		}
		return tokens.Token{}, "", rerr
	}
	return t, secret, err
}

// withdraw revokes a token whose creation could not be recorded.
func (s *Service) withdraw(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	if err := s.tokens.Revoke(ctx, name); err != nil {
		// The token was never shown, so nobody can use it; it stays
		// listed until revoked by hand.
		s.logError(ctx, "revoke a token whose creation could not be audited", slog.String("token", name), slog.String("error", err.Error()))
	}
}

// ListTokens lists every token (not audited: the caller filters them by
// what the actor administers).
func (s *Service) ListTokens(ctx context.Context) ([]tokens.Token, error) { return s.tokens.List(ctx) }

// RevokeToken revokes a token: a token.revoke naming it.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	err := s.tokens.Revoke(ctx, name)
	return s.record(ctx, op{action: audit.TokenRevoke, detail: TokenDetail(name, nil)}, err)
}

// TokenDetail is the detail of a token operation: the token's name and,
// for a creation, the scopes asked for.
func TokenDetail(name string, scopes []string) string {
	d := "name=" + name
	if len(scopes) > 0 {
		d += " scopes=" + strings.Join(scopes, ",")
	}
	return d
}
