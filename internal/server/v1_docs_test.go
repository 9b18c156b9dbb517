package server_test

import (
	"cmp"
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/chromiumtest"
)

// openAPIDoc is the part of /openapi.json the tests read.
type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	Security    []map[string][]string `json:"security"`
	RequestBody *struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"responses"`
}

var httpMethods = []string{"get", "put", "post", "patch", "delete", "head", "options", "trace"}

// /openapi.json is OpenAPI 3.1 and describes every route of the route
// table, no other, with each documented error status as problem+json (on
// the reference routes, as FastAPI's application/json).
func TestV1OpenAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	r := s.do(http.MethodGet, "/openapi.json", "", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /openapi.json without a token: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("/openapi.json: Content-Type %q", ct)
	}
	var doc openAPIDoc
	mustDecode(t, "/openapi.json", r, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q; want 3.1.0", doc.OpenAPI)
	}

	want := map[string]routeSpec{}
	for _, rt := range routeTable {
		want[rt.method+" "+rt.path] = rt
	}
	var got []string
	for path, item := range doc.Paths {
		for _, m := range httpMethods {
			op, ok := item[m]
			if !ok {
				continue
			}
			key := strings.ToUpper(m) + " " + path
			got = append(got, key)
			rt, known := want[key]
			if !known {
				t.Errorf("/openapi.json describes %s, which is not in the route table", key)
				continue
			}
			checkOperation(t, key, rt, op)
		}
	}
	for key := range want {
		if !slices.Contains(got, key) {
			t.Errorf("/openapi.json does not describe %s", key)
		}
	}
}

// successStatus is the success status of the routes that do not answer
// 200 (PUT collection and records answer 201 on create, 200 otherwise:
// OpenAPI names the 200).
var successStatus = map[string]int{"POST /v1/collections/{name}/keys:rewrap": http.StatusAccepted,
	"POST /v1/collections/{name}/imports": http.StatusAccepted}

// checkOperation checks one operation of the OpenAPI document.
func checkOperation(t *testing.T, key string, rt routeSpec, op openAPIOperation) {
	t.Helper()
	ok := cmp.Or(successStatus[key], http.StatusOK)
	if _, found := op.Responses[strconv.Itoa(ok)]; !found {
		t.Errorf("%s: no %d response; the route answers %d on success", key, ok, ok)
	}
	if _, found := op.Responses["200"]; found && ok != http.StatusOK {
		t.Errorf("%s: a 200 response; the route answers %d on success", key, ok)
	}
	// The reference routes answer errors as FastAPI does: application/json,
	// HTTPValidationError for 422, HTTPError otherwise; all others
	// problem+json.
	errType := problemJSON
	if strings.HasPrefix(rt.path, "/items/") {
		errType = "application/json"
	}
	for _, st := range rt.errors {
		res, ok := op.Responses[strconv.Itoa(st)]
		if !ok {
			t.Errorf("%s: no %d response", key, st)
			continue
		}
		if _, ok := res.Content[errType]; !ok || len(res.Content) != 1 {
			t.Errorf("%s: %d response content %v; want %s only", key, st, slices.Sorted(maps.Keys(res.Content)), errType)
		}
	}
	for code, res := range op.Responses {
		n, _ := strconv.Atoi(code)
		if n < 400 && code != "default" {
			continue
		}
		if res.Content[errType] == nil {
			t.Errorf("%s: response %s is not %s", key, code, errType)
		}
		if errType == problemJSON {
			continue
		}
		want := map[bool]string{true: "HTTPValidationError", false: "HTTPError"}[n == http.StatusUnprocessableEntity]
		if ref := string(res.Content[errType]); !strings.Contains(ref, `"#/components/schemas/`+want+`"`) {
			t.Errorf("%s: response %s is %s; want the %s schema", key, code, ref, want)
		}
	}
	public := rt.path == "/healthz"
	if secured := len(op.Security) > 0; secured == public {
		t.Errorf("%s: security %v; want a bearer requirement on every route but /healthz", key, op.Security)
	}
	if strings.HasPrefix(key, "PATCH ") {
		if op.RequestBody == nil || op.RequestBody.Content[mergePatch] == nil {
			t.Errorf("%s: request body is not %s", key, mergePatch)
		}
	}
}

// /docs and its assets come from the binary, under a CSP that allows
// neither inline code nor any other origin.
func TestV1DocsHeaders(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	page := s.do(http.MethodGet, "/docs", "", nil, nil)
	for path, ctype := range map[string]string{
		"/docs":                "text/html",
		"/docs/assets/app.js":  "text/javascript",
		"/docs/assets/app.css": "text/css",
	} {
		r := s.do(http.MethodGet, path, "", nil, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), ctype) || len(r.body) == 0 {
			t.Errorf("GET %s: %d, Content-Type %q, %d bytes; want 200 %s", path, r.status, r.header.Get("Content-Type"), len(r.body), ctype)
		}
		csps := r.header.Values("Content-Security-Policy")
		if len(csps) != 1 {
			t.Errorf("GET %s: %d CSP headers %q; want one", path, len(csps), csps)
			continue
		}
		csp := csps[0]
		for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "http:", "https:", "*", "'unsafe-hashes'"} {
			if strings.Contains(csp, bad) {
				t.Errorf("GET %s: CSP %q allows %s", path, csp, bad)
			}
		}
		for _, need := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, need) {
				t.Errorf("GET %s: CSP %q lacks %s", path, csp, need)
			}
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", path)
		}
	}
	// Nothing on the page comes from elsewhere, and no script is inline.
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(string(page.body), -1) {
		if u := html.UnescapeString(m[1]); !strings.HasPrefix(u, "/docs/assets/") && u != "data:," {
			t.Errorf("/docs refers to %q, not an embedded asset", u)
		}
	}
	if regexp.MustCompile(`(?is)<script[^>]*>\s*[^<\s]`).Match(page.body) || regexp.MustCompile(`(?i)<style|\son[a-z]+\s*=`).Match(page.body) {
		t.Errorf("/docs has inline script, style or event handlers:\n%s", page.body)
	}
}

// operationTag matches an operation element of the rendered page.
var operationTag = regexp.MustCompile(`<[a-z]+\s[^>]*class="operation"[^>]*>`)

// /docs renders in headless Chromium with no network but the server's,
// under its CSP, and shows every record operation.
func TestV1DocsChromium(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	dom := chromiumtest.DOM(t, s.url("/docs"))
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	if !strings.Contains(body, `data-ready="true"`) {
		t.Fatalf("/docs did not finish rendering: body tag %q; DOM:\n%.3000s", body, dom)
	}
	if strings.Contains(body, "data-csp-violations") {
		t.Errorf("/docs: the CSP blocked something on the page: %s", body)
	}
	attrOf := func(tag, name string) string {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return html.UnescapeString(m[1])
	}
	shown := map[string]bool{}
	for _, tag := range operationTag.FindAllString(dom, -1) {
		shown[attrOf(tag, "data-method")+" "+attrOf(tag, "data-path")] = true
	}
	rec := "/v1/collections/{name}/records/{id}"
	for _, op := range []string{"GET " + rec, "PUT " + rec, "PATCH " + rec, "DELETE " + rec,
		"POST /v1/collections/{name}/records:batchGet", "POST /v1/collections/{name}/records:batchPut",
		"GET /v1/collections/{name}/records", "PUT /v1/collections/{name}", "GET /v1/audit", "POST /v1/tokens"} {
		if !shown[op] {
			t.Errorf("/docs shows no operation %s", op)
		}
	}
	if len(shown) != len(routeTable) {
		t.Errorf("/docs shows %d operations; the route table has %d", len(shown), len(routeTable))
	}
	chromiumtest.Screenshot(t, s.url("/docs"), filepath.Join(t.TempDir(), "docs.png"))
}
