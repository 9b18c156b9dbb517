package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawTLS sends raw bytes to the server over TLS (HTTP/1.1) and reads one
// response.
func (s *srv) rawTLS(t *testing.T, request string) resp {
	t.Helper()
	conn, err := tls.Dial("tcp", s.httpsAddr, &tls.Config{RootCAs: certPool(t, s.dataDir), ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatalf("write: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// A malformed chunked body is the client's error (400), not the server's
// (it was a 500), on the reference routes and on /v1.
func TestMalformedChunkedBody(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	for _, path := range []string{"/items/", "/v1/tokens"} {
		r := s.rawTLS(t, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"5\r\n{\"id\"\r\nzz\r\n:\"x\"}\r\n0\r\n\r\n", path, tok))
		r.path = path
		p := checkProblem(t, "POST "+path+" with a malformed chunk", r, http.StatusBadRequest)
		if !strings.Contains(p.Detail, "chunked") {
			t.Errorf("POST %s: detail %q; want it to say the chunked body is malformed", path, p.Detail)
		}
	}
	checkProblem(t, "GET the item after", s.get(tok, "x"), http.StatusNotFound)
}

// A client's well-formed X-Request-Id names its request in the answer,
// the request log and the audit trail; a malformed one is replaced.
func TestRequestIDKept(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	const id = "client-req.0042"
	r := s.do(http.MethodPost, "/items/", adm, []byte(`{"id":"rid","secret":"x"}`), map[string]string{"X-Request-Id": id})
	if r.status != http.StatusOK || r.header.Get("X-Request-Id") != id {
		t.Fatalf("POST with X-Request-Id %s: %d, X-Request-Id %q", id, r.status, r.header.Get("X-Request-Id"))
	}
	bad := s.do(http.MethodGet, "/items/rid", adm, nil, map[string]string{"X-Request-Id": "evil id\u00e9"})
	if got := bad.header.Get("X-Request-Id"); got == "" || strings.Contains(got, "evil") {
		t.Errorf("a malformed X-Request-Id: answered %q; want a new id", got)
	}
	var page struct {
		Entries []struct {
			Action, RequestID string
		} `json:"entries"`
	}
	mustDecode(t, "GET /v1/audit", s.do(http.MethodGet, "/v1/audit?action=record.put&collection=items", adm, nil, nil), &page)
	if len(page.Entries) != 1 || page.Entries[0].RequestID != id {
		t.Errorf("audit entries %+v; want one record.put with requestId %s", page.Entries, id)
	}
	found := false
	for _, l := range logLines(t, s.log.Bytes()) {
		if l["request_id"] == id && l["route"] == "/items/" {
			found = true
		}
	}
	if !found {
		t.Errorf("no request log line names request id %s", id)
	}
}

// GET /v1/audit with an action or outcome no entry can have is a 422 that
// lists the allowed values (it was a 200 with nothing).
func TestAuditFilterValues(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	for _, c := range []struct{ query, field, lists string }{
		{"action=record.read", "query.action", "record.get, record.put"},
		{"action=RECORD.GET", "query.action", "token.revoke"},
		{"outcome=failed", "query.outcome", "ok, error, not_found"},
		{"outcome=OK", "query.outcome", "decrypt_failed"},
	} {
		p := checkProblem(t, "GET /v1/audit?"+c.query, s.do(http.MethodGet, "/v1/audit?"+c.query, adm, nil, nil), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, c.field) || !strings.Contains(p.Detail, c.lists) {
			t.Errorf("GET /v1/audit?%s: detail %q; want it to name %s and list %q", c.query, p.Detail, c.field, c.lists)
		}
	}
	for _, q := range []string{"action=record.get", "action=keys.rewrap.status", "outcome=ok", "outcome=decrypt_failed", "outcome=error"} {
		if r := s.do(http.MethodGet, "/v1/audit?"+q, adm, nil, nil); r.status != http.StatusOK {
			t.Errorf("GET /v1/audit?%s: %d %s", q, r.status, r.body)
		}
	}
}

// The plain-HTTP port's redirect names a host the certificate covers, or
// the --listen host, never whatever the Host header says (it sent
// "Host: evil.example" to https://evil.example:PORT).
func TestRedirectIgnoresForeignHost(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true})
	_, port, _ := net.SplitHostPort(s.httpsAddr)
	for _, c := range []struct{ host, want string }{
		{"evil.example", "https://127.0.0.1:" + port + "/items/x"},
		{"evil.example:80", "https://127.0.0.1:" + port + "/items/x"},
		{"localhost:80", "https://localhost:" + port + "/items/x"}, // the self-signed certificate covers it
		{"127.0.0.1", "https://127.0.0.1:" + port + "/items/x"},
	} {
		conn, err := net.DialTimeout("tcp", s.httpAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /items/x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", c.host)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("Host %s: %v", c.host, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != c.want {
			t.Errorf("GET with Host %s: %d to %q; want 308 to %s", c.host, res.StatusCode, res.Header.Get("Location"), c.want)
		}
	}
}

// The drain log line gives its timeout as a number of seconds, timeout_s
// (it was slog.Duration's nanoseconds under "timeout").
func TestDrainLogSeconds(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{noHTTP: true})
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	var drains []logLine
	for _, l := range logLines(t, s.log.Bytes()) {
		if l["msg"] == "draining" {
			drains = append(drains, l)
		}
	}
	if len(drains) != 1 {
		t.Fatalf("%d draining log lines; want 1", len(drains))
	}
	if got, ok := drains[0]["timeout_s"].(float64); !ok || got != 5 {
		t.Errorf("draining line %v: timeout_s %v; want the number 5 (the drain timeout in seconds)", drains[0], drains[0]["timeout_s"])
	}
	if _, ok := drains[0]["timeout"]; ok {
		t.Errorf("draining line %v still has the nanosecond timeout", drains[0])
	}
}
