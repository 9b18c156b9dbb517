package cliclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
)

// Tokens manages a server's tokens through its /v1/tokens routes; its
// methods are those of tokens.Store, within what the client's token
// administers (the server lists, and revokes, only those).
type Tokens struct{ C *Client }

type tokenJSON struct {
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	Created time.Time `json:"created"`
	Token   string    `json:"token,omitempty"`
}

func (j tokenJSON) token() (tokens.Token, error) {
	scopes, err := tokens.ParseScopes(strings.Join(j.Scopes, ","))
	if err != nil {
		return tokens.Token{}, fmt.Errorf("the server's token %q: %w", j.Name, err)
	}
	return tokens.Token{Name: j.Name, Scopes: scopes, Created: j.Created}, nil
}

// Create is POST /v1/tokens. A name taken is tokens.ErrExists.
func (t Tokens) Create(ctx context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error) {
	list := make([]string, len(scopes))
	for i, sc := range scopes {
		list[i] = sc.String()
	}
	var out tokenJSON
	err := t.C.Do(ctx, http.MethodPost, "/v1/tokens", map[string]any{"name": name, "scopes": list}, &out)
	if status(err) == http.StatusConflict {
		return tokens.Token{}, "", fmt.Errorf("%w: %s", tokens.ErrExists, name)
	}
	if err != nil {
		return tokens.Token{}, "", err
	}
	tok, err := out.token()
	return tok, out.Token, err
}

// List is GET /v1/tokens: the tokens the client's token administers.
func (t Tokens) List(ctx context.Context) ([]tokens.Token, error) {
	var out struct{ Tokens []tokenJSON }
	if err := t.C.Do(ctx, http.MethodGet, "/v1/tokens", nil, &out); err != nil {
		return nil, err
	}
	list := make([]tokens.Token, 0, len(out.Tokens))
	for _, j := range out.Tokens {
		tok, err := j.token()
		if err != nil {
			return nil, err
		}
		list = append(list, tok)
	}
	return list, nil
}

// Revoke is DELETE /v1/tokens/{name}. A token that does not exist, or
// that the client's token does not administer, is tokens.ErrNotFound.
func (t Tokens) Revoke(ctx context.Context, name string) error {
	err := t.C.Do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(name), nil, nil)
	if status(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %s", tokens.ErrNotFound, name)
	}
	return err
}

// status is the HTTP status of a *StatusError, or 0.
func status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
