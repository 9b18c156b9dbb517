package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/records"
)

// fakeKeysServer answers every request with status, the headers and the
// problem+json body given.
func fakeKeysServer(t *testing.T, status int, header map[string]string, body string) (addr, fingerprint string) {
	t.Helper()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	fp := sha256.Sum256(ts.Certificate().Raw)
	return ts.URL, hex.EncodeToString(fp[:])
}

// runKeys runs "sealstore keys ARGS..." in this process against addr.
func runKeys(t *testing.T, addr, fp string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(append([]string{"keys"}, args...), "--addr", addr, "--fingerprint", fp)
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// The keys commands print the Retry-After the server sent, in seconds.
func TestKeysPrintRetryAfter(t *testing.T) {
	t.Setenv("SEALSTORE_TOKEN", "sst_test")
	for _, c := range []struct {
		status int
		header string
		want   string
	}{
		{http.StatusTooManyRequests, "42", "retry after 42 s"},
		{http.StatusServiceUnavailable, "5", "retry after 5 s"},
	} {
		addr, fp := fakeKeysServer(t, c.status, map[string]string{"Retry-After": c.header},
			fmt.Sprintf(`{"title":%q,"status":%d,"detail":"busy"}`, http.StatusText(c.status), c.status))
		for _, cmd := range [][]string{{"status", "c"}, {"rotate", "c"}, {"rewrap", "c"}, {"shred", "c", "--confirm", "c"}} {
			_, stderr, code := runKeys(t, addr, fp, cmd...)
			if code != exitFail || !strings.Contains(stderr, c.want) {
				t.Errorf("keys %s against a %d with Retry-After %s: exit %d, stderr %q; want 1 and %q", cmd[0], c.status, c.header, code, stderr, c.want)
			}
		}
	}
	addr, fp := fakeKeysServer(t, http.StatusServiceUnavailable, nil, `{"detail":"down"}`)
	if _, stderr, _ := runKeys(t, addr, fp, "status", "c"); strings.Contains(stderr, "retry after") {
		t.Errorf("no Retry-After, yet stderr %q says when to retry", stderr)
	}
}

// An invalid input is named by the flag it was typed with, not by where
// the server (or, standalone, the records layer) reads it.
func TestKeysErrorsNameFlags(t *testing.T) {
	t.Setenv("SEALSTORE_TOKEN", "sst_test")
	for _, c := range []struct {
		field, reason string
		cmd           []string
		want          string
	}{
		{"query.confirm", "must repeat the collection's name", []string{"shred", "c", "--confirm", "d"}, "--confirm must repeat the collection's name"},
		{"body.minDecryptableVersion", "must be at most the active version (2)", []string{"retire", "c", "--min-version", "3"}, "--min-version must be at most the active version (2)"},
		{"body.rotationPeriod", "must be at least 1h0m0s", []string{"schedule", "c", "--every", "10m"}, "--every must be at least 1h0m0s"},
		{"body.maxRate", "must be 0 (no limit) to 100000 records per second", []string{"rewrap", "c", "--max-rate", "200000"}, "--max-rate must be 0"},
	} {
		body := fmt.Sprintf(`{"status":422,"detail":"%s %s","errors":[{"location":%q,"message":%q}]}`, c.field, c.reason, c.field, c.reason)
		addr, fp := fakeKeysServer(t, http.StatusUnprocessableEntity, nil, body)
		_, stderr, code := runKeys(t, addr, fp, c.cmd...)
		if code != exitFail || !strings.Contains(stderr, "422 Unprocessable Entity: "+c.want) || strings.Contains(stderr, c.field) {
			t.Errorf("keys %s: exit %d, stderr %q; want 1 and %q, not %q", c.cmd[0], code, stderr, c.want, c.field)
		}
	}
	// Standalone, the records layer's error is named the same way.
	if got := describe(&records.InvalidError{Field: "query.confirm", Reason: "must repeat the collection's name"}); got != "--confirm must repeat the collection's name" {
		t.Errorf("describe(a local query.confirm error) = %q", got)
	}
	// A location no flag stands for is left as the server put it.
	addr, fp := fakeKeysServer(t, http.StatusUnprocessableEntity, nil, `{"detail":"path.name is odd","errors":[{"location":"path.name","message":"is odd"}]}`)
	if _, stderr, _ := runKeys(t, addr, fp, "status", "c"); !strings.Contains(stderr, "path.name is odd") {
		t.Errorf("an unmapped location: stderr %q", stderr)
	}
}
