// Package cliclient is the command line's HTTPS client of a sealstore
// server's key and token routes: it trusts the server through a CA file,
// a pinned certificate fingerprint or the system's roots, sends the token,
// never follows a redirect (one could carry the token elsewhere, or to plain HTTP), and
// turns an error answer into a *StatusError whose kind (package fault)
// is the one the server classified.
package cliclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/fault"
)

// Timeout bounds one request: the key routes may take up to five minutes.
const Timeout = 6 * time.Minute

var errRedirect = errors.New("the server answered with a redirect; check --addr")

// Client calls a sealstore server's API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Settings say where the server is and how it is trusted.
type Settings struct {
	Addr  string // https:// URL
	Token string
	// CA is a PEM file of certificates to trust; Fingerprint the
	// server certificate's SHA-256 (hex, colons allowed), pinned. At most
	// one; neither: the system's roots.
	CA, Fingerprint string
}

// New checks the settings and returns a client. Its errors are the
// caller's to fix (a usage error).
func New(s Settings) (*Client, error) {
	u, err := url.Parse(s.Addr)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("--addr / SEALSTORE_ADDR must be an https:// URL, got %q", s.Addr)
	}
	if s.Token == "" {
		return nil, errors.New("set SEALSTORE_TOKEN to a token with admin scope on the collection")
	}
	tc, err := trust(s.CA, s.Fingerprint)
	if err != nil {
		return nil, err
	}
	return &Client{base: strings.TrimSuffix(s.Addr, "/"), token: s.Token,
		http: &http.Client{Timeout: Timeout, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return errRedirect }}}, nil
}

// trust is the TLS configuration that trusts the server as asked.
func trust(ca, pin string) (*tls.Config, error) {
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
	return tc, nil
}

// StatusError is an error answer of the server: its status, the
// problem's detail and, for invalid input, where the input is.
type StatusError struct {
	Status int
	Detail string
	// Field and Reason are the problem's first error's location (as the
	// server names it: "query.confirm", "body.maxRate") and message, if it
	// named one.
	Field, Reason string
	// RetryAfter is how long the server asked to wait before retrying (its
	// Retry-After header), or zero.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Detail)
}

// Fault returns the kind of the status, and the whole error as the
// message (the status is what a person reads first).
func (e *StatusError) Fault() (fault.Kind, string) { return fault.FromStatus(e.Status), e.Error() }

// Do sends a request with a JSON body (if not nil) and decodes a 2xx
// answer into out; any other answer is a *StatusError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
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
		return statusError(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("the server's answer is not the expected JSON: %w", err)
		}
	}
	return nil
}

// statusError reads an error answer (a problem+json body).
func statusError(resp *http.Response, data []byte) *StatusError {
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(data, &p)
	e := &StatusError{Status: resp.StatusCode, Detail: p.Detail, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	if e.Detail == "" {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	if len(p.Errors) > 0 {
		e.Field, e.Reason = p.Errors[0].Location, p.Errors[0].Message
	}
	return e
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date (the
// time left until then). Zero if absent, malformed or past.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 || n > 1<<31 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(h)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now).Round(time.Second)
}
