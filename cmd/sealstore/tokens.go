package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/tokens"
)

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
	run, code := tokensWork(sub, rest, scope, name, stdout, stderr)
	if run == nil {
		return code
	}
	if err := server.WithTokens(ctx, dir, backend, run); err != nil {
		fmt.Fprintf(stderr, "sealstore tokens %s: %v\n", sub, err)
		return exitFail
	}
	return exitOK
}

// tokensWork is what the tokens command sub does with the token store, or
// nil and the exit status of a command line it refuses.
func tokensWork(sub string, rest []string, scope, name *string, stdout, stderr io.Writer) (func(context.Context, *tokens.Store) error, int) {
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
		return func(ctx context.Context, ts *tokens.Store) error {
			_, secret, err := ts.Create(ctx, *name, scopes)
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
		return func(ctx context.Context, ts *tokens.Store) error { return listTokens(ctx, ts, stdout) }, exitOK
	case "revoke":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: sealstore tokens revoke NAME [--data-dir DIR]")
			return nil, exitUsage
		}
		return func(ctx context.Context, ts *tokens.Store) error { return ts.Revoke(ctx, rest[0]) }, exitOK
	}
	fmt.Fprintf(stderr, "sealstore tokens: unknown subcommand %q\n%s", sub, usage)
	return nil, exitUsage
}

func listTokens(ctx context.Context, ts *tokens.Store, stdout io.Writer) error {
	list, err := ts.List(ctx)
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
