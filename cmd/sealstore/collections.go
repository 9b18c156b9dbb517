package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/sealstore/sealstore/internal/readerconfig"
)

var collectionsUsage = `usage: sealstore collections reader-config COLLECTION [--lang ` + strings.Join(append(slices.Clone(readerconfig.Languages), "json"), "|") + `]
  Print the table configuration an official DB-ESDK client needs to read
  COLLECTION's records from its DynamoDB table: logical and physical table
  names, key names and every attribute's action, allowed unsigned
  attributes, suite, key store, branch key and beacons. --lang go (the
  default) writes it for package ddbenc; java, dotnet and rust for AWS's
  DB-ESDKs; json, as the server answers it.
The command reaches the server as 'sealstore keys' does:
  --addr URL            SEALSTORE_ADDR (default https://127.0.0.1:8443)
  SEALSTORE_TOKEN       a token with read scope on the collection (never a flag)
  --ca FILE             SEALSTORE_CA: a CA certificate to trust
  --fingerprint HEX     SEALSTORE_FINGERPRINT: the server certificate's SHA-256 fingerprint
`

// collectionsCmd runs "sealstore collections".
func collectionsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "reader-config" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, collectionsUsage)
			return exitOK
		}
		fmt.Fprint(stderr, collectionsUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("collections reader-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, collectionsUsage) }
	lang := fs.String("lang", "go", "go, java, dotnet, rust or json")
	conn := serverFlags(fs)
	rest, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "sealstore collections reader-config: name one collection\n%s", collectionsUsage)
		return exitUsage
	}
	if *lang != "json" && !slices.Contains(readerconfig.Languages, *lang) {
		fmt.Fprintf(stderr, "sealstore collections reader-config: --lang %q: want %s or json\n", *lang, strings.Join(readerconfig.Languages, ", "))
		return exitUsage
	}
	if os.Getenv("SEALSTORE_TOKEN") == "" {
		fmt.Fprintln(stderr, "sealstore collections reader-config: set SEALSTORE_TOKEN to a token with read scope on the collection")
		return exitUsage
	}
	cl, err := conn.client("")
	if err != nil {
		fmt.Fprintf(stderr, "sealstore collections reader-config: %v\n", err)
		return exitUsage
	}
	rc, err := cl.ReaderConfig(ctx, rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "sealstore collections reader-config: %v\n", err)
		return exitFail
	}
	return printReaderConfig(stdout, stderr, *lang, rc)
}

func printReaderConfig(stdout, stderr io.Writer, lang string, rc readerconfig.Config) int {
	if lang == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rc); err != nil {
			fmt.Fprintf(stderr, "sealstore collections reader-config: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	code, err := readerconfig.Render(lang, rc)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore collections reader-config: %v\n", err)
		return exitFail
	}
	fmt.Fprint(stdout, code)
	return exitOK
}
