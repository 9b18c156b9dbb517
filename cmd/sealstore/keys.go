package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/cliclient"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/server"
)

const keysUsage = `usage: sealstore keys COMMAND COLLECTION [FLAGS]
  status COLLECTION                        versions, active and minimum decryptable ones, records per version
  rotate COLLECTION                        a new key version becomes active
  rewrap COLLECTION [--max-rate N] [--detach]
                                           re-encrypt every record under the active version (resumes an
                                           interrupted rewrap); shows progress until done unless --detach
  retire COLLECTION --min-version N [--force]
                                           refuse records under versions below N
  schedule COLLECTION --every DURATION     rotate automatically (e.g. 720h); --every off stops it
  shred COLLECTION --confirm COLLECTION    destroy every key version: all its records become unreadable

They talk to a running server (with --standalone and the store flags of
'sealstore serve' — --store dynamodb, --kms-key-id, --region, … — they run
in this process against DynamoDB + KMS instead, audited as standalone:<user>):
  --addr URL            SEALSTORE_ADDR (default https://127.0.0.1:8443)
  SEALSTORE_TOKEN       a token with admin scope on the collection (never a flag: argv is visible to others)
  --ca FILE             SEALSTORE_CA: a CA certificate to trust (for the embedded default, the
                        data directory's tls-cert.pem)
  --fingerprint HEX     SEALSTORE_FINGERPRINT: the server certificate's SHA-256 fingerprint, as the
                        server's start banner prints it (pins that certificate)
`

// keyAdmin is the key lifecycle the commands drive: a running server's
// API (cliclient.Keys), or, standalone on DynamoDB, this process
// (server.Keys, audited as the operator).
type keyAdmin = audited.Keys

// keysCommand is one row of the table of keys commands.
type keysCommand struct {
	name string
	// flags defines the command's own flags on fs and returns its check,
	// which runs once they are parsed and before anything is contacted:
	// the command's work, or what is wrong with the command line.
	flags func(fs *flag.FlagSet) func(coll string, standalone bool) (keysWork, error)
}

// keysWork is what a command does once connected; it returns the exit
// status.
type keysWork func(ctx context.Context, k keysCall) int

// keysCall is what a command's work runs with.
type keysCall struct {
	admin          keyAdmin
	sub, coll      string
	stdout, stderr io.Writer
}

// fail prints what failed and returns the exit status of its kind.
func (k keysCall) fail(err error) int {
	fmt.Fprintf(k.stderr, "sealstore keys %s %s: %s\n", k.sub, k.coll, describe(err))
	return fault.KindOf(err).ExitCode()
}

// describe is what a command prints of a failed operation: the public
// message of its kind (package fault), or the whole error for internal
// and unavailable ones, whose cause is the operator's to read (this
// process is theirs, as a server's log is); and, if the server asked for
// it, how long to wait before retrying.
func describe(err error) string {
	c := fault.Classify(err)
	msg := c.Message
	if c.Kind == fault.Internal || c.Kind == fault.Unavailable {
		msg = err.Error()
	}
	var se *cliclient.StatusError
	isStatus := errors.As(err, &se)
	if m, ok := asFlag(c, se); ok {
		msg = m
	}
	if isStatus && se.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %d s", int((se.RetryAfter+time.Second-1)/time.Second))
	}
	return msg
}

// flagNames maps where the server (or, standalone, the records layer)
// says an invalid input is to the flag the operator typed it with.
var flagNames = map[string]string{
	"query.confirm":              "--confirm",
	"body.minDecryptableVersion": "--min-version",
	"body.force":                 "--force",
	"body.rotationPeriod":        "--every",
	"body.maxRate":               "--max-rate",
}

// asFlag is the message of an invalid input that came from a flag, naming
// the flag as typed ("--confirm must repeat…", not "query.confirm must
// repeat…"): c is the local error's class, se the server's answer (nil if
// the error is local).
func asFlag(c fault.Class, se *cliclient.StatusError) (string, bool) {
	field, reason := c.Field, c.Reason
	if se != nil {
		field, reason = se.Field, se.Reason
	}
	flag, ok := flagNames[field]
	if !ok || reason == "" {
		return "", false
	}
	if se != nil {
		return fmt.Sprintf("%d %s: %s %s", se.Status, http.StatusText(se.Status), flag, reason), true
	}
	return flag + " " + reason, true
}

// keysCommands is the table of keys commands.
var keysCommands = []keysCommand{
	{name: "status", flags: noFlags(statusWork)},
	{name: "rotate", flags: noFlags(rotateWork)},
	{name: "rewrap", flags: rewrapFlags},
	{name: "retire", flags: retireFlags},
	{name: "schedule", flags: scheduleFlags},
	{name: "shred", flags: shredFlags},
}

func findKeysCommand(name string) (keysCommand, bool) {
	for _, c := range keysCommands {
		if c.name == name {
			return c, true
		}
	}
	return keysCommand{}, false
}

// keysCmd runs the key lifecycle commands against a running server, or
// standalone.
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, keysUsage)
		return exitOK
	}
	cmd, ok := findKeysCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "sealstore keys: unknown command %q\n%s", args[0], keysUsage)
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sealstore keys %s: %s\n", cmd.name, fmt.Sprintf(format, a...))
		return exitUsage
	}
	settings, err := loadSettings(args[1:])
	if err != nil {
		return usage("%v", err)
	}
	fs := flag.NewFlagSet("keys "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connectionFlags(fs, settings)
	check := cmd.flags(fs)
	rest, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "sealstore keys %s: name one collection\n%s", cmd.name, keysUsage)
		return exitUsage
	}
	work, err := check(rest[0], *conn.standalone)
	if err != nil {
		return usage("%v", err)
	}
	// Ctrl-C (or SIGTERM) ends the command cleanly: a followed rewrap stops
	// being followed; standalone, the service is closed (its audit entries
	// written, a rewrap job left to be taken over after its lease) and an
	// operation already begun in the key store (a rotation, a shred) is
	// finished first, as records does whatever the context.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return conn.run(ctx, keysCall{sub: cmd.name, coll: rest[0], stdout: stdout, stderr: stderr}, work)
}

// connection is how the keys commands reach the key lifecycle.
type connection struct {
	serverConn
	standalone *bool
	where      func() (string, server.Backend)
	settings   settings
}

func connectionFlags(fs *flag.FlagSet, s settings) connection {
	return connection{
		serverConn: serverFlags(fs),
		standalone: fs.Bool("standalone", false, "run in this process against DynamoDB + KMS (the store flags), without a server"),
		where:      storeFlags(fs, s),
		settings:   s,
	}
}

// serverConn is how a command reaches a running server's API: its URL,
// how it is trusted, and the token in SEALSTORE_TOKEN.
type serverConn struct{ addr, ca, pin *string }

func serverFlags(fs *flag.FlagSet) serverConn {
	return serverConn{
		addr: fs.String("addr", envOr("SEALSTORE_ADDR", "https://127.0.0.1:8443"), "server URL (SEALSTORE_ADDR)"),
		ca:   fs.String("ca", os.Getenv("SEALSTORE_CA"), "CA certificate file to trust (SEALSTORE_CA)"),
		pin:  fs.String("fingerprint", os.Getenv("SEALSTORE_FINGERPRINT"), "server certificate SHA-256 fingerprint (SEALSTORE_FINGERPRINT)"),
	}
}

// client is the API client of c; defaultCA, if not empty, is trusted when
// neither --ca nor --fingerprint is given.
func (c serverConn) client(defaultCA string) (*cliclient.Client, error) {
	ca := *c.ca
	if ca == "" && *c.pin == "" {
		ca = defaultCA
	}
	return cliclient.New(cliclient.Settings{Addr: *c.addr, Token: os.Getenv("SEALSTORE_TOKEN"), CA: ca, Fingerprint: *c.pin})
}

// run connects (to the server, or standalone to the deployment, as the
// operator) and runs work.
func (c connection) run(ctx context.Context, k keysCall, work keysWork) int {
	if *c.standalone {
		cfg := server.Config{}
		cfg.DataDir, cfg.Backend = c.where()
		var err error
		if cfg.Audit, err = auditSettings(c.settings); err != nil {
			fmt.Fprintf(k.stderr, "sealstore keys %s: config file: %v\n", k.sub, err)
			return exitUsage
		}
		keys, err := server.OpenKeys(ctx, cfg)
		if err != nil {
			fmt.Fprintf(k.stderr, "sealstore keys %s: %v\n", k.sub, err)
			return exitFail
		}
		defer keys.Close()
		k.admin = keys
		return work(audited.WithActor(ctx, standaloneName()), k)
	}
	cl, err := c.client("")
	if err != nil {
		fmt.Fprintf(k.stderr, "sealstore keys %s: %v\n", k.sub, err)
		return exitUsage
	}
	k.admin = cliclient.Keys{C: cl}
	return work(ctx, k)
}

// standaloneName names the operator of a standalone command in the audit
// trail.
func standaloneName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "standalone:" + u.Username
	}
	return "standalone"
}

// noFlags is the flags of a command that has none of its own.
func noFlags(work keysWork) func(*flag.FlagSet) func(string, bool) (keysWork, error) {
	return func(*flag.FlagSet) func(string, bool) (keysWork, error) {
		return func(string, bool) (keysWork, error) { return work, nil }
	}
}

func statusWork(ctx context.Context, k keysCall) int {
	st, err := k.admin.KeyStatus(ctx, k.coll)
	if err != nil {
		return k.fail(err)
	}
	printStatus(k.stdout, st)
	return exitOK
}

func rotateWork(ctx context.Context, k keysCall) int {
	v, err := k.admin.RotateKey(ctx, k.coll)
	if err != nil {
		return k.fail(err)
	}
	fmt.Fprintf(k.stdout, "collection %s: version %d (%s) is now active; older records keep reading until retired\n", k.coll, v.Version, v.ID)
	return exitOK
}

func retireFlags(fs *flag.FlagSet) func(string, bool) (keysWork, error) {
	minVersion := fs.Int("min-version", 0, "the minimum decryptable version")
	force := fs.Bool("force", false, "even though records remain under older versions")
	return func(string, bool) (keysWork, error) {
		if *minVersion < 1 {
			return nil, errors.New("--min-version N (N >= 1) is required")
		}
		policy := records.KeyPolicy{MinDecryptableVersion: minVersion, Force: *force}
		return func(ctx context.Context, k keysCall) int {
			st, err := k.admin.SetKeyPolicy(ctx, k.coll, policy)
			if err != nil {
				return k.fail(err)
			}
			fmt.Fprintf(k.stdout, "collection %s: versions below %d are retired\n", k.coll, st.MinDecryptableVersion)
			printStatus(k.stdout, st)
			return exitOK
		}, nil
	}
}

func scheduleFlags(fs *flag.FlagSet) func(string, bool) (keysWork, error) {
	every := fs.String("every", "", "rotation period (e.g. 720h) or off")
	return func(string, bool) (keysWork, error) {
		var period time.Duration
		switch *every {
		case "":
			return nil, errors.New("--every DURATION (or off) is required")
		case "off":
		default:
			var err error
			if period, err = time.ParseDuration(*every); err != nil || period <= 0 {
				return nil, errors.New("--every must be a duration such as 720h, or off")
			}
		}
		return func(ctx context.Context, k keysCall) int {
			st, err := k.admin.SetKeyPolicy(ctx, k.coll, records.KeyPolicy{RotationPeriod: &period})
			if err != nil {
				return k.fail(err)
			}
			if st.RotationPeriod == "" {
				fmt.Fprintf(k.stdout, "collection %s: automatic rotation is off\n", k.coll)
			} else {
				fmt.Fprintf(k.stdout, "collection %s: rotates every %s; next at %s\n", k.coll, st.RotationPeriod, st.NextRotation.Format(time.RFC3339))
			}
			return exitOK
		}, nil
	}
}

func shredFlags(fs *flag.FlagSet) func(string, bool) (keysWork, error) {
	confirm := fs.String("confirm", "", "the collection's name again")
	return func(coll string, _ bool) (keysWork, error) {
		if *confirm == "" {
			return nil, fmt.Errorf("this destroys every record of %s for good; repeat its name with --confirm %s", coll, coll)
		}
		return func(ctx context.Context, k keysCall) int {
			r, err := k.admin.ShredKeys(ctx, k.coll, *confirm)
			if err != nil {
				return k.fail(err)
			}
			fmt.Fprintf(k.stdout, "collection %s shredded at %s: %s\n", k.coll, r.Time.Format(time.RFC3339), r.Detail())
			return exitOK
		}, nil
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
