package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// brokenBody is a request body that fails part way, as net/http's reader
// of a malformed chunked body does.
type brokenBody struct {
	data io.Reader
	err  error
}

func (b *brokenBody) Read(p []byte) (int, error) {
	n, err := b.data.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// A body that cannot be read is the client's fault: 400 (408 when it
// stalled), never huma's 500, on /v1 (problem+json) and on the reference
// routes (FastAPI's shape); nothing reaches the records layer.
func TestUnreadableBody(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, 1000)
	for _, c := range []struct {
		what, method, path string
		err                error
		status             int
	}{
		{"bad chunk, reference", http.MethodPost, "/items/", errors.New("invalid byte in chunk length"), http.StatusBadRequest},
		{"cut short, reference", http.MethodPost, "/items/", io.ErrUnexpectedEOF, http.StatusBadRequest},
		{"bad chunk, /v1", http.MethodPut, "/v1/collections/c/records/r", errors.New("invalid byte in chunk length"), http.StatusBadRequest},
		{"bad chunk, tokens", http.MethodPost, "/v1/tokens", errors.New("invalid byte in chunk length"), http.StatusBadRequest},
		{"stalled, /v1", http.MethodPut, "/v1/collections/c/records/r", timeoutErr{}, http.StatusRequestTimeout},
	} {
		body := &brokenBody{data: strings.NewReader(`{"id":"a","secret":"s3cret`), err: c.err}
		req := httptest.NewRequest(c.method, c.path, body)
		req.ContentLength = -1 // chunked
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.secrets["admin"])
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		if strings.HasPrefix(c.path, "/items/") {
			wantDetail(t, rec, c.status)
		} else {
			wantProblem(t, rec, c.status)
		}
		if strings.Contains(rec.Body.String(), "s3cret") {
			t.Errorf("%s: the answer quotes the body: %s", c.what, rec.Body)
		}
		if s.recs.lastID != "" {
			t.Fatalf("%s: reached Records", c.what)
		}
	}
	// A chunked body that reads well is taken, and one over the limit is
	// still 413.
	req := httptest.NewRequest(http.MethodPost, "/items/", io.MultiReader(strings.NewReader(`{"id":"a","secret":"b"}`)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+s.secrets["write"])
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || s.recs.lastSec != "b" {
		t.Errorf("a chunked body: %d %s", rec.Code, rec.Body)
	}
	big := strings.NewReader(`{"id":"a","secret":"` + strings.Repeat("x", DefaultMaxBody) + `"}`)
	req = httptest.NewRequest(http.MethodPost, "/items/", io.MultiReader(big))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+s.secrets["write"])
	rec = httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	wantDetail(t, rec, http.StatusRequestEntityTooLarge)
}
