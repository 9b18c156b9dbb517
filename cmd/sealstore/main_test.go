package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"sealstore": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. Scripts
// find the DB-ESDK vectors in $VECTORS and check exit statuses with
// "exits CODE COMMAND ARGS...", which keeps the command's stdout and stderr
// for the following stdout and stderr checks.
func TestScripts(t *testing.T) {
	t.Parallel()
	vectors := vectorsDir(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vectors)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"exits": exits},
	})
}

// exits runs a command and fails the script unless it exits with the
// given status.
func exits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad status %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// vectorsDir returns the absolute path of the DB-ESDK vectors:
// $SEALSTORE_DBESDK_VECTORS, or testdata/dbesdk in the repository (as in
// the conformance package's tests).
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SEALSTORE_DBESDK_VECTORS")
	if dir == "" {
		dir = "../../testdata/dbesdk"
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		_, err = os.Stat(filepath.Join(abs, "keys.json"))
	}
	if err != nil {
		t.Fatal(fmt.Errorf("DB-ESDK vectors not found (set SEALSTORE_DBESDK_VECTORS): %w", err))
	}
	return abs
}
