package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sealstore/sealstore/conformance"
	"github.com/sealstore/sealstore/materials"
)

func conformanceWrite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance write", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keysPath := fs.String("keys", "", "MPL keys manifest (default: keys.json beside RECORDS.json)")
	configPath := fs.String("config", "", "table config JSON in the vectors' schema")
	suiteFlag := fs.String("suite", "", "algorithm suite: 0x6700 (default) or 0x6701")
	files, err := parseArgs(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "sealstore conformance write: give exactly one RECORDS.json")
		return exitUsage
	}
	opts, records, err := writeInputs(files[0], *keysPath, *configPath, *suiteFlag)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore conformance write: %v\n", err)
		return exitUsage
	}
	out, err := conformance.Write(ctx, records, opts)
	if err != nil { // every Write error is about its input
		fmt.Fprintf(stderr, "sealstore conformance write: %v\n", err)
		return exitUsage
	}
	stdout.Write(out)
	return exitOK
}

func writeInputs(recordsPath, keysPath, configPath, suite string) (conformance.WriteOptions, []byte, error) {
	var opts conformance.WriteOptions
	if keysPath == "" {
		keysPath = filepath.Join(filepath.Dir(recordsPath), "keys.json")
	}
	var err error
	if opts.Keys, err = conformance.LoadKeys(keysPath); err != nil {
		return opts, nil, err
	}
	if configPath != "" {
		if opts.Config, err = os.ReadFile(configPath); err != nil {
			return opts, nil, err
		}
	}
	if suite != "" {
		if opts.Suite, err = parseSuite(suite); err != nil {
			return opts, nil, err
		}
	}
	records, err := os.ReadFile(recordsPath)
	return opts, records, err
}

func parseSuite(s string) (materials.SuiteID, error) {
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("--suite %q: want 0x6700 or 0x6701", s)
	}
	suite, err := materials.SuiteByID(materials.SuiteID(n))
	return suite.ID, err
}
