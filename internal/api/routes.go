package api

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/docsui"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// route is one row of the route table.
type route struct {
	// method and path make the pattern; an empty method matches every
	// method (the fallback).
	method, path string
	// serves says which deployments serve the route.
	serves feature
	// public routes need no token; others need a valid token holding
	// scope (any valid token if scope is zero).
	public bool
	scope  tokens.Scope
	// collection routes take scope.Collection from the path's {name}, and
	// answer 404 to tokens with no scope on that collection.
	collection bool
	// action names the operation in the audit trail when access is denied
	// (package audit's list).
	action  string
	maxBody int64
	timeout time.Duration
	summary string
	tags    []string
	// errors lists the error statuses the route can answer, for OpenAPI.
	errors []int
	// status is the success status OpenAPI names; 200 if zero.
	status int
	// reference routes answer errors as the reference's FastAPI app does
	// (reference.go).
	reference bool
	// add registers the handler for op (a route of the API, documented
	// in OpenAPI); raw instead serves the route as it is (the documents
	// that describe the API, and the fallback), public and undocumented.
	add func(api huma.API, op huma.Operation)
	raw http.Handler
}

// feature is a part of the API that not every deployment serves.
type feature int

const (
	always       feature = iota
	keyLifecycle         // Config.Keys is set
	tokenAdmin           // Config.TokenStore is set
	auditVerify          // Config.VerifyAudit is set
	imports              // Config.Imports is set
)

func (r route) pattern() string {
	if r.method == "" {
		return r.path
	}
	return r.method + " " + r.path
}

// Error statuses most routes share.
var (
	authErrors   = []int{401, 403, 429, 500, 503}
	recordErrors = []int{400, 401, 403, 404, 410, 412, 413, 422, 429, 500, 503}
)

// Route timeouts.
const (
	itemTimeout  = 30 * time.Second
	adminTimeout = 60 * time.Second
	keysTimeout  = 5 * time.Minute // status and retire count every record
)

// routes is the route table: every route sealstore serves.
func (s *server) routes() []route {
	var rs []route
	for _, part := range [][]route{s.serviceRoutes(), s.referenceRoutes(), s.collectionRoutes(),
		s.recordRoutes(), s.keyRoutes(), s.importRoutes(), s.tokenRoutes(), s.documentRoutes()} {
		rs = append(rs, part...)
	}
	return rs
}

func (s *server) serviceRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/healthz", public: true, timeout: time.Second, summary: "Liveness", tags: []string{"Service"},
			add: handle(s.healthz)},
		{method: http.MethodGet, path: "/readyz", tags: []string{"Service"}, errors: authErrors,
			timeout: 10 * time.Second, summary: "Readiness: store and keys usable",
			add: handle(s.readyz)},
		{method: http.MethodGet, path: "/metrics", scope: tokens.Scope{Collection: tokens.AnyCollection, Action: tokens.Metrics},
			timeout: 10 * time.Second, summary: "Prometheus metrics (a *:metrics or *:admin token)", tags: []string{"Service"}, errors: authErrors,
			add: handle(s.metricsRoute)},
		{method: http.MethodGet, path: "/v1/audit", tags: []string{"Audit"},
			timeout: adminTimeout, summary: "Read the audit trail (admin)", errors: []int{401, 403, 422, 429, 500, 503},
			add: handle(s.listAudit)},
		{method: http.MethodPost, path: "/v1/audit:verify", serves: auditVerify, tags: []string{"Audit"},
			scope: tokens.Scope{Collection: tokens.AnyCollection, Action: tokens.Admin}, maxBody: 8 << 20,
			timeout: keysTimeout, summary: "Verify the audit trail in the server: every chain's MACs, checkpoints kept outside, and optionally every record against its last audited write (*:admin)",
			errors: []int{401, 403, 422, 429, 500, 503}, add: handle(s.verifyAudit)},
	}
}

func (s *server) referenceRoutes() []route {
	items := func(a tokens.Action) tokens.Scope {
		return tokens.Scope{Collection: records.ItemsCollection, Action: a}
	}
	tags := []string{"Reference-compatible"}
	return []route{
		{method: http.MethodPost, path: "/items/", scope: items(tokens.Write), maxBody: DefaultMaxBody, tags: tags, reference: true,
			timeout: itemTimeout, summary: "Store a secret (reference-compatible)", errors: recordErrors,
			add: handle(s.postItem)},
		{method: http.MethodGet, path: "/items/", scope: items(tokens.Read), tags: tags, reference: true,
			timeout: time.Second, summary: "An empty item id: always 422", errors: []int{401, 403, 422},
			add: handle(s.getEmptyItem)},
		{method: http.MethodGet, path: "/items/{item_id}", scope: items(tokens.Read), tags: tags, reference: true,
			timeout: itemTimeout, summary: "Read a secret (reference-compatible)", errors: recordErrors,
			add: handle(s.getItem)},
	}
}

func (s *server) collectionRoutes() []route {
	read, admin := tokens.Scope{Action: tokens.Read}, tokens.Scope{Action: tokens.Admin}
	tags := []string{"Collections"}
	return []route{
		{method: http.MethodGet, path: "/v1/collections", tags: tags, errors: authErrors,
			timeout: itemTimeout, summary: "List the collections this token has a scope on",
			add: handle(s.listCollections)},
		{method: http.MethodPut, path: "/v1/collections/{name}", scope: admin, collection: true, action: audit.CollectionPut, tags: tags,
			maxBody: 64 << 10, timeout: adminTimeout, summary: "Create a collection or change its schema", errors: []int{401, 403, 404, 409, 422, 429, 500, 503},
			add: handle(s.putCollection)},
		{method: http.MethodGet, path: "/v1/collections/{name}", scope: read, collection: true, action: audit.CollectionGet, tags: tags,
			timeout: itemTimeout, summary: "Describe a collection", errors: []int{401, 403, 404, 429, 500, 503},
			add: handle(s.getCollection)},
		{method: http.MethodGet, path: "/v1/collections/{name}/reader-config", scope: read, collection: true, action: audit.CollectionReader, tags: tags,
			timeout: itemTimeout, summary: "The table configuration an official DB-ESDK client (or ddbenc) needs to read the collection", errors: []int{401, 403, 404, 410, 429, 500, 503},
			add: handle(s.readerConfig)},
		{method: http.MethodGet, path: "/v1/collections/{name}/beacons", scope: admin, collection: true, action: audit.CollectionBeacons, tags: tags,
			timeout: adminTimeout, summary: "Beacon length advice from the stored beacons", errors: []int{401, 403, 404, 410, 429, 500, 503},
			add: handle(s.getBeacons)},
	}
}

func (s *server) recordRoutes() []route {
	read, write := tokens.Scope{Action: tokens.Read}, tokens.Scope{Action: tokens.Write}
	tags := []string{"Records"}
	rs := []route{
		{method: http.MethodGet, path: "/v1/collections/{name}/records", scope: read, collection: true, action: audit.RecordList, tags: tags,
			timeout: itemTimeout, summary: "List records, or search them: ?attribute=value on searchable attributes", errors: recordErrors,
			add: handle(s.listRecords)},
		{method: http.MethodPost, path: "/v1/collections/{name}/records:batchGet", scope: read, collection: true, action: audit.RecordGet, tags: tags,
			maxBody: 64 << 10, timeout: adminTimeout, summary: "Read up to 100 records; one result per key", errors: recordErrors,
			add: handle(s.batchGet)},
		{method: http.MethodPost, path: "/v1/collections/{name}/records:batchPut", scope: write, collection: true, action: audit.RecordPut, tags: tags,
			maxBody: 25 * DefaultMaxBody, timeout: adminTimeout, summary: "Write up to 25 records; one result per record, no all-or-nothing", errors: recordErrors,
			add: handle(s.batchPut)},
	}
	for _, p := range []struct {
		path                 string
		get, put, patch, del func(huma.API, huma.Operation)
	}{
		{"/v1/collections/{name}/records/{id}", handle(s.getRecord), handle(s.putRecord), handle(s.patchRecord), handle(s.deleteRecord)},
		{"/v1/collections/{name}/records/{id}/{sort}", handle(s.getSortedRecord), handle(s.putSortedRecord), handle(s.patchSortedRecord), handle(s.deleteSortedRecord)},
	} {
		rs = append(rs,
			route{method: http.MethodGet, path: p.path, scope: read, collection: true, action: audit.RecordGet, tags: tags,
				timeout: itemTimeout, summary: "Read a record (ETag header: its version)", errors: recordErrors, add: p.get},
			route{method: http.MethodPut, path: p.path, scope: write, collection: true, action: audit.RecordPut, tags: tags,
				maxBody: DefaultMaxBody, timeout: itemTimeout, summary: "Store a record (If-Match / If-None-Match: * for safe updates)", errors: recordErrors, add: p.put},
			route{method: http.MethodPatch, path: p.path, scope: write, collection: true, action: audit.RecordPatch, tags: tags,
				maxBody: DefaultMaxBody, timeout: itemTimeout, summary: "Change fields with a JSON merge patch (encrypted fields too); the merged record comes back to tokens that may read it, 204 to others", errors: append([]int{409}, recordErrors...), add: p.patch},
			route{method: http.MethodDelete, path: p.path, scope: write, collection: true, action: audit.RecordDelete, tags: tags,
				timeout: itemTimeout, summary: "Delete a record", errors: recordErrors, add: p.del},
		)
	}
	return rs
}

// keyRoutes are the key lifecycle's rows: every one needs admin on the
// collection.
func (s *server) keyRoutes() []route {
	admin := tokens.Scope{Action: tokens.Admin}
	errs := []int{401, 403, 404, 409, 410, 422, 429, 500, 503}
	keys := func(method, path, action, summary string, add func(huma.API, huma.Operation)) route {
		return route{method: method, path: "/v1/collections/{name}/" + path, serves: keyLifecycle, scope: admin, collection: true, action: action,
			tags: []string{"Keys"}, maxBody: 4 << 10, timeout: keysTimeout, summary: summary, errors: errs, add: add}
	}
	rewrap := keys(http.MethodPost, "keys:rewrap", audit.KeysRewrap, "Start (or resume) re-encrypting every record under the active version, inside the server; 202 with the job", handle(s.startRewrap))
	rewrap.status = http.StatusAccepted
	return []route{
		keys(http.MethodGet, "keys", audit.KeysStatus, "Key versions, the active and minimum decryptable ones, and the records under each (counted)", handle(s.keyStatus)),
		keys(http.MethodPost, "keys:rotate", audit.KeysRotate, "Rotate: a new branch key version becomes active; older records keep reading", handle(s.rotateKey)),
		keys(http.MethodPost, "keys:retire", audit.KeysRetire, "Retire every version below a minimum: their records are refused from then on (refused while such records remain, unless forced)", handle(s.retireKeys)),
		keys(http.MethodPut, "keys/schedule", audit.KeysSchedule, "Set or clear the automatic rotation period", handle(s.scheduleKeys)),
		rewrap,
		keys(http.MethodGet, "keys/rewrap", audit.KeysRewrapStatus, "Progress of the collection's rewrap", handle(s.rewrapStatus)),
		keys(http.MethodDelete, "keys", audit.KeysShred, "Shred: destroy every key version and the beacon key; every record of the collection becomes unreadable, for good", handle(s.shredKeys)),
	}
}

// importRoutes are the rows of imports into a collection: every one
// needs admin on the collection.
func (s *server) importRoutes() []route {
	admin := tokens.Scope{Action: tokens.Admin}
	row := func(method, path, summary string, add func(huma.API, huma.Operation)) route {
		return route{method: method, path: "/v1/collections/{name}/" + path, serves: imports, scope: admin, collection: true,
			action: audit.RecordImport, tags: []string{"Imports"}, maxBody: 16 << 10, timeout: adminTimeout, summary: summary,
			errors: []int{401, 403, 404, 409, 410, 422, 429, 500, 503}, add: add}
	}
	start := row(http.MethodPost, "imports", "Start (or resume) importing a DynamoDB table (the reference layout, or a plaintext table with a map) into the collection, inside the server; 202 with the job", handle(s.startImport))
	start.status = http.StatusAccepted
	return []route{
		start,
		row(http.MethodGet, "imports", "Progress of the collection's import (its current or last job)", handle(s.importStatus)),
		row(http.MethodGet, "imports/problems", "The source items the import did not import, verify or delete, by key, with the reason", handle(s.importProblems)),
	}
}

func (s *server) tokenRoutes() []route {
	tags := []string{"Tokens"}
	return []route{
		{method: http.MethodPost, path: "/v1/tokens", serves: tokenAdmin, tags: tags, maxBody: 16 << 10,
			timeout: itemTimeout, summary: "Create a token (shown once) with scopes you administer", errors: []int{401, 403, 409, 422, 429, 500, 503},
			add: handle(s.createToken)},
		{method: http.MethodGet, path: "/v1/tokens", serves: tokenAdmin, tags: tags,
			timeout: itemTimeout, summary: "List the tokens you administer", errors: authErrors,
			add: handle(s.listTokens)},
		{method: http.MethodDelete, path: "/v1/tokens/{name}", serves: tokenAdmin, tags: tags,
			timeout: itemTimeout, summary: "Revoke a token you administer", errors: []int{401, 404, 429, 500, 503},
			add: handle(s.revokeToken)},
	}
}

// documentRoutes serve the API's own description and the fallback that
// answers every request no other row matches.
func (s *server) documentRoutes() []route {
	docs := docsui.Handler("/openapi.json")
	return []route{
		{method: http.MethodGet, path: "/openapi.json", public: true, summary: "The OpenAPI 3.1 document of these routes", raw: http.HandlerFunc(s.openAPI)},
		{method: http.MethodGet, path: "/docs", public: true, summary: "The API's documentation page (self-hosted)", raw: docs},
		{method: http.MethodGet, path: "/docs/assets/{file}", public: true, summary: "The documentation page's scripts and styles", raw: docs},
		{path: "/", public: true, summary: "Anything else: 405 with Allow for a known path, else 404", raw: http.HandlerFunc(s.unmatched)},
	}
}

// register adds r to the API with its limits and access check.
func (s *server) register(r route) {
	op := huma.Operation{
		OperationID:   r.method + " " + r.path,
		Method:        r.method,
		Path:          r.path,
		Summary:       r.summary,
		Tags:          r.tags,
		Errors:        r.errors,
		MaxBodyBytes:  r.maxBody,
		DefaultStatus: cmp.Or(r.status, http.StatusOK),
	}
	if !r.public {
		op.Security = []map[string][]string{{"bearer": {}}}
	}
	if r.reference {
		op.Metadata = map[string]any{referenceRoute: true}
	}
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = 1 << 10
	}
	op.Middlewares = huma.Middlewares{s.withTimeout(r.timeout)}
	if !r.public {
		op.Middlewares = append(op.Middlewares, s.authorize(r))
	}
	// readBody reads any body, under its own deadline. huma, left to
	// itself, would set a read deadline again (5 s) when it parses the
	// body, after net/http has begun its background read of the
	// connection: when that deadline passed, the failed read would cancel
	// the request's context, and so any handler still working (see
	// readBody).
	op.Middlewares = append(op.Middlewares, s.readBody(op.MaxBodyBytes))
	op.BodyReadTimeout = -1
	r.add(s.api, op)
}

// writeMargin is how long after its route's timeout an answer may still
// be written.
const writeMargin = 30 * time.Second

// withTimeout bounds the route's work by d, and lets its answer be written
// until d and writeMargin have passed: the HTTP server's own write timeout
// (a minute from the request) would otherwise cut off the answers of routes
// allowed longer, such as the key routes that count every record.
func (s *server) withTimeout(d time.Duration) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		_, w := humago.Unwrap(ctx)
		// Not every writer has deadlines (a test's recorder): nothing to extend.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + writeMargin))
		c, cancel := context.WithTimeout(ctx.Context(), d)
		defer cancel()
		next(huma.WithContext(ctx, c))
	}
}

// handle adapts a typed handler to the route table.
func handle[I, O any](h func(context.Context, *I) (*O, error)) func(huma.API, huma.Operation) {
	return func(a huma.API, op huma.Operation) { huma.Register(a, op, h) }
}
