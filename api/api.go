// Package api is sealstore's HTTP interface: one table of routes, bearer
// token checks, problem+json errors (RFC 9457), security headers and a
// request log that never holds a body, a secret or a token.
//
// The handler returned by New serves HTTPS traffic; Redirect serves the
// optional plain-HTTP port, which only sends clients to HTTPS.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sealstore/sealstore/tokens"
)

// Records is what the routes need from the use-case layer.
type Records interface {
	PutSecret(ctx context.Context, id, secret string) error
	GetSecret(ctx context.Context, id string) (string, error)
	Ready(ctx context.Context) error
}

// Config wires the handler.
type Config struct {
	Records Records
	// Tokens returns the current token set; it is called on every request,
	// so a reload takes effect at once.
	Tokens func() *tokens.Set
	Log    *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
	// FailureLimit is how many failed authentications one address may make
	// per FailureWindow before it gets 429s; zero means the defaults.
	FailureLimit  int
	FailureWindow time.Duration
	// Version is reported in the OpenAPI document.
	Version string
}

// DefaultMaxBody is the body limit of the write routes: DynamoDB's 400 KB
// item limit plus room for JSON escaping.
const DefaultMaxBody = 512 << 10

// server holds what the routes share.
type server struct {
	cfg     Config
	api     huma.API
	mux     *http.ServeMux
	limiter *limiter
	metrics *Metrics
	log     *slog.Logger
	ids     *requestIDs
}

// New returns the HTTPS handler.
func New(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	s := &server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		limiter: newLimiter(cfg.FailureLimit, cfg.FailureWindow, time.Now),
		metrics: cfg.Metrics,
		log:     cfg.Log,
		ids:     newRequestIDs(),
	}
	s.api = humago.New(exactMux{s.mux}, humaConfig(cfg.Version))
	for _, r := range s.routes() {
		s.register(r)
	}
	s.mux.HandleFunc("/", s.unmatched)
	return s.outer(s.mux)
}

// humaConfig is huma's default without its CDN-hosted docs, schema links
// or public OpenAPI routes (every route but /healthz needs a token), and
// with error details that never echo request values.
func humaConfig(version string) huma.Config {
	c := huma.DefaultConfig("sealstore", version)
	c.CreateHooks = nil
	c.DocsPath = ""
	c.OpenAPIPath = ""
	c.SchemasPath = ""
	c.Transformers = []huma.Transformer{redactErrorValues}
	strict := strictJSON(huma.DefaultJSONFormat)
	c.Formats = map[string]huma.Format{"application/json": strict, "json": strict}
	return c
}

// strictJSON refuses bodies that are not valid UTF-8. Go's JSON decoder
// would replace each bad byte with U+FFFD, so "a\xffb" and "a\xfeb" would
// name the same record and a secret would be stored other than sent.
func strictJSON(f huma.Format) huma.Format {
	unmarshal := f.Unmarshal
	f.Unmarshal = func(data []byte, v any) error {
		if !utf8.Valid(data) {
			return errors.New("the body is not valid UTF-8")
		}
		err := unmarshal(data, v)
		// The decoder's messages quote the body (the offending character,
		// a whole out-of-range number), which may be a secret's: say where
		// the problem is instead.
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &syn):
			return fmt.Errorf("the body is not valid JSON (error at byte %d)", syn.Offset)
		case errors.As(err, &typ):
			return fmt.Errorf("a value in the body has the wrong type or is out of range (at byte %d)", typ.Offset)
		}
		return errors.New("the body is not valid JSON")
	}
	return f
}

// redactErrorValues drops the request values huma copies into validation
// error details (for a JSON syntax error, the whole body): a secret sent
// with the wrong type must not come back in the response.
func redactErrorValues(_ huma.Context, _ string, v any) (any, error) {
	if em, ok := v.(*huma.ErrorModel); ok {
		for _, d := range em.Errors {
			if d != nil {
				d.Value = nil
			}
		}
	}
	return v, nil
}

// exactMux registers patterns ending in "/" as exact matches ("/items/"
// must not also match "/items/x"), as the paths read in the route table.
type exactMux struct{ *http.ServeMux }

func (m exactMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if len(pattern) > 0 && pattern[len(pattern)-1] == '/' {
		pattern += "{$}"
	}
	m.ServeMux.HandleFunc(pattern, h)
}
