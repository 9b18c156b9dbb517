package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sealstore/sealstore/conformance"
)

func conformanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return conformanceRun(ctx, args[1:], stdout, stderr)
	case "write":
		return conformanceWrite(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sealstore conformance: unknown subcommand %q\n%s", args[0], usage)
	return exitUsage
}

func conformanceRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keysPath := fs.String("keys", "", "MPL keys manifest (default: keys.json beside each manifest)")
	manifests, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(manifests) == 0 {
		fmt.Fprintln(stderr, "sealstore conformance run: no manifest given")
		return exitUsage
	}
	var passed, failed, skipped int
	for _, path := range manifests {
		results, err := runManifest(ctx, path, *keysPath)
		if err != nil {
			fmt.Fprintf(stderr, "sealstore conformance run: %v\n", err)
			return exitUsage
		}
		for _, r := range results {
			switch r.Outcome {
			case conformance.Passed:
				passed++
			case conformance.Skipped:
				skipped++
				fmt.Fprintf(stdout, "SKIP %s %s: %s\n", filepath.Base(path), r.Case, r.Reason)
			default:
				failed++
				fmt.Fprintf(stdout, "FAIL %s %s: %s\n", filepath.Base(path), r.Case, r.Reason)
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

func runManifest(ctx context.Context, path, keysPath string) ([]conformance.Result, error) {
	if keysPath == "" {
		keysPath = filepath.Join(filepath.Dir(path), "keys.json")
	}
	keys, err := conformance.LoadKeys(keysPath)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cases, err := conformance.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return conformance.Run(ctx, keys, cases), nil
}
