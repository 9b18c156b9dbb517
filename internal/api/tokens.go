package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/tokens"
)

// TokenStore is the token administration the routes need.
type TokenStore interface {
	Create(ctx context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error)
	List(ctx context.Context) ([]tokens.Token, error)
	Revoke(ctx context.Context, name string) error
}

// errForbidden marks a refusal for the audit trail.
var errForbidden = errors.New("forbidden")

// administers reports whether tok may grant or see scope sc: it holds
// admin on sc's collection (a * scope needs *:admin).
func administers(tok tokens.Token, sc tokens.Scope) bool {
	return tok.Allows(sc.Collection, tokens.Admin)
}

// administersAll reports whether tok administers every scope of t.
func administersAll(tok tokens.Token, t tokens.Token) bool {
	return !slices.ContainsFunc(t.Scopes, func(sc tokens.Scope) bool { return !administers(tok, sc) })
}

type tokenInfo struct {
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes" example:"[\"customers:read\"]"`
	Created time.Time `json:"created"`
}

func infoOf(t tokens.Token) tokenInfo {
	ti := tokenInfo{Name: t.Name, Created: t.Created, Scopes: make([]string, len(t.Scopes))}
	for i, sc := range t.Scopes {
		ti.Scopes[i] = sc.String()
	}
	return ti
}

type createTokenInput struct {
	Body struct {
		Name   string   `json:"name,omitempty" doc:"Token name (1 to 64 letters, digits, '.', '_' or '-'); random when empty."`
		Scopes []string `json:"scopes" minItems:"1" maxItems:"100" doc:"Scopes COLLECTION:read|write|admin (* for every collection); admin implies read and write. You can grant only scopes on collections you administer." example:"[\"customers:read\"]"`
	}
}

type createTokenOutput struct {
	Status int
	Body   struct {
		tokenInfo
		Token Secret `json:"token" doc:"The token: shown once, stored only as a hash."`
	}
}

func (s *server) createToken(ctx context.Context, in *createTokenInput) (*createTokenOutput, error) {
	tok := tokenFrom(ctx)
	scopes, err := tokens.ParseScopes(joinScopes(in.Body.Scopes))
	if err == nil && !slices.ContainsFunc(scopes, func(sc tokens.Scope) bool { return !administers(*tok, sc) }) {
		var t tokens.Token
		var secret string
		t, secret, err = s.cfg.TokenStore.Create(ctx, in.Body.Name, scopes)
		if err == nil {
			s.cfg.TokensChanged(ctx, "")
		}
		name := in.Body.Name
		if err == nil {
			name = t.Name
		}
		if aerr := s.auditedDetail(ctx, "token.create", "", nil, tokenDetail(name, in.Body.Scopes), err); aerr != nil {
			if err == nil {
				// Nobody will see this token's secret, and the trail does
				// not hold its creation: take it back.
				s.withdraw(ctx, t.Name)
			}
			return nil, aerr
		}
		out := &createTokenOutput{Status: http.StatusCreated}
		out.Body.tokenInfo = infoOf(t)
		out.Body.Token = Secret(secret)
		return out, nil
	}
	if err == nil {
		err = errForbidden
	}
	if aerr := s.auditedDetail(ctx, "token.create", "", nil, tokenDetail(in.Body.Name, in.Body.Scopes), err); aerr != nil && !errors.Is(err, errForbidden) {
		return nil, aerr
	}
	return nil, huma.Error403Forbidden("you can grant only scopes on collections you administer")
}

// withdraw revokes a token whose creation could not be audited.
func (s *server) withdraw(ctx context.Context, name string) {
	ctx, cancel := auditContext(ctx)
	defer cancel()
	if err := s.cfg.TokenStore.Revoke(ctx, name); err != nil {
		s.logError(ctx, "revoke a token whose creation could not be audited", slog.String("token", name), slog.String("error", err.Error()))
		return
	}
	s.cfg.TokensChanged(ctx, name)
}

// tokenDetail is the audit detail of a token operation: the token's name
// and, for a creation, the scopes asked for.
func tokenDetail(name string, scopes []string) string {
	d := "name=" + name
	if len(scopes) > 0 {
		d += " scopes=" + joinScopes(scopes)
	}
	return d
}

func joinScopes(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

type tokensOutput struct {
	Body struct {
		Tokens []tokenInfo `json:"tokens"`
	}
}

// listTokens lists the tokens whose every scope the caller administers.
func (s *server) listTokens(ctx context.Context, _ *struct{}) (*tokensOutput, error) {
	tok := tokenFrom(ctx)
	all, err := s.cfg.TokenStore.List(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &tokensOutput{}
	out.Body.Tokens = []tokenInfo{}
	for _, t := range all {
		if administersAll(*tok, t) {
			out.Body.Tokens = append(out.Body.Tokens, infoOf(t))
		}
	}
	return out, nil
}

type revokeTokenInput struct {
	Name string `path:"name" doc:"Token name."`
}

// revokeToken revokes a token the caller administers entirely; any other
// name is 404, whether or not it exists.
func (s *server) revokeToken(ctx context.Context, in *revokeTokenInput) (*noContent, error) {
	tok := tokenFrom(ctx)
	all, err := s.cfg.TokenStore.List(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	i := slices.IndexFunc(all, func(t tokens.Token) bool { return t.Name == in.Name })
	if i < 0 || !administersAll(*tok, all[i]) {
		err = tokens.ErrNotFound
	} else if err = s.cfg.TokenStore.Revoke(ctx, in.Name); err == nil {
		s.cfg.TokensChanged(ctx, in.Name)
	}
	if err := s.auditedDetail(ctx, "token.revoke", "", nil, tokenDetail(in.Name, nil), err); err != nil {
		return nil, err
	}
	return &noContent{Status: http.StatusNoContent}, nil
}
