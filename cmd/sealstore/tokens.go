package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/cliclient"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/tokens"
)

// tokenAdmin is what the tokens commands do with tokens: the store itself
// (offline, or beside servers on DynamoDB), or a running server's
// /v1/tokens routes (cliclient.Tokens) while it holds the data directory.
type tokenAdmin interface {
	Create(ctx context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error)
	List(ctx context.Context) ([]tokens.Token, error)
	Revoke(ctx context.Context, name string) error
}

// tokensWorkFunc is what a tokens command does with the tokens.
type tokensWorkFunc func(context.Context, tokenAdmin) error

func tokensCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	sub := args[0]
	set, err := loadSettings(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "sealstore tokens: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("tokens "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	where := storeFlags(fs, set)
	conn := serverFlags(fs)
	var scope, name *string
	if sub == "create" {
		scope = fs.String("scope", "", "scopes, e.g. items:read,items:write, *:admin, or *:metrics (reads /metrics only)")
		name = fs.String("name", "", "token name (default: a random one)")
	}
	rest, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	dir, backend := where()
	if err := backend.ValidateStore(); err != nil {
		fmt.Fprintf(stderr, "sealstore tokens %s: %v\n", sub, err)
		return exitUsage
	}
	work, code := tokensWork(sub, rest, scope, name, stdout, stderr)
	if work == nil {
		return code
	}
	err = server.WithTokens(ctx, dir, backend, func(ctx context.Context, ts *tokens.Store) error { return work(ctx, ts) })
	if errors.Is(err, datadir.ErrInUse) {
		err = throughServer(ctx, sub, dir, conn, work, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sealstore tokens %s: %v\n", sub, err)
		return exitFail
	}
	return exitOK
}

// throughServer runs work through the API of the server that holds the
// embedded data directory dir, saying so on stderr (stdout stays the
// command's output alone: a created token). It trusts --ca,
// --fingerprint, or else the directory's own certificate.
func throughServer(ctx context.Context, sub, dir string, conn serverConn, work tokensWorkFunc, stderr io.Writer) error {
	if os.Getenv("SEALSTORE_TOKEN") == "" {
		return fmt.Errorf("%s is %w; set SEALSTORE_TOKEN to an admin token to manage tokens through its API "+
			"(SEALSTORE_ADDR, --ca or --fingerprint as for the keys commands), or stop the server", dir, datadir.ErrInUse)
	}
	defaultCA := filepath.Join(dir, datadir.CertFile)
	if _, err := os.Stat(defaultCA); err != nil {
		defaultCA = ""
	}
	cl, err := conn.client(defaultCA)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sealstore tokens %s: %s is held by a running server: through its API at %s (as the SEALSTORE_TOKEN token sees them)\n", sub, dir, *conn.addr)
	return work(ctx, cliclient.Tokens{C: cl})
}

// tokensWork is what the tokens command sub does with the tokens, or nil
// and the exit status of a command line it refuses.
func tokensWork(sub string, rest []string, scope, name *string, stdout, stderr io.Writer) (tokensWorkFunc, int) {
	switch sub {
	case "create":
		scopes, err := tokens.ParseScopes(*scope)
		if *scope == "" || err != nil || len(rest) > 0 {
			fmt.Fprintln(stderr, "usage: sealstore tokens create --scope COLLECTION:read|write|admin[,...] (or *:metrics) [--name NAME] [--data-dir DIR]")
			if err != nil && *scope != "" {
				fmt.Fprintf(stderr, "sealstore tokens create: %v\n", err)
			}
			return nil, exitUsage
		}
		return func(ctx context.Context, ta tokenAdmin) error {
			_, secret, err := ta.Create(ctx, *name, scopes)
			if err == nil {
				fmt.Fprintln(stdout, secret)
			}
			return err
		}, exitOK
	case "list":
		if len(rest) > 0 {
			fmt.Fprintln(stderr, "usage: sealstore tokens list [--data-dir DIR]")
			return nil, exitUsage
		}
		return func(ctx context.Context, ta tokenAdmin) error { return listTokens(ctx, ta, stdout) }, exitOK
	case "revoke":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: sealstore tokens revoke NAME [--data-dir DIR]")
			return nil, exitUsage
		}
		return func(ctx context.Context, ta tokenAdmin) error { return ta.Revoke(ctx, rest[0]) }, exitOK
	}
	fmt.Fprintf(stderr, "sealstore tokens: unknown subcommand %q\n%s", sub, usage)
	return nil, exitUsage
}

func listTokens(ctx context.Context, ta tokenAdmin, stdout io.Writer) error {
	list, err := ta.List(ctx)
	if err != nil {
		return err
	}
	for _, t := range list {
		scopes := make([]string, len(t.Scopes))
		for i, s := range t.Scopes {
			scopes[i] = s.String()
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.Name, strings.Join(scopes, ","), t.Created.Format(time.RFC3339))
	}
	return nil
}
