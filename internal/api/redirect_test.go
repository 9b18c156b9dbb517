package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// trapBody fails the test if the handler reads the request body.
type trapBody struct {
	t      *testing.T
	read   bool
	closed bool
}

func (b *trapBody) Read([]byte) (int, error) {
	b.t.Errorf("the request body was read")
	b.read = true
	return 0, io.EOF
}

func (b *trapBody) Close() error { b.closed = true; return nil }

type problemBody struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder) problemBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problemBody
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body.String(), err)
	}
	if p.Status != rec.Code {
		t.Fatalf("problem status %d, response status %d", p.Status, rec.Code)
	}
	return p
}

// testCerts is a certificate source covering names (DNS names and IP
// addresses).
func testCerts(t *testing.T, names ...string) *CertSource {
	t.Helper()
	certFile, keyFile := writeCertFor(t, t.TempDir(), "test", names...)
	c, err := LoadCert(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testRedirect is the redirect to port 8443 of a server whose certificate
// covers example.com, 192.0.2.7, 2001:db8::1 and ::1, listening on every
// address.
func testRedirect(t *testing.T, log *slog.Logger) http.Handler {
	t.Helper()
	return Redirect(RedirectConfig{Port: "8443", Listen: ":8443", Certs: testCerts(t, "example.com", "192.0.2.7", "2001:db8::1", "::1"), Log: log})
}

func TestRedirectGetHead(t *testing.T) {
	t.Parallel()
	cases := []struct {
		host, target, want string
	}{
		{"example.com", "/items/abc?x=1&y=2", "https://example.com:8443/items/abc?x=1&y=2"},
		{"example.com:8080", "/items/abc", "https://example.com:8443/items/abc"},
		{"example.com:80", "/", "https://example.com:8443/"},
		{"192.0.2.7:80", "/healthz", "https://192.0.2.7:8443/healthz"},
		{"[2001:db8::1]:80", "/a?b", "https://[2001:db8::1]:8443/a?b"},
		{"example.com", "/items/a%2Fb?q=%20x", "https://example.com:8443/items/a%2Fb?q=%20x"},
		{"example.com", "/items/%C3%A9", "https://example.com:8443/items/%C3%A9"},
		{"example.com", "/items/", "https://example.com:8443/items/"},
	}
	h := testRedirect(t, nil)
	for _, c := range cases {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			req := httptest.NewRequest(m, "http://placeholder"+c.target, nil)
			req.Host = c.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusPermanentRedirect {
				t.Errorf("%s %s%s: status %d, want 308", m, c.host, c.target, rec.Code)
				continue
			}
			loc := rec.Header().Get("Location")
			if loc != c.want {
				t.Errorf("%s %s%s: Location %q, want %q", m, c.host, c.target, loc, c.want)
			}
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "https" || u.Port() != "8443" {
				t.Errorf("Location %q is not an https URL on port 8443 (%v)", loc, err)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("%s: Cache-Control %q", m, rec.Header().Get("Cache-Control"))
			}
		}
	}
}

func TestRedirectOtherPort(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "http://example.com:8080/x?y=1", nil)
	rec := httptest.NewRecorder()
	Redirect(RedirectConfig{Port: "443", Certs: testCerts(t, "example.com")}).ServeHTTP(rec, req)
	if got := rec.Header().Get("Location"); got != "https://example.com:443/x?y=1" {
		t.Fatalf("Location %q", got)
	}
}

// requestHost falls back to the whole Host header when it has no port. A
// bracketed IPv6 literal without a port is a valid Host (RFC 9110
// uri-host): the redirect must keep one pair of brackets, not wrap it in a
// second. A Host that is neither host nor host:port (several colons, no
// brackets) is not a plausible host and must get the 400.
func TestRedirectHostWithoutPort(t *testing.T) {
	t.Parallel()
	h := testRedirect(t, nil)
	redirect := func(host string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "http://placeholder/items/a", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for host, want := range map[string]string{
		"[2001:db8::1]": "https://[2001:db8::1]:8443/items/a",
		"[::1]":         "https://[::1]:8443/items/a",
		"example.com":   "https://example.com:8443/items/a",
	} {
		rec := redirect(host)
		if got := rec.Header().Get("Location"); rec.Code != http.StatusPermanentRedirect || got != want {
			t.Errorf("Host %q: status %d, Location %q; want 308 to %q", host, rec.Code, got, want)
		}
	}
	for _, host := range []string{"a:b:c", "example.com:80:80", "[::1]:80:80"} {
		if rec := redirect(host); rec.Code != http.StatusBadRequest {
			t.Errorf("Host %q: status %d, Location %q; want 400", host, rec.Code, rec.Header().Get("Location"))
		}
	}
}

func TestRedirectRefusesOtherMethodsWithoutReadingBody(t *testing.T) {
	t.Parallel()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "PROPFIND"} {
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			body := &trapBody{t: t}
			req := httptest.NewRequest(m, "http://example.com:8080/items/", nil)
			req.Body = body
			req.ContentLength = 1 << 20
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			testRedirect(t, nil).ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			p := decodeProblem(t, rec)
			if !strings.Contains(p.Detail, "https://example.com:8443") {
				t.Errorf("detail %q does not name the HTTPS address", p.Detail)
			}
			if rec.Header().Get("Location") != "" {
				t.Errorf("a %s got a Location header: %q", m, rec.Header().Get("Location"))
			}
			if rec.Header().Get("Connection") != "close" {
				t.Errorf("Connection %q, want close", rec.Header().Get("Connection"))
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
			}
			if body.read {
				t.Error("body was read")
			}
		})
	}
}

// Over a real connection: a POST with a body gets the 400 and the
// connection is closed, and the handler never reads the body.
func TestRedirectServerPost(t *testing.T) {
	t.Parallel()
	inner := testRedirect(t, nil)
	var bodyRead bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &readSpy{ReadCloser: r.Body, read: &bodyRead}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/items/", "application/json", strings.NewReader(`{"id":"a","secret":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if !resp.Close {
		t.Error("the server did not close the connection")
	}
	if bodyRead {
		t.Error("the handler read the request body")
	}
}

type readSpy struct {
	io.ReadCloser
	read *bool
}

func (r *readSpy) Read(p []byte) (int, error) {
	*r.read = true
	return r.ReadCloser.Read(p)
}

func TestRedirectBadHost(t *testing.T) {
	t.Parallel()
	hosts := []string{
		"", ":80", "a/b", "a\\b", "user@example.com", "example.com?x", "example.com#x",
		"exa%6dple.com", "a b", strings.Repeat("a", 254), "[::1]/x:80",
	}
	h := testRedirect(t, nil)
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		for _, host := range hosts {
			req := httptest.NewRequest(m, "http://placeholder/items/x", nil)
			req.Host = host
			req.Body = &trapBody{t: t}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest {
				t.Errorf("%s Host %.30q: status %d (Location %q), want 400", m, host, rec.Code, rec.Header().Get("Location"))
				continue
			}
			p := decodeProblem(t, rec)
			if !strings.Contains(p.Detail, "https://example.com:8443") {
				t.Errorf("Host %.30q: detail %q, want it to point at the certificate's name", host, p.Detail)
			}
			if host != "" && strings.Contains(p.Detail, host) {
				t.Errorf("detail echoes the bad host: %q", p.Detail)
			}
		}
	}
	// The longest allowed name still redirects, to itself when it is the
	// --listen host.
	long := strings.Repeat("a", 253)
	req := httptest.NewRequest(http.MethodGet, "http://placeholder/", nil)
	req.Host = long
	rec := httptest.NewRecorder()
	Redirect(RedirectConfig{Port: "8443", Listen: long + ":8443"}).ServeHTTP(rec, req)
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://"+long+":8443/" {
		t.Fatalf("253-byte host: status %d, Location %q; want 308 to it", rec.Code, rec.Header().Get("Location"))
	}
}

// TestRedirectLogsRefusedRequests checks that a request refused on the
// plain-HTTP port leaves a warning naming the method and client, and
// nothing of its path or body.
func TestRedirectLogsRefusedRequests(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	req := httptest.NewRequest(http.MethodPost, "http://localhost/items/secret-id-7", strings.NewReader(`{"secret":"body-canary-7"}`))
	req.RemoteAddr = "192.0.2.9:5555"
	rec := httptest.NewRecorder()
	testRedirect(t, log).ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d", rec.Code)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line["level"] != "WARN" || line["method"] != "POST" || line["remote"] != "192.0.2.9" {
		t.Fatalf("log line %v", line)
	}
	for _, leak := range []string{"secret-id-7", "body-canary-7"} {
		if strings.Contains(buf.String(), leak) {
			t.Fatalf("log holds %q: %s", leak, buf.String())
		}
	}
	buf.Reset()
	testRedirect(t, log).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://localhost/healthz", nil))
	if buf.Len() != 0 {
		t.Fatalf("a redirected GET was logged as refused: %s", buf.String())
	}
}

// The redirect names only hosts the certificate covers or the --listen
// host: a Host header is the client's (or an attacker's, through a link
// or a poisoned cache) to choose, and "Host: evil.example" must not send
// the client to https://evil.example. Any other host gets the default:
// the --listen host, else the certificate's first DNS name, else
// localhost.
func TestRedirectHostMustBeOurs(t *testing.T) {
	t.Parallel()
	certs := testCerts(t, "vault.example.com", "*.svc.example.com", "198.51.100.4")
	for _, c := range []struct {
		what, listen, host, want string
		certs                    *CertSource
	}{
		{"a name the certificate covers", ":8443", "vault.example.com", "vault.example.com", certs},
		{"in another case", ":8443", "VAULT.example.com:80", "VAULT.example.com", certs},
		{"under a wildcard", ":8443", "api.svc.example.com", "api.svc.example.com", certs},
		{"an IP address it covers", ":8443", "198.51.100.4:80", "198.51.100.4", certs},
		{"the listen host", "10.0.0.5:8443", "10.0.0.5", "10.0.0.5", certs},
		{"an attacker's", ":8443", "evil.example", "vault.example.com", certs},
		{"an attacker's, listening on a host", "10.0.0.5:8443", "evil.example:80", "10.0.0.5", certs},
		{"below a wildcard's one label", ":8443", "a.b.svc.example.com", "vault.example.com", certs},
		{"a suffix trick", ":8443", "vault.example.com.evil.example", "vault.example.com", certs},
		{"an IP address it does not cover", "[::]:8443", "203.0.113.9", "vault.example.com", certs},
		{"no certificate, no listen host", ":8443", "evil.example", "localhost", nil},
		{"the self-signed default", "127.0.0.1:8443", "evil.example", "127.0.0.1", testCerts(t, "localhost", "127.0.0.1")},
		{"the self-signed default, by name", "127.0.0.1:8443", "localhost:8080", "localhost", testCerts(t, "localhost", "127.0.0.1")},
	} {
		h := Redirect(RedirectConfig{Port: "8443", Listen: c.listen, Certs: c.certs})
		req := httptest.NewRequest(http.MethodGet, "http://placeholder/items/a?b=1", nil)
		req.Host = c.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := "https://" + net.JoinHostPort(c.want, "8443") + "/items/a?b=1"
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != want {
			t.Errorf("%s (Host %s): %d, Location %q; want 308 to %s", c.what, c.host, rec.Code, rec.Header().Get("Location"), want)
		}
		// A refused method is told the same address.
		req = httptest.NewRequest(http.MethodPost, "http://placeholder/items/", strings.NewReader("{}"))
		req.Host = c.host
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if p := decodeProblem(t, rec); !strings.Contains(p.Detail, "https://"+net.JoinHostPort(c.want, "8443")) {
			t.Errorf("%s: POST detail %q; want it to name https://%s", c.what, p.Detail, net.JoinHostPort(c.want, "8443"))
		}
	}
}
