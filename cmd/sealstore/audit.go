package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store/bolt"
)

const auditUsage = `usage: sealstore audit verify [--checkpoints FILE] [--records] [--config FILE] [--data-dir DIR] [STORE FLAGS]
  While a server holds the embedded data directory, the check runs in that
  server, through its API: SEALSTORE_TOKEN (a *:admin token) and --addr,
  --ca or --fingerprint as for 'sealstore keys'.`

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, auditUsage)
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
	conn := serverFlags(fs) // when the server holds the data directory
	cpFile := fs.String("checkpoints", "", "a file of JSON lines holding checkpoints (an audit sink's file): report chains deleted or truncated since")
	recs := fs.Bool("records", false, "also compare every stored record with its last audited write: report records rolled back, written or deleted outside sealstore")
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
	o := server.VerifyOptions{Records: *recs}
	if *cpFile != "" {
		if o.Checkpoints, err = readCheckpoints(*cpFile); err != nil {
			fmt.Fprintf(stderr, "sealstore audit verify: --checkpoints %s: %v\n", *cpFile, err)
			return exitUsage
		}
	}
	v, err := verify(ctx, cfg, o, conn, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore audit verify: %v\n", err)
		return exitFail
	}
	return printVerification(stdout, v, *cpFile != "")
}

// verify verifies the trail in this process, or, if a server holds the
// embedded data directory, in that server through its API.
func verify(ctx context.Context, cfg server.Config, o server.VerifyOptions, conn serverConn, stderr io.Writer) (server.Verification, error) {
	if isTerminal(stderr) {
		o.Progress = func(done int) { fmt.Fprintf(stderr, "\rverified %s", plural(done, "entry")) }
	}
	v, err := server.VerifyAudit(ctx, cfg, o)
	if isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		return v, err
	}
	fmt.Fprintf(stderr, "the data directory is held by a running server: verifying in that server (%s)\n", *conn.addr)
	cl, err := conn.client("")
	if err != nil {
		return server.Verification{}, err
	}
	v = server.Verification{}
	v.Report, v.Records, err = cl.VerifyAudit(ctx, o.Checkpoints, o.Records)
	return v, err
}

// readCheckpoints reads the checkpoints among the JSON lines of path.
func readCheckpoints(path string) ([]audit.Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	cps, err := audit.ParseCheckpoints(lines)
	if err == nil && len(cps) == 0 {
		err = errors.New("no checkpoint in it")
	}
	return cps, err
}

// printVerification prints what was found and returns the exit status:
// 1 if anything is wrong.
func printVerification(w io.Writer, v server.Verification, checkpoints bool) int {
	bad := len(v.Problems) + len(v.Checkpoints)
	for _, p := range v.Problems {
		fmt.Fprintf(w, "BROKEN: chain %s, entry %d: %s\n", p.Chain, p.Seq, p.Reason)
	}
	for _, p := range v.Checkpoints {
		fmt.Fprintf(w, "CHECKPOINT: chain %s: %s\n", p.Chain, p.Reason)
	}
	if v.Records != nil {
		bad += len(v.Records.Problems)
		for _, p := range v.Records.Problems {
			fmt.Fprintf(w, "RECORD: collection %s, record %s: %s\n", p.Collection, p.Record, p.Reason)
		}
	}
	summary := fmt.Sprintf("%s, %s", plural(v.Chains, "chain"), plural(v.Entries, "entry"))
	if checkpoints {
		summary += ", checked against the checkpoints"
	}
	if v.Records != nil {
		summary += fmt.Sprintf("; %s compared with %s last audited write", plural(v.Records.Records, "record"), agree(v.Records.Records, "its", "their"))
		if n := v.Records.Unverifiable; n > 0 {
			summary += fmt.Sprintf(" (%d last written before entries recorded versions: not comparable)", n)
		}
		if n := v.Records.Changed; n > 0 {
			summary += fmt.Sprintf(" (%d written during the check: not compared)", n)
		}
	}
	if bad > 0 {
		fmt.Fprintf(w, "audit trail does NOT verify: %s found (%s)\n", plural(bad, "problem"), summary)
		return exitFail
	}
	fmt.Fprintf(w, "audit trail verifies: %s\n", summary)
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
