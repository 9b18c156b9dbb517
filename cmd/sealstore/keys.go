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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealstore/sealstore/records"
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

They talk to a running server:
  --addr URL            SEALSTORE_ADDR (default https://127.0.0.1:8443)
  SEALSTORE_TOKEN       a token with admin scope on the collection (never a flag: argv is visible to others)
  --ca FILE             SEALSTORE_CA: a CA certificate to trust (for the embedded default, the
                        data directory's tls-cert.pem)
  --fingerprint HEX     SEALSTORE_FINGERPRINT: the server certificate's SHA-256 fingerprint, as the
                        server's start banner prints it (pins that certificate)
`

// keysCmd runs the key lifecycle commands against a running server.
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
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("SEALSTORE_ADDR", "https://127.0.0.1:8443"), "server URL")
	ca := fs.String("ca", os.Getenv("SEALSTORE_CA"), "CA certificate file to trust")
	pin := fs.String("fingerprint", os.Getenv("SEALSTORE_FINGERPRINT"), "server certificate SHA-256 fingerprint")
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
	c, err := newAPIClient(*addr, os.Getenv("SEALSTORE_TOKEN"), *ca, *pin)
	if err != nil {
		fmt.Fprintf(stderr, "sealstore keys %s: %v\n", sub, err)
		return exitUsage
	}
	base := "/v1/collections/" + url.PathEscape(coll) + "/keys"
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sealstore keys %s %s: %v\n", sub, coll, err)
		return exitFail
	}
	switch sub {
	case "status":
		var st records.KeyStatus
		if err := c.do(ctx, http.MethodGet, base, nil, &st); err != nil {
			return fail(err)
		}
		printStatus(stdout, st)
	case "rotate":
		var v records.KeyVersion
		if err := c.do(ctx, http.MethodPost, base+":rotate", nil, &v); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s: version %d (%s) is now active; older records keep reading until retired\n", coll, v.Version, v.ID)
	case "retire":
		if *minVersion < 1 {
			fmt.Fprintln(stderr, "sealstore keys retire: --min-version N (N >= 1) is required")
			return exitUsage
		}
		var st records.KeyStatus
		body := map[string]any{"minDecryptableVersion": *minVersion, "force": *force}
		if err := c.do(ctx, http.MethodPost, base+":retire", body, &st); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s: versions below %d are retired\n", coll, st.MinDecryptableVersion)
		printStatus(stdout, st)
	case "schedule":
		period := *every
		switch period {
		case "":
			fmt.Fprintln(stderr, "sealstore keys schedule: --every DURATION (or off) is required")
			return exitUsage
		case "off":
			period = ""
		}
		var st records.KeyStatus
		if err := c.do(ctx, http.MethodPut, base+"/schedule", map[string]string{"rotationPeriod": period}, &st); err != nil {
			return fail(err)
		}
		if st.RotationPeriod == "" {
			fmt.Fprintf(stdout, "collection %s: automatic rotation is off\n", coll)
		} else {
			fmt.Fprintf(stdout, "collection %s: rotates every %s; next at %s\n", coll, st.RotationPeriod, st.NextRotation.Format(time.RFC3339))
		}
	case "shred":
		if *confirm == "" {
			fmt.Fprintf(stderr, "sealstore keys shred: this destroys every record of %s for good; repeat its name with --confirm %s\n", coll, coll)
			return exitUsage
		}
		var r records.ShredReceipt
		if err := c.do(ctx, http.MethodDelete, base+"?confirm="+url.QueryEscape(*confirm), nil, &r); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "collection %s shredded at %s: %s\n", coll, r.Time.Format(time.RFC3339), r.Detail())
	case "rewrap":
		return rewrapCmd(ctx, c, coll, base, *maxRate, *detach, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "sealstore keys: unknown command %q\n%s", sub, keysUsage)
		return exitUsage
	}
	return exitOK
}

// rewrapPoll is how often rewrap asks for progress.
const rewrapPoll = 250 * time.Millisecond

func rewrapCmd(ctx context.Context, c *client, coll, base string, maxRate int, detach bool, stdout, stderr io.Writer) int {
	var job records.RewrapJob
	if err := c.do(ctx, http.MethodPost, base+":rewrap", map[string]int{"maxRate": maxRate}, &job); err != nil {
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %v\n", coll, err)
		return exitFail
	}
	if job.Resumed > 0 && job.State == "running" {
		fmt.Fprintf(stderr, "resuming the rewrap of %s (job %s)\n", coll, job.ID)
	}
	if detach {
		fmt.Fprintf(stdout, "rewrap of %s: %s (job %s); follow it with GET %s/rewrap\n", coll, job.State, job.ID, base)
		return exitOK
	}
	tty := isTerminal(stderr)
	lastLine, lastStart := time.Now(), time.Now()
	for job.State == "running" {
		line := progressBar(job)
		if idle := time.Since(job.Updated); idle > records.JobLease/2 {
			line = fmt.Sprintf("no progress for %.0fs: the server running the rewrap may have stopped; another server (or its restart) takes it over once its %s lease runs out", idle.Seconds(), records.JobLease)
			// Past the lease, asking again makes the server answering
			// take the job over.
			if idle > records.JobLease+2*time.Second && time.Since(lastStart) > records.JobLease {
				lastStart = time.Now()
				var resumed records.RewrapJob
				if err := c.do(ctx, http.MethodPost, base+":rewrap", map[string]int{"maxRate": maxRate}, &resumed); err == nil {
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
			fmt.Fprintln(stderr, "\nstopped following; the rewrap goes on in the server")
			return exitFail
		case <-time.After(rewrapPoll):
		}
		var next records.RewrapJob
		if err := c.do(ctx, http.MethodGet, base+"/rewrap", nil, &next); err != nil {
			fmt.Fprintf(stderr, "\nsealstore keys rewrap %s: %v (the rewrap goes on in the server)\n", coll, err)
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
		fmt.Fprintf(stderr, "sealstore keys rewrap %s: %d records could not be decrypted and were left as they are\n", coll, job.Failed)
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
