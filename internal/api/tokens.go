package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/tokens"
)

// errForbidden refuses a token creation granting scopes the caller does
// not administer.
var errForbidden = fault.Sentinel(fault.Denied, "api: forbidden", "you can grant only scopes on collections you administer")

// administers reports whether tok may grant or see scope sc: it holds
// admin on sc's collection (a * scope needs *:admin).
func administers(tok tokens.Token, sc tokens.Scope) bool {
	return tok.Allows(sc.Collection, tokens.Admin)
}

// administersAll reports whether tok administers every scope of t.
func administersAll(tok tokens.Token, t tokens.Token) bool {
	return !slices.ContainsFunc(t.Scopes, func(sc tokens.Scope) bool { return !administers(tok, sc) })
}

// tokenName is the name a token created by caller, with scopes the
// caller administers, gets. Token names are one namespace, so a name
// taken answers 409: that must tell a caller nothing about tokens it
// cannot see. A *:admin caller sees every token, and names tokens freely.
// Any other caller's token is named within the collection its scopes are
// on: "app" becomes "app@customers" (and "app@customers" stays so). Every
// token so named has scopes on that collection only, so every admin of it
// lists them all: a clash there tells the caller only of a token it could
// list anyway, never that a name exists in another tenant's collection. A
// token with scopes on several collections, which no namespace of one
// collection holds, gets a random name unless a *:admin names it.
func tokenName(caller tokens.Token, name string, scopes []tokens.Scope) (string, error) {
	if caller.Allows(tokens.AnyCollection, tokens.Admin) {
		return name, nil
	}
	coll := scopes[0].Collection
	if slices.ContainsFunc(scopes, func(sc tokens.Scope) bool { return sc.Collection != coll }) {
		if name != "" {
			return "", &fault.FieldError{Field: "body.name", Reason: "can be chosen, for a token with scopes on several collections, only by a *:admin token; leave it out for a random name"}
		}
		return tokens.RandomName(), nil
	}
	if name == "" {
		name = tokens.RandomName()
	}
	if base, in, qualified := strings.Cut(name, "@"); qualified {
		if in != coll {
			return "", &fault.FieldError{Field: "body.name", Reason: "must end @" + coll + " (the collection of its scopes), or name no collection"}
		}
		name = base
	}
	return tokens.Qualify(name, coll), nil
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
		Name   string   `json:"name,omitempty" doc:"Token name: 1 to 64 letters, digits, '.', '_' or '-'; random when empty. Unless you hold *:admin, it is qualified by the collection of the scopes: app becomes app@customers (tokens with scopes on several collections get a random name)."`
		Scopes []string `json:"scopes" minItems:"1" maxItems:"100" doc:"Scopes COLLECTION:read|write|admin (* for every collection); admin implies read and write. *:metrics reads /metrics only. You can grant only scopes on collections you administer (* scopes need *:admin)." example:"[\"customers:read\"]"`
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
	refuse := func(err error) error {
		return s.problem(ctx, s.svc.Refuse(ctx, audit.TokenCreate, "", nil, audited.TokenDetail(in.Body.Name, in.Body.Scopes), err))
	}
	scopes, err := tokens.ParseScopes(strings.Join(in.Body.Scopes, ","))
	if err != nil {
		return nil, refuse(err)
	}
	if slices.ContainsFunc(scopes, func(sc tokens.Scope) bool { return !administers(*tok, sc) }) {
		return nil, refuse(errForbidden)
	}
	name, err := tokenName(*tok, in.Body.Name, scopes)
	if err != nil {
		return nil, refuse(err)
	}
	t, secret, err := s.svc.CreateToken(ctx, name, scopes)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	s.cfg.TokensChanged(ctx, "")
	out := &createTokenOutput{Status: http.StatusCreated}
	out.Body.tokenInfo = infoOf(t)
	out.Body.Token = Secret(secret)
	return out, nil
}

type tokensOutput struct {
	Body struct {
		Tokens []tokenInfo `json:"tokens"`
	}
}

// listTokens lists the tokens whose every scope the caller administers.
func (s *server) listTokens(ctx context.Context, _ *struct{}) (*tokensOutput, error) {
	tok := tokenFrom(ctx)
	all, err := s.svc.ListTokens(ctx)
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
	all, err := s.svc.ListTokens(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	i := slices.IndexFunc(all, func(t tokens.Token) bool { return t.Name == in.Name })
	if i < 0 || !administersAll(*tok, all[i]) {
		return nil, s.problem(ctx, s.svc.Refuse(ctx, audit.TokenRevoke, "", nil, audited.TokenDetail(in.Name, nil), tokens.ErrNotFound))
	}
	err = s.svc.RevokeToken(ctx, in.Name)
	// Whatever the answer (a revocation done but not recorded is still
	// done), the token set follows the store.
	s.cfg.TokensChanged(ctx, in.Name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &noContent{Status: http.StatusNoContent}, nil
}
