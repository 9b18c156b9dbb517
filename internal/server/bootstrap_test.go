package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
	"github.com/sealstore/sealstore/internal/tokens"
)

const bootstrapBanner = "bootstrap admin token"

// offline opens the stopped server's data directory and runs fn on its
// token store.
func offline(t *testing.T, dataDir string, fn func(context.Context, *tokens.Store)) {
	t.Helper()
	dir, err := datadir.Open(dataDir)
	if err != nil {
		t.Fatalf("datadir.Open: %v", err)
	}
	defer dir.Close()
	ctx := context.Background()
	ts := tokens.New(dir.Store, server.TokensTable)
	if err := ts.Init(ctx); err != nil {
		t.Fatalf("tokens Init: %v", err)
	}
	fn(ctx, ts)
}

// tokenNames lists the stored tokens' names (offline).
func tokenNames(t *testing.T, dataDir string) []string {
	t.Helper()
	var names []string
	offline(t, dataDir, func(ctx context.Context, ts *tokens.Store) {
		list, err := ts.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range list {
			names = append(names, tok.Name)
		}
	})
	return names
}

// embeddedOnly skips t on DynamoDB, where the server never prints a
// bootstrap token: 'sealstore init' does (TestInitDynamoDB).
func embeddedOnly(t *testing.T) {
	t.Helper()
	if os.Getenv(serverStoreVar) != "" {
		t.Skip("the server's own bootstrap token is the embedded default's; on DynamoDB 'sealstore init' prints it, tested in TestInitDynamoDB")
	}
}

// printedTokens counts bootstrap banners in a server's output.
func printedTokens(s *srv) int { return strings.Count(s.out.String(), bootstrapBanner) }

// wantAdmin checks that tok is a working admin token.
func wantAdmin(t *testing.T, s *srv, what, tok string) {
	t.Helper()
	if r := s.do(http.MethodGet, "/metrics", tok, nil, nil); r.status != http.StatusOK {
		t.Errorf("%s: GET /metrics: %s; want 200", what, r)
	}
}

// wantUnauthorized checks that tok is refused with 401.
func wantUnauthorized(t *testing.T, s *srv, what, tok string) {
	t.Helper()
	r := s.do(http.MethodGet, "/metrics", tok, nil, nil)
	checkProblem(t, what, r, http.StatusUnauthorized)
}

func mustStop(t *testing.T, s *srv) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// The bootstrap token is printed on the first start only: not after a
// restart, nor after it was revoked offline.
func TestBootstrapOnceEvenAfterRevoke(t *testing.T) {
	t.Parallel()
	embeddedOnly(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	s1 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	tok := s1.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("no bootstrap token printed on the first start; Out:\n%s", s1.out)
	}
	if n := printedTokens(s1); n != 1 {
		t.Errorf("the first start printed %d bootstrap banners; want 1", n)
	}
	wantAdmin(t, s1, "first start", tok)
	mustStop(t, s1)

	// A plain restart prints nothing, and the token still works.
	s2 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	if n := printedTokens(s2); n != 0 {
		t.Errorf("a restart printed a bootstrap token; Out:\n%s", s2.out)
	}
	wantAdmin(t, s2, "restart", tok)
	mustStop(t, s2)

	offline(t, dataDir, func(ctx context.Context, ts *tokens.Store) {
		if err := ts.Revoke(ctx, server.BootstrapName); err != nil {
			t.Fatalf("Revoke %s: %v", server.BootstrapName, err)
		}
	})

	s3 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	if n := printedTokens(s3); n != 0 || s3.tokens["bootstrap"] != "" {
		t.Errorf("a start after every token was revoked printed a new bootstrap token; Out:\n%s", s3.out)
	}
	wantUnauthorized(t, s3, "revoked bootstrap token", tok)
	mustStop(t, s3)
	if names := tokenNames(t, dataDir); len(names) != 0 {
		t.Errorf("tokens after the revoked directory restarted: %q; want none", names)
	}
}

// A directory that already has a token (made offline) gets no bootstrap
// token, then or later.
func TestBootstrapSkippedWhenOtherTokenExists(t *testing.T) {
	t.Parallel()
	embeddedOnly(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	var ops string
	offline(t, dataDir, func(ctx context.Context, ts *tokens.Store) {
		var err error
		_, ops, err = ts.Create(ctx, "ops", []tokens.Scope{{Collection: tokens.AnyCollection, Action: tokens.Admin}})
		if err != nil {
			t.Fatal(err)
		}
	})
	s1 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	if n := printedTokens(s1); n != 0 {
		t.Errorf("a bootstrap token was printed although a token exists; Out:\n%s", s1.out)
	}
	wantAdmin(t, s1, "offline-made token", ops)
	mustStop(t, s1)
	if names := tokenNames(t, dataDir); strings.Join(names, ",") != "ops" {
		t.Errorf("tokens %q; want only ops", names)
	}

	// Revoking it does not bring a bootstrap token either.
	offline(t, dataDir, func(ctx context.Context, ts *tokens.Store) {
		if err := ts.Revoke(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
	})
	s2 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	if n := printedTokens(s2); n != 0 {
		t.Errorf("a bootstrap token was printed after the only token was revoked; Out:\n%s", s2.out)
	}
	wantUnauthorized(t, s2, "revoked ops token", ops)
}

// A bootstrap-admin token without the marker is one whose start did not
// finish (it may never have been shown): the next start replaces it.
func TestBootstrapReplacedWithoutMarker(t *testing.T) {
	t.Parallel()
	embeddedOnly(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	var old string
	offline(t, dataDir, func(ctx context.Context, ts *tokens.Store) {
		var err error
		_, old, err = ts.Create(ctx, server.BootstrapName, []tokens.Scope{{Collection: tokens.AnyCollection, Action: tokens.Admin}})
		if err != nil {
			t.Fatal(err)
		}
	})
	s1 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	tok := s1.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("no bootstrap token printed for a directory holding only an unconfirmed bootstrap token; Out:\n%s", s1.out)
	}
	if n := printedTokens(s1); n != 1 {
		t.Errorf("%d bootstrap banners; want 1", n)
	}
	if tok == old {
		t.Fatal("the printed token is the old one")
	}
	wantUnauthorized(t, s1, "the unconfirmed bootstrap token", old)
	wantAdmin(t, s1, "the new bootstrap token", tok)
	mustStop(t, s1)
	if names := tokenNames(t, dataDir); strings.Join(names, ",") != server.BootstrapName {
		t.Errorf("tokens %q; want only %s", names, server.BootstrapName)
	}

	// Now the marker is there: a restart keeps the new token.
	s2 := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	if n := printedTokens(s2); n != 0 {
		t.Errorf("a restart printed another bootstrap token; Out:\n%s", s2.out)
	}
	wantAdmin(t, s2, "restart", tok)
	wantUnauthorized(t, s2, "restart, old token", old)
}

// A first start that cannot bind its addresses (a port taken) prints no
// bootstrap token and leaves none marked as handed out: the next start
// prints one that works.
func TestBootstrapNotSpentByFailedStart(t *testing.T) {
	t.Parallel()
	embeddedOnly(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dataDir := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct{ what, https, http string }{
		{"the HTTPS port taken", taken.Addr().String(), ""},
		{"the plain-HTTP port taken", "127.0.0.1:0", taken.Addr().String()},
	} {
		var out syncbuf.Buffer
		cfg := server.Config{DataDir: dataDir, Listen: c.https, HTTPListen: c.http, Out: &out, Log: io.Discard}
		err := server.Run(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
			t.Fatalf("%s: Run returned %v; want an error naming %s", c.what, err, taken.Addr())
		}
		if strings.Contains(out.String(), bootstrapBanner) || strings.Contains(out.String(), "sst_") {
			t.Errorf("%s: the failed start printed a token: %q", c.what, out.String())
		}
	}
	s := startServer(t, opts{dataDir: dataDir, noHTTP: true})
	tok := s.tokens["bootstrap"]
	if tok == "" {
		t.Fatalf("after failed starts, the first start that serves printed no bootstrap token; Out:\n%s", s.out)
	}
	wantAdmin(t, s, "the bootstrap token after failed starts", tok)
}
