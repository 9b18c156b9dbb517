package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/store/bolt"
)

// fixedRecords answers at once, so the benchmarks measure the HTTP layer.
type fixedRecords struct {
	Records // the /v1 methods: unused here
	secret  string
}

func (f fixedRecords) PutSecret(context.Context, string, string) (string, error) { return `"e"`, nil }
func (f fixedRecords) GetSecret(context.Context, string) (string, error) {
	return f.secret, nil
}
func (f fixedRecords) Ready(context.Context) error { return nil }

func benchHandler(b *testing.B) (http.Handler, string) {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ts := tokens.New(db, "tokens")
	if err := ts.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	scopes, _ := tokens.ParseScopes("items:read,items:write")
	tok, secret, err := ts.Create(b.Context(), "bench", scopes)
	if err != nil {
		b.Fatal(err)
	}
	set := tokens.NewSet([]tokens.Token{tok})
	h := New(Config{
		Records: fixedRecords{secret: strings.Repeat("s", 1024)},
		Tokens:  func() *tokens.Set { return set },
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	return h, secret
}

// BenchmarkHandlerGet is the HTTP layer's cost of a reference read: routing,
// token check, logging, metrics and JSON, without TLS or storage; the
// baseline is a bare handler writing the same JSON.
func BenchmarkHandlerGet(b *testing.B) {
	h, secret := benchHandler(b)
	body := `{"item_id":"x","secret":"` + strings.Repeat("s", 1024) + `"}`
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"sealstore", h}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/items/x", nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
