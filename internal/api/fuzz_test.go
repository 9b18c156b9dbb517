package api

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPostItem sends arbitrary bodies to POST /items/. Every answer is a
// 200 or a 4xx (never a 5xx: nothing in a body may crash or confuse the
// server), every error is FastAPI's application/json, and an error never
// echoes a "secret" string of the body. A 200 passed the records layer
// exactly the id and secret members of a valid JSON object.
func FuzzPostItem(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","secret":"hunter2"}`, `{"id":"","secret":"x"}`, `{"id":1,"secret":"leakme-1234"}`,
		`{"id":"a","secret":{"x":"leakme-1234"}}`, `{"id":"a","secret":"leakme-1234"`, `[]`, `null`,
		`{"id":"a\u0001","secret":"leakme-1234"}`, "{\"id\":\"a\xffb\",\"secret\":\"leakme-1234\"}",
		`{"id":"a","secret":"s","extra":[1,2,3]}`, `{"secret":"leakme-1234"}`,
	} {
		f.Add([]byte(s))
	}
	srv := newTestServer(f, 1<<30)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := srv.do(t, http.MethodPost, "/items/", "write", bytes.NewReader(body))
		switch {
		case rec.Code == http.StatusOK:
			var in map[string]any // member names exact, as the reference reads them
			if !utf8.Valid(body) || json.Unmarshal(body, &in) != nil {
				t.Fatalf("200 for a body that is not a valid JSON object: %q", body)
			}
			srv.recs.mu.Lock()
			gotID, gotSec := srv.recs.lastID, srv.recs.lastSec
			srv.recs.mu.Unlock()
			if gotID != in["id"] || gotSec != in["secret"] {
				t.Fatalf("records got id %q secret %q; body had %q %q", gotID, gotSec, in["id"], in["secret"])
			}
		case rec.Code >= 400 && rec.Code < 500:
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
			}
			var in struct{ Secret any }
			if json.Unmarshal(body, &in) == nil {
				if s, ok := in.Secret.(string); ok && len(s) >= 8 && strings.Contains(rec.Body.String(), s) {
					t.Fatalf("status %d echoes the secret: %s", rec.Code, rec.Body)
				}
			}
			if bytes.Contains(body, []byte("leakme-1234")) && strings.Contains(rec.Body.String(), "leakme-1234") {
				t.Fatalf("status %d echoes part of the body: %s", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzRequestHost checks that the redirect never builds a Location on
// another scheme, path or user than the Host header's own host name.
func FuzzRequestHost(f *testing.F) {
	for _, s := range []string{"localhost", "127.0.0.1:8080", "[::1]:80", "[::1]", "a:b:c", "evil.com/x", "u@h", "h:80:80", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hostport string) {
		host := requestHost(hostport)
		if host == "" {
			return
		}
		u, err := url.Parse("https://" + net.JoinHostPort(host, "8443") + "/p")
		if err != nil {
			t.Fatalf("host %q from %q makes an unparsable URL: %v", host, hostport, err)
		}
		if u.Hostname() != host || u.Port() != "8443" || u.Path != "/p" || u.User != nil {
			t.Fatalf("host %q from %q makes %q", host, hostport, u)
		}
	})
}
