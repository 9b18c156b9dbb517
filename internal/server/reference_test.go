package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A reference client (the reference's users' code) reads
// resp.json()["detail"]: a string for every error, a list of
// {"type","loc","msg"} for a 422, as FastAPI answers. These are the
// exact answers it gets, with FastAPI's content type.
func TestReferenceClientErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	for _, c := range []struct {
		what         string
		method, path string
		token        string
		body         string
		status       int
		want         string
	}{
		{"the issue's example", http.MethodPost, "/items/", tok, `{"id":"a"}`, 422,
			`{"detail":[{"type":"missing","loc":["body","secret"],"msg":"Field required"}]}`},
		{"malformed JSON", http.MethodPost, "/items/", tok, `{"id":"a","secret":`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",19],"msg":"JSON decode error","ctx":{"error":"the body is not valid JSON"}}]}`},
		{"a secret that is not a string", http.MethodPost, "/items/", tok, `{"id":"a","secret":1234}`, 422,
			`{"detail":[{"type":"string_type","loc":["body","secret"],"msg":"Input should be a valid string"}]}`},
		{"an id too long", http.MethodPost, "/items/", tok, `{"id":"` + longID + `","secret":"s"}`, 422,
			`{"detail":[{"type":"value_error","loc":["body","id"],"msg":"Value error, must be at most 1024 bytes"}]}`},
		{"an unknown id", http.MethodGet, "/items/nope", tok, "", 404, `{"detail":"not found"}`},
		{"no token", http.MethodGet, "/items/nope", "", "", 401,
			`{"detail":"a valid bearer token is required (Authorization: Bearer <token>)"}`},
		{"a method the path does not take", http.MethodDelete, "/items/nope", tok, "", 405, `{"detail":"Method Not Allowed"}`},
	} {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		r := s.do(c.method, c.path, c.token, body, nil)
		if r.status != c.status || string(r.body) != c.want+"\n" && string(r.body) != c.want {
			t.Errorf("%s: %d %s\nwant %d %s", c.what, r.status, r.body, c.status, c.want)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q; want application/json", c.what, ct)
		}
		// What the reference's client code does with it.
		var parsed map[string]any
		if err := json.Unmarshal(r.body, &parsed); err != nil {
			t.Errorf("%s: %v", c.what, err)
		}
		if list, ok := parsed["detail"].([]any); ok {
			for _, e := range list {
				if _, ok := e.(map[string]any)["msg"].(string); !ok {
					t.Errorf("%s: detail[] entry %v has no msg", c.what, e)
				}
			}
		} else if _, ok := parsed["detail"].(string); !ok {
			t.Errorf("%s: detail is neither a string nor a list: %s", c.what, r.body)
		}
	}
	// /v1 keeps RFC 9457 problem+json.
	checkProblem(t, "GET a /v1 collection that does not exist", s.do(http.MethodGet, "/v1/collections/nope", tok, nil, nil), http.StatusNotFound)
}

var longID = strings.Repeat("i", 1025)
