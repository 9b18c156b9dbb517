package api

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// A JSON syntax error on POST /items/ is FastAPI's 422 json_invalid,
// located at a byte offset, never quoting the character at fault, which
// may be the first character of a secret.
func TestSyntaxErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	cases := []struct {
		body, secret string
		offset       float64
	}{
		{`{"id":"a","secret":Zq9}`, "Z", 19},
		{`{"id":"a","secret":"x"Zq9}`, "Z", 22},
		{`{"id":"a","secret":"\Zq9"}`, "Z", 21},
		{`{"id":"a","secret":tZq9}`, "Z", 20},
		{"{\"id\":\"a\",\"secret\":\"Z\x01q9\"}", "Z", 21},
		{`{"id":"a","secret":"Zq9`, "Z", 23}, // cut short: the end
	}
	for _, c := range cases {
		rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(c.body))
		body := rec.Body.String()
		for _, bad := range []string{"Zq9", "'Z'", `"Z"`, `\u0001`} {
			if strings.Contains(body, bad) {
				t.Errorf("%q: the response holds %q: %s", c.body, bad, body)
			}
		}
		is := wantIssues(t, rec)
		if len(is) != 1 || is[0].Type != "json_invalid" || is[0].Msg != "JSON decode error" ||
			!reflect.DeepEqual(is[0].Loc, []any{"body", c.offset}) {
			t.Errorf("%q: %s; want one json_invalid at [\"body\", %v]", c.body, body, c.offset)
		}
		if s.recs.lastSec != "" || s.recs.lastID != "" {
			t.Fatalf("%q: a malformed body reached Records", c.body)
		}
	}
	if strings.Contains(s.log.String(), "Zq9") {
		t.Error("the log holds the body")
	}
}

// A secret sent unquoted as a number that does not fit a float64 is a
// string_type issue that does not quote it; in a member the reference
// ignores, any number is ignored too (Python reads every one).
func TestNumberErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	digits := "9" + strings.Repeat("87654321", 50) // 401 digits: out of float64 range
	for _, secret := range []string{digits, "31337e999", "-271828e99999"} {
		rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":`+secret+`}`))
		if strings.Contains(rec.Body.String(), secret) {
			t.Errorf("%.20q…: the response quotes the unquoted secret: %.200s", secret, rec.Body)
		}
		if is := wantIssues(t, rec); len(is) != 1 || is[0].Type != "string_type" || !reflect.DeepEqual(is[0].Loc, []any{"body", "secret"}) {
			t.Errorf("%.20q…: issues %+v; want one string_type at body.secret", secret, is)
		}
		if s.recs.lastSec != "" {
			t.Fatal("a malformed body reached Records")
		}
		rec = s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":"b","extra":`+secret+`}`))
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), secret) {
			t.Errorf("%.20q… in an extra member: %d %.200s; want 200", secret, rec.Code, rec.Body)
		}
		s.recs.lastID, s.recs.lastSec = "", ""
	}
}

// POST /items/ refuses bodies as the reference's FastAPI app does: the
// same status, pydantic's type, location and message, and never the input
// value (FastAPI sends it as "input"; it may be the secret). A reference
// client reads resp.json()["detail"] as a list of these.
func TestPostItemValidation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	missing := func(loc ...any) issue { return issue{Type: "missing", Loc: loc, Msg: "Field required"} }
	str := func(name string) issue {
		return issue{Type: "string_type", Loc: []any{"body", name}, Msg: "Input should be a valid string"}
	}
	dict := issue{Type: "dict_type", Loc: []any{"body"}, Msg: "Input should be a valid dictionary"}
	for _, c := range []struct {
		what, contentType, body string
		want                    []issue
	}{
		{"the issue's example: no secret", "application/json", `{"id":"a"}`, []issue{missing("body", "secret")}},
		{"no id", "application/json", `{"secret":"s3cret-canary"}`, []issue{missing("body", "id")}},
		{"neither", "application/json", `{}`, []issue{missing("body", "id"), missing("body", "secret")}},
		{"names are exact", "application/json", `{"ID":"a","Secret":"s3cret-canary"}`, []issue{missing("body", "id"), missing("body", "secret")}},
		{"wrong types", "application/json", `{"id":12,"secret":["s3cret-canary"]}`, []issue{str("id"), str("secret")}},
		{"null members", "application/json", `{"id":null,"secret":null}`, []issue{str("id"), str("secret")}},
		{"no body", "application/json", ``, []issue{missing("body")}},
		{"an array", "application/json", `["s3cret-canary"]`, []issue{dict}},
		{"a string", "application/json", `"s3cret-canary"`, []issue{dict}},
		{"null", "application/json", `null`, []issue{dict}},
		{"not JSON by its type", "text/plain", `{"id":"a","secret":"s3cret-canary"}`, []issue{dict}},
		{"a form", "application/x-www-form-urlencoded", `id=a&secret=s3cret-canary`, []issue{dict}},
	} {
		req := httptest.NewRequest(http.MethodPost, "/items/", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.contentType)
		req.Header.Set("Authorization", "Bearer "+s.secrets["write"])
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if got := wantIssues(t, rec); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: issues %+v\nwant %+v", c.what, got, c.want)
		}
		if strings.Contains(rec.Body.String(), "s3cret-canary") {
			t.Errorf("%s: the answer holds the input: %s", c.what, rec.Body)
		}
		if s.recs.lastID != "" {
			t.Fatalf("%s: a refused body reached Records", c.what)
		}
	}
	// Accepted as FastAPI accepts them: a JSON subtype, no Content-Type,
	// members the reference ignores, a repeated member (the last counts).
	for _, c := range []struct{ contentType, body, secret string }{
		{"application/vnd.api+json; charset=utf-8", `{"id":"k","secret":"v1"}`, "v1"},
		{"", `{"id":"k","secret":"v2","note":{"x":[1,2.5e999]}}`, "v2"},
		{"application/json", `{"id":"k","secret":"old","secret":"v3"}`, "v3"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/items/", strings.NewReader(c.body))
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		req.Header.Set("Authorization", "Bearer "+s.secrets["write"])
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || s.recs.lastSec != c.secret {
			t.Errorf("%s %s: %d %s, secret %q; want 200 and %q", c.contentType, c.body, rec.Code, rec.Body, s.recs.lastSec, c.secret)
		}
	}
	// A body that is not UTF-8: FastAPI's 400.
	rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader("{\"id\":\"a\xffb\",\"secret\":\"x\"}"))
	if d := wantDetail(t, rec, http.StatusBadRequest); d != "There was an error parsing the body" {
		t.Errorf("invalid UTF-8: detail %q", d)
	}
}

// A \u escape of an unpaired UTF-16 surrogate is refused as invalid UTF-8
// is: encoding/json would store U+FFFD in its place, so "a\ud800" and
// "a\udbff" would be one name, and a value would be stored other than
// sent. A pair (an emoji) is a character, and passes.
func TestLoneSurrogateRefused(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	for _, c := range []struct {
		what, method, path, body string
		status                   int
	}{
		{"record, lone high", http.MethodPut, "/v1/collections/c/records/r", `{"a":"x\ud800"}`, http.StatusBadRequest},
		{"record, lone low", http.MethodPut, "/v1/collections/c/records/r", `{"a":"\udc00"}`, http.StatusBadRequest},
		{"record, a name", http.MethodPut, "/v1/collections/c/records/r", `{"\ud800":1}`, http.StatusBadRequest},
		{"merge patch", http.MethodPatch, "/v1/collections/c/records/r", `{"a":"\ud800"}`, http.StatusBadRequest},
		{"token name", http.MethodPost, "/v1/tokens", `{"name":"n\udfff","scopes":["items:read"]}`, http.StatusBadRequest},
		{"token name, a pair", http.MethodPost, "/v1/tokens", `{"name":"n\ud83d\ude00","scopes":["items:read"]}`, http.StatusUnprocessableEntity},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
		req.Header.Set("Authorization", "Bearer "+s.secrets["admin"])
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		wantProblem(t, rec, c.status)
		if c.status == http.StatusBadRequest && !strings.Contains(rec.Body.String(), "surrogate") {
			t.Errorf("%s: %d %s; want it to say why (an unpaired surrogate)", c.what, rec.Code, rec.Body)
		}
	}
}

// On POST /items/, an escaped lone surrogate is a json_invalid issue at
// its byte, in the id or the secret; a pair is stored as its character.
func TestPostItemLoneSurrogate(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	for _, c := range []struct {
		body   string
		offset float64
	}{
		{`{"id":"a\ud800","secret":"x"}`, 8},
		{`{"id":"a","secret":"x\udfff"}`, 21},
		{`{"id":"a","secret":"\ude00\ud83d"}`, 20},
	} {
		is := wantIssues(t, s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(c.body)))
		if len(is) != 1 || is[0].Type != "json_invalid" || !reflect.DeepEqual(is[0].Loc, []any{"body", c.offset}) {
			t.Errorf("%s: issues %+v; want json_invalid at byte %v", c.body, is, c.offset)
		}
		if s.recs.lastID != "" {
			t.Fatalf("%s reached Records", c.body)
		}
	}
	rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(`{"id":"a","secret":"\ud83d\ude00"}`))
	if rec.Code != http.StatusOK || s.recs.lastSec != "\U0001F600" {
		t.Errorf("a surrogate pair: %d, secret %q", rec.Code, s.recs.lastSec)
	}
}
