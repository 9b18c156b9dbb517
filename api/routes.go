package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/records"
	"github.com/sealstore/sealstore/tokens"
)

// route is one row of the route table.
type route struct {
	method, path string
	// public routes need no token; others need a valid token holding
	// scope (any valid token if scope is zero).
	public  bool
	scope   tokens.Scope
	maxBody int64
	timeout time.Duration
	summary string
	// add registers the handler for op.
	add func(api huma.API, op huma.Operation)
}

// routes is the route table: every route sealstore serves.
func (s *server) routes() []route {
	items := func(a tokens.Action) tokens.Scope {
		return tokens.Scope{Collection: records.ItemsCollection, Action: a}
	}
	return []route{
		{method: http.MethodGet, path: "/healthz", public: true, timeout: time.Second, summary: "Liveness",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.healthz) }},
		{method: http.MethodGet, path: "/readyz",
			timeout: 10 * time.Second, summary: "Readiness: store and keys usable",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.readyz) }},
		{method: http.MethodPost, path: "/items/", scope: items(tokens.Write), maxBody: DefaultMaxBody,
			timeout: 30 * time.Second, summary: "Store a secret (reference-compatible)",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.postItem) }},
		{method: http.MethodGet, path: "/items/", scope: items(tokens.Read),
			timeout: time.Second, summary: "An empty item id: always 422",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.getEmptyItem) }},
		{method: http.MethodGet, path: "/items/{item_id}", scope: items(tokens.Read),
			timeout: 30 * time.Second, summary: "Read a secret (reference-compatible)",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.getItem) }},
		{method: http.MethodGet, path: "/metrics", scope: tokens.Scope{Collection: tokens.AnyCollection, Action: tokens.Admin},
			timeout: 10 * time.Second, summary: "Prometheus metrics",
			add: func(a huma.API, op huma.Operation) { huma.Register(a, op, s.metricsRoute) }},
	}
}

// register adds r to the API with its limits and access check.
func (s *server) register(r route) {
	op := huma.Operation{
		OperationID:   r.method + " " + r.path,
		Method:        r.method,
		Path:          r.path,
		Summary:       r.summary,
		MaxBodyBytes:  r.maxBody,
		DefaultStatus: http.StatusOK,
	}
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = 1 << 10
	}
	op.Middlewares = huma.Middlewares{s.withTimeout(r.timeout)}
	if !r.public {
		op.Middlewares = append(op.Middlewares, s.authorize(r.scope))
	}
	r.add(s.api, op)
}

func (s *server) withTimeout(d time.Duration) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		c, cancel := context.WithTimeout(ctx.Context(), d)
		defer cancel()
		next(huma.WithContext(ctx, c))
	}
}
