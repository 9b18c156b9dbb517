package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// createdToken is the body of POST /v1/tokens.
type createdToken struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	Token  string   `json:"token"`
}

// mustToken creates a token with scopes as the holder of secret (by
// default the admin) and returns its secret.
func (s *srv) mustToken(secret, name string, scopes ...string) string {
	s.t.Helper()
	body := mustJSON(s.t, map[string]any{"name": name, "scopes": scopes})
	r := s.do(http.MethodPost, "/v1/tokens", secret, body, nil)
	if r.status != http.StatusCreated {
		s.t.Fatalf("POST /v1/tokens %s %v: %d %s; want 201", name, scopes, r.status, r.body)
	}
	var c createdToken
	mustDecode(s.t, "POST /v1/tokens", r, &c)
	if c.Name != name || !slices.Equal(c.Scopes, scopes) || !strings.HasPrefix(c.Token, "sst_") {
		s.t.Fatalf("POST /v1/tokens: %s; want name %s, scopes %v and an sst_ token", r.body, name, scopes)
	}
	return c.Token
}

// tokenList is what GET /v1/tokens shows to secret.
func (s *srv) tokenList(secret string) (resp, map[string][]string) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v1/tokens", secret, nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /v1/tokens: %d %s", r.status, r.body)
	}
	var out struct {
		Tokens []map[string]any `json:"tokens"`
	}
	mustDecode(s.t, "GET /v1/tokens", r, &out)
	m := map[string][]string{}
	for _, t := range out.Tokens {
		if _, ok := t["token"]; ok {
			s.t.Errorf("GET /v1/tokens shows a token member: %s", r.body)
		}
		name, _ := t["name"].(string)
		for _, sc := range t["scopes"].([]any) {
			m[name] = append(m[name], sc.(string))
		}
	}
	return r, m
}

// A token scoped to collection A can neither read, list, search, write nor
// delete anything in collection B, nor tell B's records, or B itself,
// from what does not exist.
func TestV1BOLA(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("team-a", custSchema)
	s.mustCollection("team-b", custSchema)
	s.mustCollection("team-s", `{"partitionKey":"u","sortKey":"s"}`)
	s.mustPut(adm, recPath("team-a", "mine"), `{"email":"a@x"}`)
	bPath := recPath("team-b", "secret-rec")
	bEtag := s.mustPut(adm, bPath, `{"email":"victim@x","country":"GB"}`)
	s.mustPut(adm, recPath("team-s", "u1", "s1"), `{"v":1}`)

	aTok := s.mustToken(adm, "a-rw", "team-a:read", "team-a:write")
	r, list := s.tokenList(adm)
	if !slices.Equal(list["a-rw"], []string{"team-a:read", "team-a:write"}) {
		t.Errorf("GET /v1/tokens: a-rw has scopes %v", list["a-rw"])
	}
	if bytes.Contains(r.body, []byte(aTok)) || bytes.Contains(r.body, []byte(aTok[4:])) {
		t.Errorf("GET /v1/tokens shows the secret of a-rw: %s", r.body)
	}
	if got := s.collectionNames(aTok); !slices.Equal(got, []string{"team-a"}) {
		t.Errorf("GET /v1/collections as a-rw: %v; want [team-a]", got)
	}
	if doc, _ := s.mustGetDoc(aTok, recPath("team-a", "mine")); doc["email"] != "a@x" {
		t.Errorf("a-rw reading its own collection: %v", doc)
	}

	// Every request at B, at its existing and missing records, and at a
	// collection that does not exist, gets the same 404.
	var first resp
	for _, coll := range []string{"team-b", "team-s", "team-c", "*"} {
		for _, id := range []string{"secret-rec", "u1", "no-such-id"} {
			for _, rq := range bolaRequests(coll, id) {
				what := rq.method + " " + rq.path + " as a-rw"
				r := s.do(rq.method, rq.path, aTok, rq.body, rq.hdr)
				checkProblem(t, what, r, http.StatusNotFound)
				if first.status == 0 {
					first = r
				}
				if !bytes.Equal(r.body, first.body) {
					t.Errorf("%s: body %s; want exactly %s (the same for every collection and id)", what, r.body, first.body)
				}
				for _, h := range []string{"ETag", "Allow", "Location", "Retry-After"} {
					if v := r.header.Get(h); v != "" {
						t.Errorf("%s: 404 with %s: %s", what, h, v)
					}
				}
			}
		}
	}
	doc, etag := s.mustGetDoc(adm, bPath)
	wantDoc(t, "B's record after a-rw's attempts", doc, `{"id":"secret-rec","email":"victim@x","country":"GB"}`)
	if etag != bEtag {
		t.Errorf("B's record after a-rw's attempts: ETag %s; want %s", etag, bEtag)
	}
	for _, c := range []string{"team-b", "team-s"} {
		if recs, _ := s.listAll(adm, c, nil, 100); len(recs) != 1 {
			t.Errorf("%s after a-rw's attempts: %d records; want 1", c, len(recs))
		}
	}
	checkProblem(t, "team-c after a-rw's attempts", s.do(http.MethodGet, collPath("team-c"), adm, nil, nil), http.StatusNotFound)

	// Read-only on A: writes in A are 403, not 404.
	roTok := s.mustToken(adm, "a-ro", "team-a:read")
	checkProblem(t, "PUT in A as team-a:read", s.putRecord(roTok, recPath("team-a", "mine"), `{"email":"x"}`, nil), http.StatusForbidden)
	checkProblem(t, "DELETE in A as team-a:read", s.do(http.MethodDelete, recPath("team-a", "mine"), roTok, nil, nil), http.StatusForbidden)
	checkProblem(t, "PUT in B as team-a:read", s.putRecord(roTok, bPath, `{"email":"x"}`, nil), http.StatusNotFound)
	if doc, _ := s.mustGetDoc(roTok, recPath("team-a", "mine")); doc["email"] != "a@x" {
		t.Errorf("team-a:read reading A after refused writes: %v", doc)
	}
	checkProblem(t, "GET a missing record in A as team-a:read", s.do(http.MethodGet, recPath("team-a", "nope"), roTok, nil, nil), http.StatusNotFound)
}

// bolaRequest is one request a-rw tries.
type bolaRequest struct {
	method, path string
	body         []byte
	hdr          map[string]string
}

// bolaRequests are the requests of every /v1 collection route at record
// id of collection coll.
func bolaRequests(coll, id string) []bolaRequest {
	rec, sorted := recPath(coll, id), recPath(coll, id, "s1")
	patch := map[string]string{"Content-Type": mergePatch}
	return []bolaRequest{
		{method: http.MethodGet, path: rec},
		{method: http.MethodGet, path: sorted},
		{method: http.MethodPut, path: rec, body: []byte(`{"email":"pwned@x"}`)},
		{method: http.MethodPut, path: rec, body: []byte(`{"email":"pwned@x"}`), hdr: map[string]string{"If-None-Match": "*"}},
		{method: http.MethodPut, path: sorted, body: []byte(`{"v":2}`)},
		{method: http.MethodPut, path: rec, body: []byte(`{"email":`)},
		{method: http.MethodPatch, path: rec, body: []byte(`{"email":"pwned@x"}`), hdr: patch},
		{method: http.MethodPatch, path: sorted, body: []byte(`{"v":2}`), hdr: patch},
		{method: http.MethodDelete, path: rec},
		{method: http.MethodDelete, path: rec, hdr: map[string]string{"If-Match": "*"}},
		{method: http.MethodDelete, path: sorted},
		{method: http.MethodGet, path: listPath(coll, nil)},
		{method: http.MethodGet, path: listPath(coll, url.Values{"limit": {"5000"}})},
		{method: http.MethodGet, path: listPath(coll, url.Values{"email": {"victim@x"}})},
		{method: http.MethodGet, path: listPath(coll, url.Values{"cursor": {"bogus"}})},
		{method: http.MethodPost, path: collPath(coll, "/records:batchGet"), body: []byte(`{"keys":[{"id":"` + id + `"},{"id":"u1","sort":"s1"}]}`)},
		{method: http.MethodPost, path: collPath(coll, "/records:batchPut"), body: []byte(`{"records":[{"id":"` + id + `","record":{"email":"pwned@x"}}]}`)},
		{method: http.MethodPost, path: collPath(coll, "/records:batchGet"), body: []byte(`{"keys":[]}`)},
		{method: http.MethodGet, path: collPath(coll)},
		{method: http.MethodPut, path: collPath(coll), body: []byte(`{"partitionKey":"id"}`)},
		{method: http.MethodGet, path: collPath(coll, "/beacons")},
	}
}

// Tokens over the API: an A admin grants and sees only A's tokens,
// revokes none of B's (404, as for a missing name), and a revoked token
// stops working at once.
func TestV1TokenScopes(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("team-a", custSchema)
	s.mustCollection("team-b", custSchema)
	s.mustPut(adm, recPath("team-a", "r1"), `{"email":"a@x"}`)
	s.mustPut(adm, recPath("team-b", "r1"), `{"email":"b@x"}`)
	aAdmin := s.mustToken(adm, "a-admin", "team-a:admin")
	bTok := s.mustToken(adm, "b-rw", "team-b:read", "team-b:write")
	mixed := s.mustToken(adm, "mixed", "team-a:read", "team-b:read")

	checkProblem(t, "A admin granting a B scope", s.do(http.MethodPost, "/v1/tokens", aAdmin, mustJSON(t, map[string]any{"name": "x", "scopes": []string{"team-b:read"}}), nil), http.StatusForbidden)
	checkProblem(t, "A admin granting *:read", s.do(http.MethodPost, "/v1/tokens", aAdmin, mustJSON(t, map[string]any{"name": "y", "scopes": []string{"*:read"}}), nil), http.StatusForbidden)
	checkProblem(t, "items:read,write creating a token", s.do(http.MethodPost, "/v1/tokens", s.tokens[tokRW], mustJSON(t, map[string]any{"name": "z", "scopes": []string{"items:read"}}), nil), http.StatusForbidden)
	checkProblem(t, "a duplicate token name", s.do(http.MethodPost, "/v1/tokens", adm, mustJSON(t, map[string]any{"name": "a-admin", "scopes": []string{"team-a:read"}}), nil), http.StatusConflict)
	checkProblem(t, "a bad scope", s.do(http.MethodPost, "/v1/tokens", adm, mustJSON(t, map[string]any{"name": "w", "scopes": []string{"team-a:own"}}), nil), http.StatusUnprocessableEntity)
	// The A admin's tokens are named within team-a (a name clash tells it
	// nothing about other tenants' tokens: TestTokenNamesDoNotCrossTenants).
	aRO := s.mustToken(aAdmin, "a-ro@team-a", "team-a:read")
	if doc, _ := s.mustGetDoc(aRO, recPath("team-a", "r1")); doc["email"] != "a@x" {
		t.Errorf("a token the A admin made reads %v", doc)
	}

	_, list := s.tokenList(aAdmin)
	var names []string
	for n := range list {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"a-admin", "a-ro@team-a"}; !slices.Equal(names, want) {
		t.Errorf("GET /v1/tokens as the A admin: %v; want %v", names, want)
	}

	var first resp
	for _, name := range []string{"b-rw", "mixed", tokRW, tokAdmin, "no-such-token"} {
		r := s.do(http.MethodDelete, "/v1/tokens/"+name, aAdmin, nil, nil)
		checkProblem(t, "A admin revoking "+name, r, http.StatusNotFound)
		if first.status == 0 {
			first = r
		}
		if !bytes.Equal(r.body, first.body) {
			t.Errorf("A admin revoking %s: %s; want exactly %s", name, r.body, first.body)
		}
	}
	for _, tok := range []string{bTok, mixed} {
		if r := s.do(http.MethodGet, recPath("team-b", "r1"), tok, nil, nil); r.status != http.StatusOK {
			t.Errorf("a B token after the A admin's refused revocations: %d %s", r.status, r.body)
		}
	}
	checkProblem(t, "items:read,write revoking", s.do(http.MethodDelete, "/v1/tokens/a-ro@team-a", s.tokens[tokRW], nil, nil), http.StatusNotFound)

	// Revocation takes effect on the next request, without a restart.
	if r := s.do(http.MethodDelete, "/v1/tokens/a-ro@team-a", aAdmin, nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("A admin revoking a-ro: %d %s; want 204", r.status, r.body)
	}
	checkProblem(t, "a-ro after its revocation", s.do(http.MethodGet, recPath("team-a", "r1"), aRO, nil, nil), http.StatusUnauthorized)
	if r := s.do(http.MethodDelete, "/v1/tokens/b-rw", adm, nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("admin revoking b-rw: %d %s; want 204", r.status, r.body)
	}
	checkProblem(t, "b-rw after its revocation", s.do(http.MethodGet, recPath("team-b", "r1"), bTok, nil, nil), http.StatusUnauthorized)
	checkProblem(t, "revoking b-rw again", s.do(http.MethodDelete, "/v1/tokens/b-rw", adm, nil, nil), http.StatusNotFound)
	_, list = s.tokenList(adm)
	if _, ok := list["b-rw"]; ok {
		t.Errorf("GET /v1/tokens after revoking b-rw still lists it")
	}
	if r := s.do(http.MethodGet, recPath("team-b", "r1"), mixed, nil, nil); r.status != http.StatusOK {
		t.Errorf("another token after a revocation: %d %s", r.status, r.body)
	}
}
