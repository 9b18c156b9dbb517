package cliclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"1e3", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(c.h, now); got != c.want {
			t.Errorf("retryAfter(%q) = %v; want %v", c.h, got, c.want)
		}
	}
}

// An error answer becomes a *StatusError with the problem's detail, the
// location and message of its first error, and the Retry-After.
func TestStatusError(t *testing.T) {
	t.Parallel()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"title":"Service Unavailable","status":503,"detail":"retry later"}`))
		case "/bad":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"status":422,"detail":"query.confirm must repeat the collection's name","errors":[{"location":"query.confirm","message":"must repeat the collection's name"}]}`))
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer ts.Close()
	fp := sha256.Sum256(ts.Certificate().Raw)
	c, err := New(Settings{Addr: ts.URL, Token: "t", Fingerprint: hex.EncodeToString(fp[:])})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []StatusError{
		{Status: 503, Detail: "retry later", RetryAfter: 7 * time.Second},
		{Status: 422, Detail: "query.confirm must repeat the collection's name", Field: "query.confirm", Reason: "must repeat the collection's name"},
		{Status: 418, Detail: "I'm a teapot"},
	} {
		path := map[int]string{503: "/busy", 422: "/bad", 418: "/other"}[w.Status]
		err := c.Do(context.Background(), http.MethodGet, path, nil, nil)
		var se *StatusError
		if !errors.As(err, &se) || *se != w {
			t.Errorf("GET %s: %#v; want %#v", path, err, &w)
		}
	}
}
