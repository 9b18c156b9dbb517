package server_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/api"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
)

// 1. Store, read, replace; 404; security headers on 200, 404, 401, 405.
func TestStoreReadReplace(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{})
	tok := s.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("no bootstrap admin token printed on first start; Out:\n%s", s.out.String())
	}

	r := s.post(tok, "alpha", "first secret")
	if r.status != http.StatusOK {
		t.Fatalf("POST /items/: %d %s; want 200", r.status, r.body)
	}
	checkSecurityHeaders(t, "200 POST", r.header)
	var stored map[string]any
	if err := json.Unmarshal(r.body, &stored); err != nil {
		t.Fatalf("POST body %q: %v", r.body, err)
	}
	if len(stored) != 1 || stored["status"] != "stored" {
		t.Errorf("POST body %s; want exactly {\"status\":\"stored\"}", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("POST Content-Type %q; want application/json", ct)
	}

	r = s.get(tok, "alpha")
	if r.status != http.StatusOK {
		t.Fatalf("GET /items/alpha: %d %s; want 200", r.status, r.body)
	}
	checkSecurityHeaders(t, "200 GET", r.header)
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("GET body %q: %v", r.body, err)
	}
	if len(got) != 2 || got["item_id"] != "alpha" || got["secret"] != "first secret" {
		t.Errorf("GET body %s; want exactly {\"item_id\":\"alpha\",\"secret\":\"first secret\"}", r.body)
	}

	// A second POST replaces.
	s.mustStore(tok, "alpha", "second secret")
	s.mustRead(tok, "alpha", "second secret")
	// Other ids are independent.
	s.mustStore(tok, "beta", "")
	s.mustRead(tok, "beta", "")
	s.mustRead(tok, "alpha", "second secret")
	// Unicode round-trips.
	s.mustStore(tok, "ünï/cødé id", "sécret ✓ \u2028 \"quoted\" \\ back")
	s.mustRead(tok, "ünï/cødé id", "sécret ✓ \u2028 \"quoted\" \\ back")

	r = s.get(tok, "missing")
	p := checkProblem(t, "GET unknown id", r, http.StatusNotFound)
	if p.Detail != "not found" {
		t.Errorf("GET unknown id: detail %q; want \"not found\"", p.Detail)
	}
	checkSecurityHeaders(t, "404", r.header)

	r = s.get("", "alpha")
	checkProblem(t, "GET without token", r, http.StatusUnauthorized)
	checkSecurityHeaders(t, "401", r.header)
	if strings.Contains(string(r.body), "second secret") {
		t.Errorf("401 body holds the secret: %s", r.body)
	}

	r = s.do(http.MethodDelete, "/items/alpha", tok, nil, nil)
	checkProblem(t, "DELETE /items/alpha", r, http.StatusMethodNotAllowed)
	checkSecurityHeaders(t, "405", r.header)
	s.mustRead(tok, "alpha", "second secret")

	r = s.do(http.MethodGet, "/healthz", "", nil, nil)
	checkSecurityHeaders(t, "200 healthz", r.header)
}

// 2. Authentication and authorization.
func TestAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	if s.tokens["bootstrap"] != "" || strings.Contains(s.out.String(), "sst_") {
		t.Errorf("a bootstrap token was printed for an existing database; Out:\n%s", s.out.String())
	}
	s.mustStore(s.tokens[tokAdmin], "x", "admin-wrote")
	s.mustRead(s.tokens[tokAdmin], "x", "admin-wrote")
	s.mustStore(s.tokens[tokRW], "x", "rw-wrote")
	s.mustRead(s.tokens[tokRW], "x", "rw-wrote")
	s.mustRead(s.tokens[tokReader], "x", "rw-wrote")
	s.mustStore(s.tokens[tokWriter], "y", "writer-wrote")

	unauth := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"basic scheme", "Basic dXNlcjpwYXNz"},
		{"token without scheme", s.tokens[tokAdmin]},
		{"bad token", "Bearer not-a-token"},
		{"random sst_ token", "Bearer sst_" + strings.Repeat("A", 43)},
		{"revoked-looking token", "Bearer " + "sst_" + randB64URL(32)},
		{"revoked token", "Bearer " + s.tokens[tokRevoked]},
		{"token with trailing junk", "Bearer " + s.tokens[tokAdmin] + "x"},
	}
	for _, c := range unauth {
		for _, req := range []struct{ method, path string }{{http.MethodGet, "/items/x"}, {http.MethodPost, "/items/"}} {
			var body []byte
			if req.method == http.MethodPost {
				body = []byte(`{"id":"x","secret":"unauthorized-write"}`)
			}
			h := map[string]string{}
			if c.header != "" {
				h["Authorization"] = c.header
			}
			r := s.do(req.method, req.path, "", body, h)
			what := req.method + " " + req.path + " " + c.name
			checkProblem(t, what, r, http.StatusUnauthorized)
			checkSecurityHeaders(t, what, r.header)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q; want a Bearer challenge", what, r.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(r.body), "rw-wrote") {
				t.Errorf("%s: body leaks the secret: %s", what, r.body)
			}
		}
	}

	forbidden := []struct {
		name, token, method, path string
	}{
		{"reader POST", tokReader, http.MethodPost, "/items/"},
		{"writer GET", tokWriter, http.MethodGet, "/items/x"},
		{"other collection GET", tokOther, http.MethodGet, "/items/x"},
		{"other collection POST", tokOther, http.MethodPost, "/items/"},
		{"reader metrics", tokReader, http.MethodGet, "/metrics"},
	}
	for _, c := range forbidden {
		var body []byte
		if c.method == http.MethodPost {
			body = []byte(`{"id":"x","secret":"forbidden-write"}`)
		}
		r := s.do(c.method, c.path, s.tokens[c.token], body, nil)
		checkProblem(t, c.name, r, http.StatusForbidden)
		checkSecurityHeaders(t, c.name, r.header)
		if strings.Contains(string(r.body), "rw-wrote") {
			t.Errorf("%s: body leaks the secret: %s", c.name, r.body)
		}
	}
	// Nothing refused was written.
	s.mustRead(s.tokens[tokAdmin], "x", "rw-wrote")

	r := s.do(http.MethodGet, "/healthz", "", nil, nil)
	if r.status != http.StatusOK {
		t.Errorf("GET /healthz without token: %d %s; want 200", r.status, r.body)
	}
	r = s.do(http.MethodGet, "/readyz", "", nil, nil)
	checkProblem(t, "GET /readyz without token", r, http.StatusUnauthorized)
	r = s.do(http.MethodGet, "/readyz", s.tokens[tokReader], nil, nil)
	if r.status != http.StatusOK {
		t.Errorf("GET /readyz with a token: %d %s; want 200", r.status, r.body)
	}
	r = s.do(http.MethodGet, "/metrics", s.tokens[tokAdmin], nil, nil)
	if r.status != http.StatusOK {
		t.Errorf("GET /metrics with admin token: %d; want 200", r.status)
	}
}

// 2b. Repeated failures from one address earn 429 with Retry-After for
// further failures; a valid token from it is still served.
func TestAuthRateLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	s := startServer(t, opts{seed: true, failureLimit: limit})
	s.mustStore(s.tokens[tokAdmin], "x", "v")
	bad := "sst_" + randB64URL(32)
	for i := range limit {
		r := s.get(bad, "x")
		checkProblem(t, fmt.Sprintf("failure %d", i+1), r, http.StatusUnauthorized)
	}
	for _, c := range []struct{ name, token string }{{"bad token", bad}, {"no token", ""}} {
		r := s.get(c.token, "x")
		what := "after " + strconv.Itoa(limit) + " failures, " + c.name
		checkProblem(t, what, r, http.StatusTooManyRequests)
		checkSecurityHeaders(t, what, r.header)
		ra, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || ra <= 0 {
			t.Errorf("%s: Retry-After %q; want a positive number of seconds", what, r.header.Get("Retry-After"))
		}
		if strings.Contains(string(r.body), `"v"`) {
			t.Errorf("%s: body leaks the secret: %s", what, r.body)
		}
	}
	if r := s.do(http.MethodGet, "/healthz", "", nil, nil); r.status != http.StatusOK {
		t.Errorf("GET /healthz while throttled: %d; want 200", r.status)
	}
	s.mustRead(s.tokens[tokAdmin], "x", "v")
}

// 3. Unsupported methods and unknown paths.
func TestMethodsAndRoutes(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	tok := s.tokens[tokAdmin]
	s.mustStore(tok, "x", "keep")
	cases := []struct {
		method, path string
		allow        []string
	}{
		{http.MethodDelete, "/items/x", []string{"GET"}},
		{http.MethodPut, "/items/x", []string{"GET"}},
		{http.MethodPatch, "/items/x", []string{"GET"}},
		{http.MethodPost, "/items/x", []string{"GET"}},
		{http.MethodDelete, "/items/", []string{"GET", "POST"}},
		{http.MethodPut, "/items/", []string{"GET", "POST"}},
		{http.MethodPost, "/healthz", []string{"GET"}},
	}
	for _, c := range cases {
		for _, token := range []string{tok, ""} {
			what := fmt.Sprintf("%s %s (token=%v)", c.method, c.path, token != "")
			r := s.do(c.method, c.path, token, []byte(`{"id":"x","secret":"overwrite"}`), nil)
			checkProblem(t, what, r, http.StatusMethodNotAllowed)
			checkSecurityHeaders(t, what, r.header)
			allow := strings.Split(r.header.Get("Allow"), ",")
			for i := range allow {
				allow[i] = strings.TrimSpace(allow[i])
			}
			for _, m := range c.allow {
				if !slices.Contains(allow, m) {
					t.Errorf("%s: Allow %q; want it to list %s", what, r.header.Get("Allow"), m)
				}
			}
			if slices.Contains(allow, c.method) {
				t.Errorf("%s: Allow %q lists the refused method", what, r.header.Get("Allow"))
			}
		}
	}
	s.mustRead(tok, "x", "keep")

	for _, path := range []string{"/nope", "/items", "/items/x/y", "/openapi.json/x", "/docs/x", "/schemas/x"} {
		for _, token := range []string{tok, ""} {
			what := fmt.Sprintf("GET %s (token=%v)", path, token != "")
			r := s.do(http.MethodGet, path, token, nil, nil)
			if path == "/items" && r.status >= 300 && r.status < 400 {
				// A redirect to /items/ is acceptable for the collection
				// path (the reference redirects too).
				if loc := r.header.Get("Location"); loc != "/items/" && loc != s.url("/items/") {
					t.Errorf("%s: %d to %q; want a redirect to /items/", what, r.status, loc)
				}
				checkSecurityHeaders(t, what, r.header)
				continue
			}
			checkProblem(t, what, r, http.StatusNotFound)
			checkSecurityHeaders(t, what, r.header)
		}
	}
}

// 4. Bodies over the limit get 413 and store nothing.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	tok := s.tokens[tokAdmin]
	big := func(id string) []byte {
		b, _ := json.Marshal(map[string]string{"id": id, "secret": strings.Repeat("A", api.DefaultMaxBody+1024)})
		return b
	}
	r := s.do(http.MethodPost, "/items/", tok, big("big"), nil)
	checkProblem(t, "POST over the limit", r, http.StatusRequestEntityTooLarge)
	checkSecurityHeaders(t, "413", r.header)
	if bytes.Contains(r.body, []byte("AAAAAAAA")) {
		t.Errorf("413 body echoes the secret: %.200s", r.body)
	}
	checkProblem(t, "GET after 413", s.get(tok, "big"), http.StatusNotFound)

	// Without a Content-Length (chunked) too.
	req, err := http.NewRequest(http.MethodPost, s.url("/items/"), io.MultiReader(bytes.NewReader(big("big-chunked"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("chunked POST: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	checkProblem(t, "chunked POST over the limit", resp{status: res.StatusCode, header: res.Header, body: body, path: "/items/"}, http.StatusRequestEntityTooLarge)
	checkProblem(t, "GET after chunked 413", s.get(tok, "big-chunked"), http.StatusNotFound)

	// An existing item is not replaced by an oversized POST.
	s.mustStore(tok, "kept", "small")
	checkProblem(t, "oversized replace", s.do(http.MethodPost, "/items/", tok, big("kept"), nil), http.StatusRequestEntityTooLarge)
	s.mustRead(tok, "kept", "small")

	// A body well under the limit works.
	s.mustStore(tok, "medium", strings.Repeat("m", 100<<10))
	s.mustRead(tok, "medium", strings.Repeat("m", 100<<10))
}

// 5. Malformed inputs: clear 4xx errors (FastAPI's, on these reference
// routes) that never echo the secret, and that never change a stored item.
func TestMalformedInputs(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	tok := s.tokens[tokAdmin]
	const keepID = "keep"
	s.mustStore(tok, keepID, "original")

	canary := "CANARY-" + randHex(16)
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unprocessable := []int{http.StatusBadRequest, http.StatusUnprocessableEntity}
	cases := []struct {
		name        string
		body        []byte
		contentType string
		want        []int
	}{
		// As FastAPI answers: 422 json_invalid; other media types are not
		// read as JSON, and are not a dictionary.
		{"invalid JSON", []byte(`{"id":"keep","secret":"` + canary), "", []int{http.StatusUnprocessableEntity}},
		{"invalid JSON 2", []byte(`{"id":"keep","secret":"` + canary + `",}`), "", []int{http.StatusUnprocessableEntity}},
		{"not JSON", []byte(canary), "", []int{http.StatusUnprocessableEntity}},
		{"empty body", []byte{}, "", unprocessable},
		{"JSON array", mustJSON([]string{keepID, canary}), "", unprocessable},
		{"JSON string", mustJSON(canary), "", unprocessable},
		{"JSON null", []byte("null"), "", unprocessable},
		{"missing id", mustJSON(map[string]string{"secret": canary}), "", unprocessable},
		{"missing secret", mustJSON(map[string]string{"id": keepID}), "", unprocessable},
		{"null secret", mustJSON(map[string]any{"id": keepID, "secret": nil}), "", unprocessable},
		{"non-string id", mustJSON(map[string]any{"id": 7, "secret": canary}), "", unprocessable},
		{"object id", mustJSON(map[string]any{"id": map[string]string{"c": canary}, "secret": canary}), "", unprocessable},
		{"number secret", mustJSON(map[string]any{"id": keepID, "secret": 12345}), "", unprocessable},
		{"object secret", mustJSON(map[string]any{"id": keepID, "secret": map[string]string{"c": canary}}), "", unprocessable},
		{"array secret", mustJSON(map[string]any{"id": keepID, "secret": []string{canary}}), "", unprocessable},
		{"bool secret", mustJSON(map[string]any{"id": keepID, "secret": true}), "", unprocessable},
		{"empty id", mustJSON(map[string]string{"id": "", "secret": canary}), "", unprocessable},
		{"id of 1025 bytes", mustJSON(map[string]string{"id": strings.Repeat("i", 1025), "secret": canary}), "", unprocessable},
		{"id of 1025 bytes multibyte", mustJSON(map[string]string{"id": strings.Repeat("é", 512) + "i", "secret": canary}), "", unprocessable},
		{"id with \\x01", mustJSON(map[string]string{"id": "ke\x01ep", "secret": canary}), "", unprocessable},
		{"id with \\x7f", mustJSON(map[string]string{"id": "ke\x7fep", "secret": canary}), "", unprocessable},
		{"id with \\n", mustJSON(map[string]string{"id": "keep\n", "secret": canary}), "", unprocessable},
		{"id with \\u0085", mustJSON(map[string]string{"id": "keep\u0085", "secret": canary}), "", unprocessable},
		{"text/plain", mustJSON(map[string]string{"id": keepID, "secret": canary}), "text/plain", []int{http.StatusUnprocessableEntity}},
		{"form", []byte("id=keep&secret=" + canary), "application/x-www-form-urlencoded", []int{http.StatusUnprocessableEntity}},
		{"escaped lone surrogate", []byte(`{"id":"keep","secret":"` + canary + `\ud800"}`), "", []int{http.StatusUnprocessableEntity}},
	}
	for _, c := range cases {
		h := map[string]string{}
		if c.contentType != "" {
			h["Content-Type"] = c.contentType
		}
		r := s.do(http.MethodPost, "/items/", tok, c.body, h)
		if !slices.Contains(c.want, r.status) {
			t.Errorf("%s: status %d (%s); want one of %v", c.name, r.status, r.body, c.want)
		}
		checkProblem(t, c.name, r, r.status)
		if r.status < 400 || r.status > 499 {
			t.Errorf("%s: status %d is not a 4xx", c.name, r.status)
		}
		checkSecurityHeaders(t, c.name, r.header)
		if bytes.Contains(r.body, []byte(canary)) {
			t.Errorf("%s: response body echoes the secret: %s", c.name, r.body)
		}
		// The stored item with the same id is untouched.
		s.mustRead(tok, keepID, "original")
	}

	// Reads of invalid ids are 4xx problems too.
	for _, path := range []string{"/items/%01", "/items/%7F", "/items/" + strings.Repeat("i", 1025), "/items/"} {
		r := s.do(http.MethodGet, path, tok, nil, nil)
		what := "GET " + path[:min(len(path), 20)]
		checkProblem(t, what, r, http.StatusUnprocessableEntity)
	}

	// The limits are inclusive: 1024 bytes is fine, as is JSON with a charset.
	id1024 := strings.Repeat("i", 1024)
	s.mustStore(tok, id1024, "ok")
	s.mustRead(tok, id1024, "ok")
	idMB := strings.Repeat("é", 512) // 1024 bytes
	s.mustStore(tok, idMB, "ok2")
	s.mustRead(tok, idMB, "ok2")
	r := s.do(http.MethodPost, "/items/", tok, mustJSON(map[string]string{"id": "cs", "secret": "v"}),
		map[string]string{"Content-Type": "application/json; charset=utf-8"})
	if r.status != http.StatusOK {
		t.Errorf("POST with Content-Type application/json; charset=utf-8: %d %s; want 200", r.status, r.body)
	}
	// Unknown extra fields are ignored, as the reference does.
	r = s.do(http.MethodPost, "/items/", tok, []byte(`{"id":"extra","secret":"v","other":1}`), nil)
	if r.status != http.StatusOK {
		t.Errorf("POST with an extra field: %d %s; want 200", r.status, r.body)
	}
	s.mustRead(tok, keepID, "original")
}

// 6. TLS versions and cipher suites.
func TestTLSPolicy(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	pool := certPool(t, s.dataDir)
	dial := func(cfg *tls.Config) (tls.ConnectionState, error) {
		cfg.RootCAs = pool
		cfg.ServerName = "127.0.0.1"
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", s.httpsAddr, cfg)
		if err != nil {
			return tls.ConnectionState{}, err
		}
		defer c.Close()
		return c.ConnectionState(), nil
	}
	refused := []struct {
		name string
		cfg  *tls.Config
	}{
		{"TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}},
		{"TLS 1.2 ECDHE-ECDSA-AES128-SHA (CBC)", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}},
		{"TLS 1.2 ECDHE-ECDSA-AES256-SHA (CBC)", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}},
		{"TLS 1.2 ECDHE-ECDSA-AES128-SHA256 (CBC)", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}},
	}
	for _, c := range refused {
		if st, err := dial(c.cfg); err == nil {
			t.Errorf("%s: handshake succeeded (version %s, suite %s); want it refused", c.name,
				tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
		}
	}
	accepted := []struct {
		name    string
		cfg     *tls.Config
		version uint16
		suite   uint16
	}{
		{"TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, tls.VersionTLS13, 0},
	}
	for _, c := range accepted {
		st, err := dial(c.cfg)
		if fips140.Enabled() && c.suite == tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
			// crypto/tls in FIPS 140 mode offers only approved suites.
			if err == nil {
				t.Errorf("%s: negotiated in FIPS 140 mode, which does not approve ChaCha20-Poly1305", c.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: handshake failed: %v", c.name, err)
			continue
		}
		if st.Version != c.version {
			t.Errorf("%s: negotiated %s", c.name, tls.VersionName(st.Version))
		}
		if c.suite != 0 && st.CipherSuite != c.suite {
			t.Errorf("%s: negotiated %s", c.name, tls.CipherSuiteName(st.CipherSuite))
		}
		if len(st.PeerCertificates) == 0 || st.PeerCertificates[0].PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("%s: the server certificate is not ECDSA", c.name)
		}
	}
	// The whole API works over a TLS 1.2-only client.
	c12 := s.newClient(func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 })
	r := s.doClient(c12, http.MethodPost, "/items/", s.tokens[tokAdmin], []byte(`{"id":"t12","secret":"v12"}`), nil)
	if r.status != http.StatusOK {
		t.Errorf("POST over TLS 1.2: %d %s", r.status, r.body)
	}
}

// 7. The plain-HTTP listener only redirects reads and refuses writes.
func TestHTTPListener(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	if s.httpAddr == "" {
		t.Fatal("no plain-HTTP address reported to OnListen")
	}
	_, httpsPort, _ := net.SplitHostPort(s.httpsAddr)
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := "http://" + s.httpAddr
	for _, c := range []struct{ method, path, want string }{
		{http.MethodGet, "/items/x", "https://127.0.0.1:" + httpsPort + "/items/x"},
		{http.MethodGet, "/items/x?a=1&b=two", "https://127.0.0.1:" + httpsPort + "/items/x?a=1&b=two"},
		{http.MethodHead, "/items/x?q=1", "https://127.0.0.1:" + httpsPort + "/items/x?q=1"},
		{http.MethodGet, "/healthz", "https://127.0.0.1:" + httpsPort + "/healthz"},
		{http.MethodGet, "/items/a%2Fb", "https://127.0.0.1:" + httpsPort + "/items/a%2Fb"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusPermanentRedirect {
			t.Errorf("%s http %s: status %d; want 308", c.method, c.path, res.StatusCode)
		}
		if loc := res.Header.Get("Location"); loc != c.want {
			t.Errorf("%s http %s: Location %q; want %q", c.method, c.path, loc, c.want)
		}
	}

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(method, base+"/items/", strings.NewReader(`{"id":"x","secret":"plain-http-secret"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s over plain HTTP: %v", method, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		p := checkProblem(t, method+" over plain HTTP", resp{status: res.StatusCode, header: res.Header, body: body}, http.StatusBadRequest)
		if !strings.Contains(strings.ToLower(p.Detail), "https") {
			t.Errorf("%s over plain HTTP: detail %q does not mention https", method, p.Detail)
		}
		if bytes.Contains(body, []byte("plain-http-secret")) {
			t.Errorf("%s over plain HTTP: body echoes the secret", method)
		}
	}
	// Nothing was stored by the plain-HTTP POSTs.
	checkProblem(t, "GET after plain-HTTP POST", s.get(s.tokens[tokAdmin], "x"), http.StatusNotFound)

	// A large POST is answered at once, without its body being read: the
	// client sends the headers and a fraction of a 100 MB body and never
	// the rest. (A server reading the body would answer, if at all, after
	// its 30 s read timeout: 10 s tells the two apart on a loaded machine.)
	for _, sent := range []int{0, 32 << 10} {
		conn, err := net.DialTimeout("tcp", s.httpAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		start := time.Now()
		fmt.Fprintf(conn, "POST /items/ HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", s.httpAddr, 100<<20)
		if sent > 0 {
			if _, err := conn.Write(append([]byte(`{"id":"big","secret":"`), bytes.Repeat([]byte("s"), sent)...)); err != nil {
				t.Fatalf("write partial body: %v", err)
			}
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			conn.Close()
			t.Fatalf("large POST over plain HTTP (%d body bytes sent): no response: %v", sent, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		conn.Close()
		checkProblem(t, "large POST over plain HTTP", resp{status: res.StatusCode, header: res.Header, body: body}, http.StatusBadRequest)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("large POST over plain HTTP answered after %v; want at once", d)
		}
		if !res.Close {
			t.Errorf("large POST over plain HTTP: connection not marked for close")
		}
	}
}

// 9. Concurrent writers and readers see their own secrets.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokRW]
	const workers, perWorker = 32, 50
	var wg sync.WaitGroup
	errs := make(chan string, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				id := fmt.Sprintf("w%02d-i%02d", w, i)
				secret := "secret-" + id + "-" + randHex(8)
				body, _ := json.Marshal(map[string]string{"id": id, "secret": secret})
				st, b, err := rawDo(s.client, http.MethodPost, s.url("/items/"), tok, body)
				if err != nil || st != http.StatusOK {
					errs <- fmt.Sprintf("POST %s: %d %s %v", id, st, b, err)
					continue
				}
				st, b, err = rawDo(s.client, http.MethodGet, s.url("/items/"+id), tok, nil)
				var got struct {
					ItemID string `json:"item_id"`
					Secret string `json:"secret"`
				}
				if err != nil || st != http.StatusOK || json.Unmarshal(b, &got) != nil || got.ItemID != id || got.Secret != secret {
					errs <- fmt.Sprintf("GET %s: %d %s %v; want secret %s", id, st, b, err, secret)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d round trips failed", n, workers*perWorker)
	}
}

// rawDo is a goroutine-safe request helper (no testing.T).
func rawDo(c *http.Client, method, url, token string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// 10. A reload picks up a replaced certificate for new connections, and
// keeps the old one if the new files are broken.
func TestReloadCertificate(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	oldPEM, err := os.ReadFile(filepath.Join(s.dataDir, datadir.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	oldFP := pemFingerprint(t, oldPEM)
	if got := serverFingerprint(t, s.httpsAddr); got != oldFP {
		t.Fatalf("server presents %s; the data directory's cert is %s", got, oldFP)
	}
	if !strings.Contains(s.out.String(), oldFP) {
		t.Errorf("the banner does not show the certificate fingerprint %s:\n%s", oldFP, s.out.String())
	}
	sendReload := func() {
		select {
		case s.reload <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not take the reload signal")
		}
	}

	// Broken files: the old certificate stays.
	certPath := filepath.Join(s.dataDir, datadir.CertFile)
	keyPath := filepath.Join(s.dataDir, datadir.KeyFile)
	if err := os.WriteFile(certPath, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	sendReload()
	sendReload() // the loop has finished the first reload once it takes the second
	if got := serverFingerprint(t, s.httpsAddr); got != oldFP {
		t.Errorf("after reloading a broken cert file the server presents %s; want the old %s", got, oldFP)
	}
	if r := s.do(http.MethodGet, "/healthz", "", nil, nil); r.status != http.StatusOK {
		t.Errorf("healthz after a failed reload: %d", r.status)
	}

	// A new certificate.
	certPEM, keyPEM := newSelfSigned(t)
	newFP := pemFingerprint(t, certPEM)
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	sendReload()
	deadline := time.Now().Add(10 * time.Second)
	got := serverFingerprint(t, s.httpsAddr)
	for got != newFP && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		got = serverFingerprint(t, s.httpsAddr)
	}
	if got != newFP {
		t.Fatalf("after reload the server presents %s; want the new %s (old %s)", got, newFP, oldFP)
	}
	// A client trusting only the new certificate works end to end.
	c := s.newClient(func(c *tls.Config) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(certPEM)
		c.RootCAs = pool
	})
	r := s.doClient(c, http.MethodPost, "/items/", s.tokens[tokAdmin], []byte(`{"id":"after-reload","secret":"v"}`), nil)
	if r.status != http.StatusOK {
		t.Errorf("POST with the new certificate: %d %s", r.status, r.body)
	}
	if !strings.Contains(s.log.String(), "reload") {
		t.Errorf("the reload was not logged")
	}
}

// serverFingerprint returns the fingerprint of the certificate a new
// connection sees.
func serverFingerprint(t testing.TB, addr string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	return datadir.Fingerprint(c.ConnectionState().PeerCertificates[0].Raw)
}

func pemFingerprint(t testing.TB, certPEM []byte) string {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return datadir.Fingerprint(b.Bytes)
}

// newSelfSigned returns a self-signed P-256 certificate for 127.0.0.1.
func newSelfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "sealstore test reload"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// 11. A graceful stop and a restart on the same data directory keep every
// item and the bootstrap token, which is printed only once.
func TestRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s1 := startServer(t, opts{dataDir: dir})
	tok := s1.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("no bootstrap token on first start; Out:\n%s", s1.out.String())
	}
	if n := strings.Count(s1.out.String(), tok); n != 1 {
		t.Errorf("the bootstrap token appears %d times in Out; want once", n)
	}
	const n = 200
	secrets := make([]string, n)
	for i := range n {
		secrets[i] = fmt.Sprintf("secret-%03d-%s", i, randHex(8))
		s1.mustStore(tok, fmt.Sprintf("item-%03d", i), secrets[i])
	}
	if err := s1.stop(); err != nil {
		t.Fatalf("first server.Run returned %v; want nil after a graceful stop", err)
	}
	if _, err := net.DialTimeout("tcp", s1.httpsAddr, time.Second); err == nil {
		t.Errorf("the first server still accepts connections after Run returned")
	}
	// The data directory can be opened again (the DB lock was released).
	s2 := startServer(t, opts{dataDir: dir})
	if strings.Contains(s2.out.String(), "bootstrap") || strings.Contains(s2.out.String(), "sst_") {
		t.Errorf("second start printed a token:\n%s", s2.out.String())
	}
	for i := range n {
		s2.mustRead(tok, fmt.Sprintf("item-%03d", i), secrets[i])
	}
	checkProblem(t, "GET unknown after restart", s2.get(tok, "item-999"), http.StatusNotFound)
	if backendFor(t, dir).Kind == server.KindDynamoDB {
		return // no root key file: the root key is in KMS
	}
	if fi, err := os.Stat(filepath.Join(dir, datadir.RootFile)); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("root key mode %v; want 0600", fi.Mode().Perm())
	}
}

// 12. One JSON log line per request, with the route pattern and the token's
// name, never the raw id.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	id := "logid-" + randHex(8)
	type sent struct {
		method, route, token string
		status               int
		reqID                string
	}
	var reqs []sent
	record := func(r resp, method, route, token string) {
		rid := r.header.Get("X-Request-Id")
		if rid == "" {
			t.Errorf("%s %s: no X-Request-Id header", method, route)
		}
		reqs = append(reqs, sent{method, route, token, r.status, rid})
	}
	body, _ := json.Marshal(map[string]string{"id": id, "secret": "log-secret-value"})
	record(s.do(http.MethodPost, "/items/", s.tokens[tokRW], body, nil), "POST", "/items/", tokRW)
	record(s.get(s.tokens[tokReader], id), "GET", "/items/{item_id}", tokReader)
	record(s.get(s.tokens[tokAdmin], id+"-missing"), "GET", "/items/{item_id}", tokAdmin)
	record(s.get("", id), "GET", "/items/{item_id}", "")
	record(s.get(s.tokens[tokOther], id), "GET", "/items/{item_id}", tokOther)
	record(s.do(http.MethodPost, "/items/", s.tokens[tokRW], []byte(`{"id":"`+id+`","secret":1}`), nil), "POST", "/items/", tokRW)
	record(s.do(http.MethodGet, "/healthz", "", nil, nil), "GET", "/healthz", "")
	record(s.do(http.MethodGet, "/readyz", s.tokens[tokAdmin], nil, nil), "GET", "/readyz", tokAdmin)
	record(s.do(http.MethodDelete, "/items/"+id, s.tokens[tokAdmin], nil, nil), "DELETE", "", "")
	record(s.do(http.MethodGet, "/nope/"+id, s.tokens[tokAdmin], nil, nil), "GET", "", "")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	log := s.log.Bytes()
	lines := logLines(t, log)
	byID := map[string][]logLine{}
	nReq := 0
	for _, l := range lines {
		if l["msg"] != "request" {
			continue
		}
		nReq++
		rid, _ := l["request_id"].(string)
		byID[rid] = append(byID[rid], l)
	}
	if nReq != len(reqs) {
		t.Errorf("%d request log lines for %d requests", nReq, len(reqs))
	}
	for _, r := range reqs {
		ls := byID[r.reqID]
		if len(ls) != 1 {
			t.Errorf("%s %s (%d): %d log lines with request_id %q; want 1", r.method, r.route, r.status, len(ls), r.reqID)
			continue
		}
		l := ls[0]
		for _, k := range []string{"method", "route", "status", "duration_ms", "request_id", "token"} {
			if _, ok := l[k]; !ok {
				t.Errorf("%s %s: log line lacks %q: %v", r.method, r.route, k, l)
			}
		}
		if l["method"] != r.method {
			t.Errorf("log method %v; want %s", l["method"], r.method)
		}
		route, _ := l["route"].(string)
		if r.route != "" && route != r.route {
			t.Errorf("%s %d: log route %q; want %q", r.method, r.status, route, r.route)
		}
		if strings.Contains(route, "logid") {
			t.Errorf("log route %q holds the raw id", route)
		}
		if st, _ := l["status"].(float64); int(st) != r.status {
			t.Errorf("%s %s: log status %v; want %d", r.method, r.route, l["status"], r.status)
		}
		if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("%s %s: duration_ms %v", r.method, r.route, l["duration_ms"])
		}
		if l["token"] != r.token {
			t.Errorf("%s %s (%d): log token %v; want %q", r.method, r.route, r.status, l["token"], r.token)
		}
	}
	if bytes.Contains(log, []byte(id)) {
		t.Errorf("the log holds the raw item id %s", id)
	}
	if bytes.Contains(log, []byte("log-secret-value")) {
		t.Errorf("the log holds a secret")
	}
	if bytes.Contains(log, []byte("sst_")) {
		t.Errorf("the log holds a token")
	}
}

// 5b. Ids (and secrets) that are not valid UTF-8 are refused, not silently
// rewritten: JSON decoding turns each invalid byte into U+FFFD, so two
// different ids would land on the same item.
func TestInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustStore(tok, "a\uFFFDb", "victim")
	for _, c := range []struct{ name, body string }{
		{"id with byte 0xff", "{\"id\":\"a\xffb\",\"secret\":\"attacker\"}"},
		{"id with byte 0xfe", "{\"id\":\"a\xfeb\",\"secret\":\"attacker\"}"},
		{"secret with byte 0xff", "{\"id\":\"a\uFFFDb\",\"secret\":\"x\xffy\"}"},
	} {
		r := s.do(http.MethodPost, "/items/", tok, []byte(c.body), nil)
		if r.status < 400 || r.status > 499 {
			t.Errorf("POST %s: status %d %s; want a 4xx (invalid UTF-8)", c.name, r.status, bytes.TrimSpace(r.body))
		} else {
			checkProblem(t, c.name, r, r.status)
		}
	}
	// The item whose id is the U+FFFD spelling is untouched.
	r := s.get(tok, "a\uFFFDb")
	if !bytes.Contains(r.body, []byte(`"victim"`)) {
		t.Errorf("item \"a\\uFFFDb\" was overwritten by a request for another id: %d %s", r.status, bytes.TrimSpace(r.body))
	}
}
