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
	set, err := loadSettings(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "sealstore tokens: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("tokens "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	where := storeFlags(fs, set)
	var scope, name *string
	if args[0] == "create" {
		scope = fs.String("scope", "", "scopes, e.g. items:read,items:write or *:admin")
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
		fmt.Fprintf(stderr, "sealstore tokens %s: %v\n", args[0], err)
		return exitUsage
	}
	var run func(context.Context, *tokens.Store) error
	switch args[0] {
	case "create":
		scopes, err := tokens.ParseScopes(*scope)
		if *scope == "" || err != nil || len(rest) > 0 {
			fmt.Fprintln(stderr, "usage: sealstore tokens create --scope COLLECTION:read|write|admin[,...] [--name NAME] [--data-dir DIR]")
			if err != nil && *scope != "" {
				fmt.Fprintf(stderr, "sealstore tokens create: %v\n", err)
			}
			return exitUsage
		}
		run = func(ctx context.Context, ts *tokens.Store) error {
			_, secret, err := ts.Create(ctx, *name, scopes)
			if err == nil {
				fmt.Fprintln(stdout, secret)
			}
			return err
		}
	case "list":
		if len(rest) > 0 {
			fmt.Fprintln(stderr, "usage: sealstore tokens list [--data-dir DIR]")
			return exitUsage
		}
		run = func(ctx context.Context, ts *tokens.Store) error { return listTokens(ctx, ts, stdout) }
	case "revoke":
		if len(rest) != 1 {
			fmt.Fprintln(stderr, "usage: sealstore tokens revoke NAME [--data-dir DIR]")
			return exitUsage
		}
		run = func(ctx context.Context, ts *tokens.Store) error { return ts.Revoke(ctx, rest[0]) }
	default:
		fmt.Fprintf(stderr, "sealstore tokens: unknown subcommand %q\n%s", args[0], usage)
		return exitUsage
	}
	if err := server.WithTokens(ctx, dir, backend, run); err != nil {
		fmt.Fprintf(stderr, "sealstore tokens %s: %v\n", args[0], err)
		return exitFail
	}
	return exitOK
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
