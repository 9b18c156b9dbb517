package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type problemWithErrors struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// A JSON syntax error names where it is, never the character at fault,
// which may be the first character of a secret.
func TestSyntaxErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	cases := []struct {
		body, secret string
	}{
		{`{"id":"a","secret":Zq9}`, "Z"},
		{`{"id":"a","secret":"x"Zq9}`, "Z"},
		{`{"id":"a","secret":"\Zq9"}`, "Z"},
		{`{"id":"a","secret":tZq9}`, "Z"},
		{"{\"id\":\"a\",\"secret\":\"Z\x01q9\"}", "Z"},
	}
	for _, c := range cases {
		rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(c.body))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d; want 400; body %s", c.body, rec.Code, rec.Body)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("%q: Content-Type %q", c.body, ct)
		}
		body := rec.Body.String()
		for _, bad := range []string{"Zq9", "'Z'", `"Z"`, `\u0001`} {
			if strings.Contains(body, bad) {
				t.Errorf("%q: the response holds %q: %s", c.body, bad, body)
			}
		}
		var p problemWithErrors
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%q: problem body %s: %v", c.body, body, err)
		}
		if strings.Contains(p.Detail, c.secret) {
			t.Errorf("%q: detail %q holds %q", c.body, p.Detail, c.secret)
		}
		if len(p.Errors) == 0 {
			t.Errorf("%q: no errors[] in %s", c.body, body)
		}
		sawByte := false
		for _, e := range p.Errors {
			if strings.Contains(e.Message, c.secret) {
				t.Errorf("%q: error message %q holds %q", c.body, e.Message, c.secret)
			}
			if e.Value != nil {
				t.Errorf("%q: error value %v is echoed", c.body, e.Value)
			}
			if strings.Contains(e.Message, "byte") {
				sawByte = true
			}
		}
		if !sawByte {
			t.Errorf("%q: no error message says at which byte: %s", c.body, body)
		}
		if s.recs.lastSec != "" || s.recs.lastID != "" {
			t.Fatalf("%q: a malformed body reached Records", c.body)
		}
	}
	if strings.Contains(s.log.String(), "Zq9") {
		t.Error("the log holds the body")
	}
}

// A secret sent unquoted as a number that does not fit a float64 makes
// encoding/json fail with an UnmarshalTypeError, whose message quotes the
// whole number: it must not come back either.
func TestNumberErrorDoesNotQuoteBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	digits := "9" + strings.Repeat("87654321", 50) // 401 digits: out of float64 range
	for _, secret := range []string{digits, "31337e999", "-271828e99999"} {
		for _, body := range []string{
			`{"id":"a","secret":` + secret + `}`,
			`{"id":"a","secret":"b","extra":` + secret + `}`,
		} {
			rec := s.do(t, http.MethodPost, "/items/", "write", strings.NewReader(body))
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("%.40q: status %d; want 4xx", body, rec.Code)
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("%.40q: the response quotes the unquoted secret %.20q…: %.200s", body, secret, rec.Body)
			}
		}
	}
	if s.recs.lastSec != "" {
		t.Fatal("a malformed body reached Records")
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
