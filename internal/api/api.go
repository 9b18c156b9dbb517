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

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/jsoncheck"
	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/internal/tokens"
)

// What the routes need from the use-case layer; api.New wraps each in
// package audited, the one audit point, so handlers never write an audit
// entry themselves.
type (
	// Records is the records use cases (records.Service).
	Records = audited.Records
	// KeyAdmin is the key lifecycle the /v1/collections/{name}/keys
	// routes run (records.Service).
	KeyAdmin = audited.Keys
	// TokenStore is the token administration (tokens.Store).
	TokenStore = audited.Tokens
	// Imports are the import jobs the /v1/collections/{name}/imports
	// routes run (records.Service).
	Imports = audited.Imports
)

// Config wires the handler.
type Config struct {
	Records Records
	// Keys, if set, serves the key lifecycle routes.
	Keys KeyAdmin
	// Imports, if set, serves the import routes.
	Imports Imports
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
	// KeyStore says where the deployment's branch keys are, and TableName
	// (if set) maps a logical table name to its physical one, for the
	// reader configurations GET /v1/collections/{name}/reader-config
	// answers.
	KeyStore  readerconfig.KeyStore
	TableName func(logical string) string
	// VerifyAudit, if set, serves POST /v1/audit:verify: it verifies the
	// trail (with checkpoints, and records when asked) in the server,
	// for the command line while the server holds the data directory.
	VerifyAudit func(ctx context.Context, cps []audit.Checkpoint, records bool) (audit.Report, *audit.RecordsReport, error)
}

// DefaultMaxBody is the body limit of the write routes: DynamoDB's 400 KB
// item limit plus room for JSON escaping.
const DefaultMaxBody = 512 << 10

// server holds what the routes share.
type server struct {
	cfg     Config
	svc     *audited.Service
	api     huma.API
	mux     *http.ServeMux
	limiter *limiter
	metrics *Metrics
	log     *slog.Logger
	ids     *requestIDs
	spec    []byte // the OpenAPI document, once every route is registered
}

// New returns the HTTPS handler.
func New(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.TokensChanged == nil {
		cfg.TokensChanged = func(context.Context, string) {}
	}
	s := &server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		limiter: newLimiter(cfg.FailureLimit, cfg.FailureWindow, time.Now),
		metrics: cfg.Metrics,
		log:     cfg.Log,
		ids:     newRequestIDs(),
	}
	ac := audited.Config{Records: cfg.Records, Keys: cfg.Keys, Tokens: cfg.TokenStore, Imports: cfg.Imports, Appended: s.appended, LogError: s.logError}
	if cfg.Audit != nil {
		ac.Trail = cfg.Audit
	}
	s.svc = audited.New(ac)
	s.api = routeAPI{humago.New(exactMux{s.mux}, humaConfig(cfg.Version))}
	for _, r := range s.routes() {
		switch {
		case !s.serves(r.serves):
		case r.raw != nil:
			s.mux.Handle(r.pattern(), r.raw)
		default:
			s.register(r)
		}
	}
	spec, err := json.Marshal(s.api.OpenAPI())
	if err != nil {
		panic("api: OpenAPI document: " + err.Error())
	}
	s.spec = spec
	return s.outer(s.mux)
}

// serves reports whether this deployment serves the routes of f.
func (s *server) serves(f feature) bool {
	switch f {
	case keyLifecycle:
		return s.cfg.Keys != nil
	case tokenAdmin:
		return s.cfg.TokenStore != nil
	case auditVerify:
		return s.cfg.VerifyAudit != nil
	case imports:
		return s.cfg.Imports != nil
	}
	return true
}

// openAPI serves the OpenAPI document of the registered routes.
func (s *server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.spec)
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
	c.Transformers = []huma.Transformer{redactErrorValues, fastAPIErrors}
	strict := strictJSON(huma.DefaultJSONFormat)
	c.Formats = map[string]huma.Format{"application/json": strict, "json": strict}
	c.Info.Description = "sealstore stores records encrypted and signed in the AWS Database Encryption SDK item format. " +
		"Every route but /healthz, /openapi.json and /docs needs a bearer token; errors are RFC 9457 problem+json, " +
		"but on the reference routes (/items/), which answer them as FastAPI does: application/json {\"detail\": ...}."
	c.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A sealstore token (sst_...), scoped to collections."},
	}
	return c
}

// strictJSON refuses bodies that are not valid UTF-8 or that escape an
// unpaired UTF-16 surrogate ("\ud800"). Go's JSON decoder would replace
// each with U+FFFD, so "a\xffb" and "a\xfeb" would name the same record
// and a secret would be stored other than sent.
func strictJSON(f huma.Format) huma.Format {
	unmarshal := f.Unmarshal
	f.Unmarshal = func(data []byte, v any) error {
		if err := jsoncheck.Check(data); err != nil {
			return fmt.Errorf("the body %w", err)
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
