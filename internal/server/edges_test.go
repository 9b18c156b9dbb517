package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
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
