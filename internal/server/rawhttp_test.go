package server_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawCase is a request written byte for byte and the answer documented
// for it in docs/API.md (Errors).
type rawCase struct {
	name, req   string
	status      int
	contentType string
	body        string // the whole body, or "" for any JSON error
	handled     bool   // answered by the service: security headers, X-Request-Id
}

func rawCases(token string) []rawCase {
	const item = `{"id":"chunked","secret":"s"}`
	field := func(n int) string { return "X-Big: " + strings.Repeat("a", n) + "\r\n" }
	const plain = "text/plain; charset=utf-8"
	return []rawCase{
		{"header fields under 64 KiB", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\n" + field(60<<10) + "\r\n",
			401, "application/problem+json", "", true},
		{"header fields over 64 KiB", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\n" + field(100<<10) + "\r\n",
			431, "application/problem+json", "", true},
		{"header fields over 64 KiB, reference route", "GET /items/x HTTP/1.1\r\nHost: localhost\r\n" + field(100<<10) + "\r\n",
			431, "application/json", "", true},
		{"header fields over 260 KiB", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\n" + field(300<<10) + "\r\n",
			431, plain, "431 Request Header Fields Too Large", false},
		{"two different Content-Length", "POST /v1/collections HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
			400, plain, "400 Bad Request", false},
		{"negative Content-Length", "POST /v1/collections HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
			400, plain, "400 Bad Request", false},
		{"non-numeric Content-Length", "POST /v1/collections HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1x\r\n\r\n",
			400, plain, "400 Bad Request", false},
		{"chunked with a Content-Length is read as chunked", "POST /items/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token +
			"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(item), item), 200, "application/json", `{"status":"stored"}` + "\n", true},
		{"malformed request line", "GARBAGE\r\n\r\n", 400, plain, "400 Bad Request", false},
		{"request line without a version", "GET /v1/collections\r\n\r\n", 400, plain, "400 Bad Request", false},
		{"unsupported version", "GET /v1/collections HTTP/2.0\r\nHost: localhost\r\n\r\n",
			505, plain, "505 HTTP Version Not Supported: unsupported protocol version", false},
		{"Transfer-Encoding gzip", "POST /v1/collections HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
			501, plain, "Unsupported transfer encoding", false},
		{"Transfer-Encoding identity", "POST /v1/collections HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\n\r\n",
			501, plain, "Unsupported transfer encoding", false},
		{"TE gzip is ignored", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\nTE: gzip\r\n\r\n",
			401, "application/problem+json", "", true},
		{"malformed Host", "GET /v1/collections HTTP/1.1\r\nHost: a b\r\n\r\n",
			400, plain, "400 Bad Request: malformed Host header", false},
		{"no Host", "GET /v1/collections HTTP/1.1\r\n\r\n",
			400, plain, "400 Bad Request: missing required Host header", false},
		{"two Host", "GET /v1/collections HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, plain, "400 Bad Request", false},
		{"invalid header name", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\nBad Name: v\r\n\r\n",
			400, plain, "400 Bad Request: invalid header name", false},
		{"Expect other than 100-continue", "GET /v1/collections HTTP/1.1\r\nHost: localhost\r\nExpect: x\r\n\r\n",
			417, "", "", false},
	}
}

// Requests that Go's HTTP server refuses before any handler runs are
// answered as docs/API.md says: as text/plain (net/http's words, no
// security headers), but for header fields over 64 KiB (and up to
// net/http's own limit), which the service answers in the route's error
// shape. Each is written raw over TLS.
func TestRawHTTPErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	pool := certPool(t, s.dataDir)
	for _, c := range rawCases(s.tokens[tokRW]) {
		resp, body := rawRequest(t, s.httpsAddr, pool, c.req)
		if resp == nil {
			t.Errorf("%s: no answer", c.name)
			continue
		}
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%s: %d %q; want %d %q", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.contentType)
		}
		if handled := resp.Header.Get("X-Request-Id") != ""; handled != c.handled {
			t.Errorf("%s: X-Request-Id %q; want one only if the service answered (%v)", c.name, resp.Header.Get("X-Request-Id"), c.handled)
		}
		if c.body == "" && c.contentType != "" {
			checkJSONError(t, c.name, body, c.status)
		} else if string(body) != c.body {
			t.Errorf("%s: body %q; want %q", c.name, body, c.body)
		}
	}
}

// checkJSONError checks a problem+json ("status") or FastAPI ("detail")
// body.
func checkJSONError(t *testing.T, what string, body []byte, status int) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Detail == "" || p.Status != 0 && p.Status != status {
		t.Errorf("%s: body %q (%v); want a JSON error with a detail", what, body, err)
	}
}

// rawRequest writes req over a new TLS connection (HTTP/1.1) and reads
// one response. The write runs on its own: the server may answer, and
// close, before it has read all of it.
func rawRequest(t *testing.T, addr string, pool *x509.CertPool, req string) (*http.Response, []byte) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = io.WriteString(c, req) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Logf("read the answer: %v", err)
		return nil, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
