package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

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
// API (apiAdmin), or, standalone on DynamoDB, this process
// (server.Keys).
type keyAdmin interface {
	KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error)
	RotateKey(ctx context.Context, coll string) (records.KeyVersion, error)
	SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error)
	StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error)
	RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error)
	ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error)
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
	sub := args[0]
	switch sub {
	case "status", "rotate", "rewrap", "retire", "schedule", "shred":
	default:
		fmt.Fprintf(stderr, "sealstore keys: unknown command %q\n%s", sub, keysUsage)
		return exitUsage
	}
	settings, err := loadSettings(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "sealstore keys %s: %v\n", sub, err)
		return exitUsage
	}
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("SEALSTORE_ADDR", "https://127.0.0.1:8443"), "server URL (SEALSTORE_ADDR)")
	ca := fs.String("ca", os.Getenv("SEALSTORE_CA"), "CA certificate file to trust (SEALSTORE_CA)")
	pin := fs.String("fingerprint", os.Getenv("SEALSTORE_FINGERPRINT"), "server certificate SHA-256 fingerprint (SEALSTORE_FINGERPRINT)")
	standalone := fs.Bool("standalone", false, "run in this process against DynamoDB + KMS (the store flags), without a server")
	where := storeFlags(fs, settings)
	maxRate := fs.Int("max-rate", 0, "rewrap: records per second at most (0: no limit)")
	detach := fs.Bool("detach", false, "rewrap: start it and return")
	minVersion := fs.Int("min-version", 0, "retire: the minimum decryptable version")
	force := fs.Bool("force", false, "retire: even though records remain under older versions")
	every := fs.String("every", "", "schedule: rotation period (e.g. 720h) or off")
	confirm := fs.String("confirm", "", "shred: the collection's name again")
	rest, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "sealstore keys %s: name one collection\n%s", sub, keysUsage)
		return exitUsage
	}
	coll := rest[0]
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sealstore keys %s: %s\n", sub, fmt.Sprintf(format, a...))
		return exitUsage
	}
	// Check the command's own flags before connecting to anything.
	var policy records.KeyPolicy
	switch sub {
	case "status", "rotate", "rewrap":
	case "retire":
		if *minVersion < 1 {
			return usage("--min-version N (N >= 1) is required")
		}
		policy = records.KeyPolicy{MinDecryptableVersion: minVersion, Force: *force}
	case "schedule":
		var period time.Duration
		switch *every {
		case "":
			return usage("--every DURATION (or off) is required")
		case "off":
		default:
			if period, err = time.ParseDuration(*every); err != nil || period <= 0 {
				return usage("--every must be a duration such as 720h, or off")
			}
		}
		policy = records.KeyPolicy{RotationPeriod: &period}
	case "shred":
		if *confirm == "" {
			return usage("this destroys every record of %s for good; repeat its name with --confirm %s", coll, coll)
		}
	}
	if *standalone && *detach {
		return usage("--detach needs a server to run the rewrap; standalone, the command runs it and waits")
	}
	// Ctrl-C (or SIGTERM) ends the command cleanly: a followed rewrap stops
	// being followed; standalone, the service is closed (its audit entries
	// written, a rewrap job left to be taken over after its lease) and an
	// operation already begun in the key store (a rotation, a shred) is
	// finished first, as records does whatever the context.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var admin keyAdmin
	if *standalone {
		cfg := server.Config{}
		cfg.DataDir, cfg.Backend = where()
		keys, err := server.OpenKeys(ctx, cfg, standaloneName())
		if err != nil {
			fmt.Fprintf(stderr, "sealstore keys %s: %v\n", sub, err)
			return exitFail
		}
		defer keys.Close()
		admin = standaloneAdmin{keys}
	} else {
		c, err := newAPIClient(*addr, os.Getenv("SEALSTORE_TOKEN"), *ca, *pin)
		if err != nil {
			return usage("%v", err)
		}
		admin = apiAdmin{c}
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sealstore keys %s %s: %v\n", sub, coll, err)
		return exitFail
	}
	switch sub {
	case "status":
		st, err := admin.KeyStatus(ctx, coll)
		if err != nil {
			return fail(err)
		}
		printStatus(stdout, st)
	case "rotate":
		v, err := admin.RotateKey(ctx, coll)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s: version %d (%s) is now active; older records keep reading until retired\n", coll, v.Version, v.ID)
	case "retire":
		st, err := admin.SetKeyPolicy(ctx, coll, policy)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s: versions below %d are retired\n", coll, st.MinDecryptableVersion)
		printStatus(stdout, st)
	case "schedule":
		st, err := admin.SetKeyPolicy(ctx, coll, policy)
		if err != nil {
			return fail(err)
		}
		if st.RotationPeriod == "" {
			fmt.Fprintf(stdout, "collection %s: automatic rotation is off\n", coll)
		} else {
			fmt.Fprintf(stdout, "collection %s: rotates every %s; next at %s\n", coll, st.RotationPeriod, st.NextRotation.Format(time.RFC3339))
		}
	case "shred":
		r, err := admin.ShredKeys(ctx, coll, *confirm)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s shredded at %s: %s\n", coll, r.Time.Format(time.RFC3339), r.Detail())
	case "rewrap":
		return rewrapCmd(ctx, admin, coll, *maxRate, *detach, stdout, stderr)
	}
	return exitOK
}

// standaloneName names the operator of a standalone command in the audit
// trail.
func standaloneName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "standalone:" + u.Username
	}
	return "standalone"
}

// rewrapPoll is how often rewrap asks for progress.
const rewrapPoll = time.Second

func rewrapCmd(ctx context.Context, admin keyAdmin, coll string, maxRate int, detach bool, stdout, stderr io.Writer) int {
	job, err := admin.StartRewrap(ctx, coll, records.RewrapOptions{MaxRate: maxRate})
	if err != nil {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %v\n", coll, err)
		return exitFail
	}
	if job.Resumed > 0 && job.State == "running" {
		fmt.Fprintf(stderr, "resuming the rewrap of %s (job %s)\n", coll, job.ID)
	}
	if detach {
		fmt.Fprintf(stdout, "rewrap of %s: %s (job %s); follow it with 'sealstore keys rewrap %s' or GET /v1/collections/%s/keys/rewrap\n", coll, job.State, job.ID, coll, url.PathEscape(coll))
		return exitOK
	}
	tty := isTerminal(stderr)
	lastLine, lastStart := time.Now(), time.Now()
	// stopped ends following when the command is interrupted (Ctrl-C).
	stopped := func() int {
		fmt.Fprintln(stderr, "\nstopped following; the rewrap goes on (in the server, or, standalone, once a server or the next run takes it over)")
		return exitFail
	}
	for job.State == "running" {
		line := progressBar(job)
		if idle := time.Since(job.Updated); idle > records.JobLease/2 {
			line = fmt.Sprintf("no progress for %.0fs: the process running the rewrap may have stopped; a server (or this command) takes it over once its %s lease runs out", idle.Seconds(), records.JobLease)
			// Past the lease, asking again takes the job over.
			if idle > records.JobLease+2*time.Second && time.Since(lastStart) > records.JobLease {
				lastStart = time.Now()
				if resumed, err := admin.StartRewrap(ctx, coll, records.RewrapOptions{MaxRate: maxRate}); err == nil {
					job = resumed
				}
			}
		}
		if tty {
			fmt.Fprintf(stderr, "\r\033[K%s", line)
		} else if time.Since(lastLine) >= 5*time.Second {
			fmt.Fprintln(stderr, line)
			lastLine = time.Now()
		}
		select {
		case <-ctx.Done():
			return stopped()
		case <-time.After(rewrapPoll):
		}
		next, err := admin.RewrapStatus(ctx, coll)
		if err != nil && ctx.Err() != nil { // interrupted during the request
			return stopped()
		}
		if err != nil {
			fmt.Fprintf(stderr, "\nsealstore keys rewrap %s: %v (the rewrap goes on)\n", coll, err)
			return exitFail
		}
		job = next
	}
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	fmt.Fprintf(stdout, "rewrap of %s: %s — %d rewrapped, %d retried, %d skipped, %d failed, %d passes, resumed %d times\n",
		coll, job.State, job.Rewrapped, job.Retried, job.Skipped, job.Failed, job.Pass, job.Resumed)
	if job.State != "done" {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %s\n", coll, job.Error)
		return exitFail
	}
	if job.Failed > 0 {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %d records could not be rewrapped (undecryptable, their key version unavailable, no longer fitting the schema, or changed at every attempt) and were left as they are; a rewrap started again retries them\n", coll, job.Failed)
		return exitFail
	}
	return exitOK
}

// progressBar renders a job's progress on one line.
func progressBar(j records.RewrapJob) string {
	const width = 30
	frac := 0.0
	if j.Items > 0 {
		frac = min(float64(j.Scanned)/float64(j.Items), 1)
	}
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% pass %d %-10s %d/%d records, %d rewrapped, %.0f/s",
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, j.Pass, j.Phase, j.Scanned, j.Items, j.Rewrapped, j.Rate)
}

func printStatus(w io.Writer, st records.KeyStatus) {
	if st.Shredded != nil {
		fmt.Fprintf(w, "collection %s: SHREDDED at %s: %s; %d records remain stored, unreadable\n",
			st.Collection, st.Shredded.Time.Format(time.RFC3339), st.Shredded.Detail(), st.Items)
		return
	}
	if st.ShredIncomplete {
		fmt.Fprintf(w, "collection %s: a SHRED BEGAN AND DID NOT FINISH: its records are refused, but keys may remain; run 'sealstore keys shred %s --confirm %s' again\n",
			st.Collection, st.Collection, st.Collection)
		return
	}
	fmt.Fprintf(w, "collection %s: branch key %s, active version %d, minimum decryptable version %d, %d records",
		st.Collection, st.BranchKeyID, st.ActiveVersion, st.MinDecryptableVersion, st.Items)
	if st.OtherItems > 0 {
		fmt.Fprintf(w, " (%d under no known version)", st.OtherItems)
	}
	fmt.Fprintln(w)
	if st.RotationPeriod != "" {
		fmt.Fprintf(w, "automatic rotation every %s", st.RotationPeriod)
		if st.NextRotation != nil {
			fmt.Fprintf(w, ", next at %s", st.NextRotation.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tID\tCREATED\tSTATE\tRECORDS")
	for _, v := range st.Versions {
		state := "decryptable"
		switch {
		case v.Active:
			state = "active"
		case v.Retired:
			state = "retired"
		case v.Activated == nil:
			state = "never activated"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", v.Version, v.ID, v.Created.Format(time.RFC3339), state, v.Items)
	}
	tw.Flush()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// apiAdmin drives a running server's key routes.
type apiAdmin struct{ c *client }

func keysPath(coll string) string { return "/v1/collections/" + url.PathEscape(coll) + "/keys" }

func (a apiAdmin) KeyStatus(ctx context.Context, coll string) (st records.KeyStatus, err error) {
	return st, a.c.do(ctx, http.MethodGet, keysPath(coll), nil, &st)
}

func (a apiAdmin) RotateKey(ctx context.Context, coll string) (v records.KeyVersion, err error) {
	return v, a.c.do(ctx, http.MethodPost, keysPath(coll)+":rotate", nil, &v)
}

func (a apiAdmin) SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (st records.KeyStatus, err error) {
	if p.MinDecryptableVersion != nil {
		body := map[string]any{"minDecryptableVersion": *p.MinDecryptableVersion, "force": p.Force}
		return st, a.c.do(ctx, http.MethodPost, keysPath(coll)+":retire", body, &st)
	}
	period := ""
	if p.RotationPeriod != nil && *p.RotationPeriod > 0 {
		period = p.RotationPeriod.String()
	}
	return st, a.c.do(ctx, http.MethodPut, keysPath(coll)+"/schedule", map[string]string{"rotationPeriod": period}, &st)
}

func (a apiAdmin) StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (j records.RewrapJob, err error) {
	return j, a.c.do(ctx, http.MethodPost, keysPath(coll)+":rewrap", map[string]int{"maxRate": o.MaxRate}, &j)
}

func (a apiAdmin) RewrapStatus(ctx context.Context, coll string) (j records.RewrapJob, err error) {
	return j, a.c.do(ctx, http.MethodGet, keysPath(coll)+"/rewrap", nil, &j)
}

func (a apiAdmin) ShredKeys(ctx context.Context, coll, confirm string) (r records.ShredReceipt, err error) {
	return r, a.c.do(ctx, http.MethodDelete, keysPath(coll)+"?confirm="+url.QueryEscape(confirm), nil, &r)
}

// standaloneAdmin is server.Keys with the errors a person reads: the
// records layer's reasons, not its wrapping.
type standaloneAdmin struct{ *server.Keys }

func plainError(err error) error {
	var inv *records.InvalidError
	var conflict *records.ConflictError
	var retired *records.RetiredError
	var shredded *records.ShreddedError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, records.ErrNotFound):
		return errors.New("no such collection")
	case errors.As(err, &inv):
		return errors.New(inv.Field + " " + inv.Reason)
	case errors.As(err, &conflict):
		return errors.New(conflict.Reason)
	case errors.As(err, &retired):
		return retired
	case errors.As(err, &shredded):
		return shredded
	}
	return err
}

func (a standaloneAdmin) KeyStatus(ctx context.Context, coll string) (records.KeyStatus, error) {
	st, err := a.Keys.KeyStatus(ctx, coll)
	return st, plainError(err)
}

func (a standaloneAdmin) RotateKey(ctx context.Context, coll string) (records.KeyVersion, error) {
	v, err := a.Keys.RotateKey(ctx, coll)
	return v, plainError(err)
}

func (a standaloneAdmin) SetKeyPolicy(ctx context.Context, coll string, p records.KeyPolicy) (records.KeyStatus, error) {
	st, err := a.Keys.SetKeyPolicy(ctx, coll, p)
	return st, plainError(err)
}

func (a standaloneAdmin) StartRewrap(ctx context.Context, coll string, o records.RewrapOptions) (records.RewrapJob, error) {
	j, err := a.Keys.StartRewrap(ctx, coll, o)
	return j, plainError(err)
}

func (a standaloneAdmin) RewrapStatus(ctx context.Context, coll string) (records.RewrapJob, error) {
	j, err := a.Keys.RewrapStatus(ctx, coll)
	return j, plainError(err)
}

func (a standaloneAdmin) ShredKeys(ctx context.Context, coll, confirm string) (records.ShredReceipt, error) {
	r, err := a.Keys.ShredKeys(ctx, coll, confirm)
	return r, plainError(err)
}

var errRedirect = errors.New("the server answered with a redirect; check --addr")

// client calls a sealstore server's API.
type client struct {
	base  string
	token string
	http  *http.Client
}

// newAPIClient checks the connection settings: an https:// address, a
// token, and the server's certificate trusted through ca (a PEM file), a
// pinned fingerprint, or the system's roots.
func newAPIClient(addr, token, ca, pin string) (*client, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--addr / SEALSTORE_ADDR must be an https:// URL, got %q", addr)
	}
	if token == "" {
		return nil, errors.New("set SEALSTORE_TOKEN to a token with admin scope on the collection")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case ca != "" && pin != "":
		return nil, errors.New("give --ca or --fingerprint, not both")
	case ca != "":
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", ca)
		}
		tc.RootCAs = pool
	case pin != "":
		want, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(pin))
		if err != nil || len(want) != sha256.Size {
			return nil, errors.New("--fingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed")
		}
		// The pinned certificate is the trust: chain and name checks
		// give way to an exact match of the leaf.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return errors.New("the server's certificate does not match the pinned fingerprint")
			}
			return nil
		}
	}
	return &client{base: strings.TrimSuffix(addr, "/"), token: token,
		http: &http.Client{Timeout: 6 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true},
			// The API never redirects; following one could carry the
			// token to another address, or to plain HTTP.
			CheckRedirect: func(*http.Request, []*http.Request) error { return errRedirect }}}, nil
}

// do sends a request with a JSON body (if not nil) and decodes a 2xx
// answer into out; any other answer is an error carrying the problem's
// status and detail.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var p struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(data, &p)
		if p.Detail == "" {
			p.Detail = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("%d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), p.Detail)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("the server's answer is not the expected JSON: %w", err)
		}
	}
	return nil
}
