package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sealstore/sealstore/internal/server"
)

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: sealstore audit verify [--config FILE] [--data-dir DIR] [STORE FLAGS]")
		return exitUsage
	}
	s, err := loadSettings(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "sealstore audit verify: %v\n", err)
		return exitUsage
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	where := storeFlags(fs, s)
	rest, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "sealstore audit verify: unexpected argument %q\n", rest[0])
		return exitUsage
	}
	cfg := server.Config{}
	cfg.DataDir, cfg.Backend = where()
	if err := cfg.Backend.Validate(); err != nil {
		fmt.Fprintf(stderr, "sealstore audit verify: %v\n", err)
		return exitUsage
	}
	progress := func(int) {}
	if isTerminal(stderr) {
		progress = func(done int) { fmt.Fprintf(stderr, "\rverified %d entries", done) }
	}
	rep, err := server.VerifyAudit(ctx, cfg, progress)
	if isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		fmt.Fprintf(stderr, "sealstore audit verify: %v\n", err)
		return exitFail
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "BROKEN: chain %s, entry %d: %s\n", p.Chain, p.Seq, p.Reason)
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintf(stdout, "audit trail does NOT verify: %d of %d chains broken (%d entries checked)\n", len(rep.Problems), rep.Chains, rep.Entries)
		return exitFail
	}
	fmt.Fprintf(stdout, "audit trail verifies: %d chains, %d entries\n", rep.Chains, rep.Entries)
	return exitOK
}

// isTerminal reports whether w is a character device (a terminal), where
// a progress line is shown.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
