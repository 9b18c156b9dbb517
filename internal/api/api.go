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

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/docsui"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Records is what the routes need from the use-case layer.
type Records interface {
	PutSecret(ctx context.Context, id, secret string) error
	GetSecret(ctx context.Context, id string) (string, error)
	Ready(ctx context.Context) error

	PutCollection(ctx context.Context, name string, sc records.Schema) (records.CollectionInfo, bool, error)
	Collections(ctx context.Context) ([]records.CollectionInfo, error)
	Collection(ctx context.Context, name string) (records.CollectionInfo, error)
	Beacons(ctx context.Context, coll string) ([]records.BeaconAdvice, error)

	PutRecord(ctx context.Context, coll string, k records.Key, doc attr.Item, p records.Precondition) (string, error)
	GetRecord(ctx context.Context, coll string, k records.Key) (records.Record, error)
	DeleteRecord(ctx context.Context, coll string, k records.Key, p records.Precondition) error
	PatchRecord(ctx context.Context, coll string, k records.Key, patch attr.Item, p records.Precondition) (records.Record, error)
	ListRecords(ctx context.Context, coll string, q records.Query) (records.Page, error)
	BatchGet(ctx context.Context, coll string, keys []records.Key) ([]records.Result, error)
	BatchPut(ctx context.Context, coll string, reqs []records.PutRequest) ([]records.Result, error)
}

// Config wires the handler.
type Config struct {
	Records Records
	// Keys, if set, serves the key lifecycle routes.
	Keys KeyAdmin
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
	// Audit receives an entry per record, token and collection operation;
	// nil: no audit trail (tests of other things).
	Audit Auditor
	// TokenStore, if set, serves the /v1/tokens routes; TokensChanged is
	// called after each change, to reload the token set.
	TokenStore TokenStore
	// revoked names the token a change revoked ("" for a creation): it
	// must stop working before the response says it did.
	TokensChanged func(ctx context.Context, revoked string)
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
	if cfg.TokensChanged == nil {
		cfg.TokensChanged = func(context.Context, string) {}
		s.cfg.TokensChanged = cfg.TokensChanged
	}
	s.api = humago.New(exactMux{s.mux}, humaConfig(cfg.Version))
	for _, r := range s.routes() {
		if r.path == "/v1/tokens" || r.path == "/v1/tokens/{name}" {
			if cfg.TokenStore == nil {
				continue
			}
		}
		s.register(r)
	}
	spec, err := json.Marshal(s.api.OpenAPI())
	if err != nil {
		panic("api: OpenAPI document: " + err.Error())
	}
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(spec)
	})
	docs := docsui.Handler("/openapi.json")
	s.mux.Handle("GET /docs", docs)
	s.mux.Handle("GET /docs/assets/{file}", docs)
	s.mux.HandleFunc("/", s.unmatched)
	return s.outer(s.mux)
}

// humaConfig is huma's default without its CDN-hosted docs or schema
// links (New serves the OpenAPI document and self-hosted docs itself),
// with bearer-token security declared, and with error details that never
// echo request values.
func humaConfig(version string) huma.Config {
	c := huma.DefaultConfig("sealstore", version)
	c.CreateHooks = nil
	c.DocsPath = ""
	c.OpenAPIPath = ""
	c.SchemasPath = ""
	c.Transformers = []huma.Transformer{redactErrorValues}
	strict := strictJSON(huma.DefaultJSONFormat)
	c.Formats = map[string]huma.Format{"application/json": strict, "json": strict}
	c.Info.Description = "sealstore stores records encrypted and signed in the AWS Database Encryption SDK item format. " +
		"Every route but /healthz, /openapi.json and /docs needs a bearer token; errors are RFC 9457 problem+json."
	c.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A sealstore token (sst_...), scoped to collections."},
	}
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
