package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// createAs sends POST /v1/tokens as the named token and returns the
// status and the created token's name.
func (s *testServer) createAs(t *testing.T, as, body string) (int, string) {
	t.Helper()
	rec := s.do(t, http.MethodPost, "/v1/tokens", as, strings.NewReader(body))
	var out struct{ Name string }
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Name
}

// An admin of one collection cannot learn, from 409 versus 201, that a
// token name exists outside what it administers: its tokens are named
// within its collection ("app" → "app@a"), where every token is one it
// can list anyway.
func TestTokenNamesDoNotCrossTenants(t *testing.T) {
	t.Parallel()
	s := newLiveTokenServer(t, 1000)
	s.addToken(t, "a-admin", "a:admin")
	s.addToken(t, "b-admin", "b:admin")
	s.addToken(t, "ab-admin", "a:admin,b:admin")
	// Names that exist, in B's namespace, globally and under B's scopes.
	if st, name := s.createAs(t, "b-admin", `{"name":"payroll","scopes":["b:read"]}`); st != http.StatusCreated || name != "payroll@b" {
		t.Fatalf("b's admin creating payroll: %d %q; want 201 payroll@b", st, name)
	}
	if st, name := s.createAs(t, "admin", `{"name":"merger-2027","scopes":["b:read"]}`); st != http.StatusCreated || name != "merger-2027" {
		t.Fatalf("*:admin creating merger-2027: %d %q; want 201 with the name as given", st, name)
	}
	for _, c := range []struct {
		what, as, body string
		status         int
		name           string
	}{
		{"a name taken in b", "a-admin", `{"name":"payroll","scopes":["a:read"]}`, 201, "payroll@a"},
		{"a name *:admin gave a b token", "a-admin", `{"name":"merger-2027","scopes":["a:read"]}`, 201, "merger-2027@a"},
		{"a name of the other namespace", "a-admin", `{"name":"payroll@b","scopes":["a:read"]}`, 422, ""},
		{"its own namespace, spelled out", "a-admin", `{"name":"ci@a","scopes":["a:write"]}`, 201, "ci@a"},
		{"a name taken in its own namespace", "a-admin", `{"name":"payroll","scopes":["a:write"]}`, 409, ""},
		{"no name", "a-admin", `{"scopes":["a:read"]}`, 201, "@a"},
		{"several collections, named", "ab-admin", `{"name":"both","scopes":["a:read","b:read"]}`, 422, ""},
		{"several collections, unnamed", "ab-admin", `{"scopes":["a:read","b:read"]}`, 201, "token-"},
		{"*:admin, a name taken", "admin", `{"name":"merger-2027","scopes":["a:read"]}`, 409, ""},
		{"*:admin, a namespace not its scopes'", "admin", `{"name":"x@a","scopes":["b:read"]}`, 422, ""},
		{"*:admin, a namespace", "admin", `{"name":"x@a","scopes":["a:read"]}`, 201, "x@a"},
	} {
		st, name := s.createAs(t, c.as, c.body)
		if st != c.status || !strings.Contains(name, c.name) {
			t.Errorf("%s: %d %q; want %d %q", c.what, st, name, c.status, c.name)
		}
	}
	// Each admin lists its namespace (and the tokens it administers), and
	// revokes by the qualified name.
	rec := s.do(t, http.MethodGet, "/v1/tokens", "a-admin", nil)
	if !strings.Contains(rec.Body.String(), `"payroll@a"`) || strings.Contains(rec.Body.String(), `"payroll@b"`) || strings.Contains(rec.Body.String(), `"merger-2027"`) {
		t.Errorf("a's admin lists %s", rec.Body)
	}
	if rec := s.do(t, http.MethodDelete, "/v1/tokens/payroll@a", "a-admin", nil); rec.Code != http.StatusNoContent {
		t.Errorf("a's admin revoking payroll@a: %d %s", rec.Code, rec.Body)
	}
	if rec := s.do(t, http.MethodDelete, "/v1/tokens/payroll@b", "a-admin", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a's admin revoking payroll@b: %d; want the 404 of a token that does not exist", rec.Code)
	}
}
