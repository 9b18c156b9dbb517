package docsui

import (
	"context"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/sealstore/sealstore/internal/chromiumtest"
)

// The API that the browser tests document: a record store in the shape of
// sealstore's, described by huma. Embedded types are exported, or huma
// would not see their fields.

type RecordPath struct {
	Collection string `path:"c" doc:"The collection." pattern:"^[a-z][a-z0-9-]{0,62}$"`
	ID         string `path:"id" doc:"The record's id." maxLength:"256"`
}

type RecordBody struct {
	Value      string            `json:"value" doc:"The secret; stored encrypted."`
	Attributes map[string]string `json:"attributes" doc:"Plaintext attributes, authenticated but not encrypted."`
	Expires    *time.Time        `json:"expires" nullable:"true" doc:"When the record expires, or null."`
	Tags       []string          `json:"tags,omitempty" maxItems:"8"`
}

type record struct {
	ID      string `json:"id"`
	Version int64  `json:"version" minimum:"1"`
	RecordBody
}

type recordOutput struct {
	ETag string `header:"ETag"`
	Body record
}

type putInput struct {
	RecordPath
	IfMatch string `header:"If-Match" required:"false" doc:"Replace only if the record's ETag is this."`
	Body    RecordBody
}

// api serves the test API, remembering what reached it.
type api struct {
	mu       sync.Mutex
	requests []hit
}

type hit struct{ method, uri, auth, ifMatch, value string }

func (a *api) saw(r *http.Request, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, hit{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("If-Match"), value})
}

func (a *api) hits() []hit {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]hit(nil), a.requests...)
}

// register adds the operations to mux, and the description at
// /openapi.json. It returns how many operations there are.
func (a *api) register(mux *http.ServeMux) int {
	cfg := huma.DefaultConfig("sealstore test API", "1.2.3")
	cfg.CreateHooks, cfg.DocsPath, cfg.SchemasPath = nil, "", ""
	cfg.Info.Description = "Encrypted records, for the docs page test."
	h := humago.New(mux, cfg)
	path := "/v1/collections/{c}/records/{id}"
	huma.Register(h, huma.Operation{
		OperationID: "get-record", Method: http.MethodGet, Path: path, Tags: []string{"records"},
		Summary: "Read a record", Description: "Decrypts and returns one record.", Errors: []int{401, 403, 404},
	}, func(ctx context.Context, in *RecordPath) (*recordOutput, error) {
		a.saw(humaRequest(ctx), "")
		return &recordOutput{ETag: `"v1"`, Body: record{ID: in.ID, Version: 1, RecordBody: RecordBody{Value: "s"}}}, nil
	})
	huma.Register(h, huma.Operation{
		OperationID: "put-record", Method: http.MethodPut, Path: path, Tags: []string{"records"},
		Summary: "Store a record", Errors: []int{401, 403, 412, 413, 422},
	}, func(ctx context.Context, in *putInput) (*recordOutput, error) {
		a.saw(humaRequest(ctx), in.Body.Value)
		return &recordOutput{ETag: `"v2"`, Body: record{ID: in.ID, Version: 2, RecordBody: in.Body}}, nil
	})
	huma.Register(h, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Summary: "Liveness",
	}, func(context.Context, *struct{}) (*struct{ Body struct{ Status string } }, error) {
		return &struct{ Body struct{ Status string } }{}, nil
	})
	return 3
}

type requestKey struct{}

func humaRequest(ctx context.Context) *http.Request {
	r, _ := ctx.Value(requestKey{}).(*http.Request)
	return r
}

// server serves the docs page, the API and its description over TLS, all
// under the page's CSP, plus extra routes for the tests.
func server(t *testing.T, extra map[string]http.HandlerFunc) (*httptest.Server, *api, int) {
	t.Helper()
	mux := http.NewServeMux()
	docs := Handler("/openapi.json")
	mux.Handle("/docs", docs)
	mux.Handle("/docs/assets/", docs)
	a := &api{}
	n := a.register(mux)
	for p, h := range extra {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if w.Header().Get("Content-Security-Policy") == "" {
			w.Header().Set("Content-Security-Policy", CSP)
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	}))
	t.Cleanup(srv.Close)
	return srv, a, n
}

// docsPage returns the docs page with before inserted before </head> and
// after before </body>, and the CSP watcher (cspWatch) first in <head>.
func docsPage(t *testing.T, before, after string) string {
	t.Helper()
	p := body(t, get(t, Handler("/openapi.json"), "GET", "/docs"))
	p = strings.Replace(p, "<head>", `<head><script src="/test/csp-watch.js"></script>`, 1)
	return strings.Replace(strings.Replace(p, "</head>", before+"</head>", 1), "</body>", after+"</body>", 1)
}

// cspWatch records every CSP violation of a docsPage in the root element's
// data-csp-seen. It runs before the page is parsed (app.js's own counter
// starts only after, being deferred), so it sees violations during
// parsing too.
const cspWatch = `"use strict";
document.addEventListener("securitypolicyviolation", (e) => {
  const seen = document.documentElement.dataset.cspSeen || "";
  document.documentElement.dataset.cspSeen = seen + e.violatedDirective + " " + e.blockedURI + ";";
});
`

// cspSeen is what the CSP watcher recorded in dom ("" for nothing).
func cspSeen(dom string) string {
	m := regexp.MustCompile(`<html[^>]* data-csp-seen="([^"]*)"`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func serveHTML(s, csp string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(s))
	}
}

func serveJS(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(s))
	}
}

var attrRE = regexp.MustCompile(`([a-zA-Z-]+)="([^"]*)"`)

// elements returns the attributes of each start tag in dom that has class
// (among others).
func elements(dom, class string) []map[string]string {
	var out []map[string]string
	for _, tag := range regexp.MustCompile(`<[a-z]+\s[^>]*>`).FindAllString(dom, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = html.UnescapeString(m[2])
		}
		if strings.Contains(" "+attrs["class"]+" ", " "+class+" ") {
			out = append(out, attrs)
		}
	}
	return out
}

func TestBrowserRendersHumaDescription(t *testing.T) {
	t.Parallel()
	// The page as /docs serves it, with the CSP watcher first in <head>.
	srv, _, n := server(t, map[string]http.HandlerFunc{
		"/watched":           serveHTML(docsPage(t, "", ""), CSP),
		"/test/csp-watch.js": serveJS(cspWatch),
	})
	start := time.Now()
	dom := chromiumtest.DOM(t, srv.URL+"/watched")
	t.Logf("rendered in %v", time.Since(start).Round(time.Millisecond))

	if !regexp.MustCompile(`<body[^>]* data-ready="true"`).MatchString(dom) {
		t.Fatalf("body is not data-ready=true:\n%s", dom)
	}
	if seen := cspSeen(dom); seen != "" || strings.Contains(dom, "data-csp-violations") {
		t.Errorf("the page did something its CSP blocked: %q", seen)
	}
	if !regexp.MustCompile(`<div id="error"[^>]* hidden`).MatchString(dom) {
		t.Error("the error box shows")
	}
	ops := elements(dom, "operation")
	if len(ops) != n {
		t.Errorf("%d elements of class operation, want %d", len(ops), n)
	}
	for _, want := range []string{"GET /v1/collections/{c}/records/{id}", "PUT /v1/collections/{c}/records/{id}", "GET /healthz"} {
		found := false
		for _, op := range ops {
			found = found || op["data-method"]+" "+op["data-path"] == want
		}
		if !found {
			t.Errorf("no operation with data-method and data-path %s", want)
		}
	}
	if m := regexp.MustCompile(`<[^>]* id="op-count"[^>]*>([^<]*)<`).FindStringSubmatch(dom); m == nil || m[1] != "3 operations" {
		t.Errorf("op-count: %q, want \"3 operations\"", m)
	}
	for _, want := range []string{
		"sealstore test API", "version 1.2.3", // info
		">records<", ">/healthz<", // groups: a tag, and a path prefix where there is none
		"Read a record", "Decrypts and returns one record.", // summary, description
		"The collection.", "pattern ^[a-z][a-z0-9-]{0,62}$", "If-Match", // parameters
		"string | null (date-time)", "max items 8", "The secret; stored encrypted.", // the body's schema
		"application/problem+json", "ErrorModel", "A human-readable explanation", // huma's error model
		"412", "Headers: <code>ETag</code>", // responses
	} {
		if !strings.Contains(dom, html.EscapeString(want)) && !strings.Contains(dom, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}

func TestBrowserScreenshot(t *testing.T) {
	t.Parallel()
	srv, _, _ := server(t, nil)
	path := filepath.Join(t.TempDir(), "docs.png")
	chromiumtest.Screenshot(t, srv.URL+"/docs", path)
	// To look at it: SEALSTORE_SCREENSHOT_DIR=/some/dir go test -run Screenshot
	if dir := os.Getenv("SEALSTORE_SCREENSHOT_DIR"); dir != "" {
		b, _ := os.ReadFile(path)
		_ = os.WriteFile(filepath.Join(dir, "docs.png"), b, 0o644)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 600 {
		t.Fatalf("screenshot is only %v", b)
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r, g, bl}] = true
		}
	}
	// Text, badges and borders: a blank or one-colour page has a handful.
	if len(colours) < 50 {
		t.Errorf("screenshot has only %d colours: nothing rendered?", len(colours))
	}
}

// driver plays a reader: it enters a token, sends the GET with an id that
// needs escaping, then the PUT with the example body (its value changed)
// and an If-Match, and marks the body data-driven when both answered.
const driver = `"use strict";
const token = "s3cret-token";
const until = (ok, then) => (ok() ? then() : setTimeout(() => until(ok, then), 20));
function fill(op, values) {
  for (const [name, v] of Object.entries(values)) op.querySelector('input[name="' + name + '"]').value = v;
  op.querySelector("form.try").requestSubmit();
}
const answered = (op) => () => op.querySelector(".response-status") !== null;
until(() => document.body.dataset.ready === "true", () => {
  const input = document.getElementById("token");
  input.value = token;
  input.dispatchEvent(new Event("input"));
  const path = "/v1/collections/{c}/records/{id}";
  const get = document.querySelector('.operation[data-method="GET"][data-path="' + path + '"]');
  const put = document.querySelector('.operation[data-method="PUT"][data-path="' + path + '"]');
  fill(get, { c: "people", id: "r 1/é" });
  until(answered(get), () => {
    const body = put.querySelector("textarea");
    const v = JSON.parse(body.value);
    v.value = "hunter2";
    body.value = JSON.stringify(v);
    fill(put, { c: "people", id: "r2", "If-Match": '"v1"' });
    until(answered(put), () => { document.body.dataset.driven = "done"; });
  });
});
`

func TestBrowserTryIt(t *testing.T) {
	t.Parallel()
	srv, a, _ := server(t, map[string]http.HandlerFunc{
		"/driven":            serveHTML(docsPage(t, `<script src="/test/driver.js" defer></script>`, ""), CSP),
		"/test/driver.js":    serveJS(driver),
		"/test/csp-watch.js": serveJS(cspWatch),
	})
	dom := chromiumtest.DOM(t, srv.URL+"/driven")
	if !strings.Contains(dom, `data-driven="done"`) {
		t.Fatalf("the driver did not finish:\n%s", dom)
	}
	if seen := cspSeen(dom); seen != "" {
		t.Errorf("trying requests out did something the CSP blocked: %q", seen)
	}
	got := a.hits()
	want := []hit{
		{"GET", "/v1/collections/people/records/r%201%2F%C3%A9", "Bearer s3cret-token", "", ""},
		{"PUT", "/v1/collections/people/records/r2", "Bearer s3cret-token", `"v1"`, "hunter2"},
	}
	if len(got) != len(want) {
		t.Fatalf("the API saw %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, s := range []string{
		"GET /v1/collections/people/records/r%201%2F%C3%A9 → 200", `"id": "r 1/é"`, // status, pretty body
		"PUT /v1/collections/people/records/r2 → 200", `"value": "hunter2"`,
		"<dt>ETag</dt><dd>\"v2\"</dd>", "<dt>Content-Type</dt><dd>application/json</dd>", // headers
	} {
		if !strings.Contains(dom, s) && !strings.Contains(dom, html.EscapeString(s)) {
			t.Errorf("the page does not show %q", s)
		}
	}
	if strings.Contains(dom, "s3cret-token") {
		t.Error("the token is in the DOM")
	}
}

// TestBrowserEnforcesCSP proves that the browser in this harness enforces
// the CSP, so that the other tests would see a page that needs more than it
// allows: an inline script and an inline style on the docs page are
// blocked under CSP and not without it, and app.js counts the violation
// that a later script commits.
func TestBrowserEnforcesCSP(t *testing.T) {
	t.Parallel()
	bad := docsPage(t,
		`<script>document.documentElement.dataset.inline = "ran"</script><script src="/test/probe.js" defer></script>`,
		`<div id="probe" style="display: none">probe</div>`)
	const probe = `"use strict";
document.documentElement.dataset.probe = getComputedStyle(document.getElementById("probe")).display;
document.getElementById("title").setAttribute("style", "color: red");
`
	srv, _, _ := server(t, map[string]http.HandlerFunc{
		"/bad": serveHTML(bad, CSP),
		// Permissive; like the real policy it allows the page's data:
		// icon (without img-src data:, Chromium's request for the icon
		// was blocked, and counted whenever it came after app.js began
		// listening: about 1 run in 15).
		"/bad-no-csp":        serveHTML(bad, "default-src *; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src * data:"),
		"/test/probe.js":     serveJS(probe),
		"/test/csp-watch.js": serveJS(cspWatch),
	})
	for _, tc := range []struct {
		path                string
		inline, style, ccsp bool
		// seen: the directives the watcher must record, in order; none
		// for the permissive policy.
		seen []string
	}{
		// The inline script (while parsing), the probe's hidden div and
		// its style attribute on the title (from probe.js, after app.js).
		{"/bad", false, false, true, []string{"script-src-elem", "style-src-attr", "style-src-attr"}},
		{"/bad-no-csp", true, true, false, nil},
	} {
		dom := chromiumtest.DOM(t, srv.URL+tc.path)
		root := regexp.MustCompile(`<html[^>]*>`).FindString(dom)
		if !strings.Contains(root, `data-probe=`) {
			t.Fatalf("%s: the probe did not run: %s", tc.path, root)
		}
		if got := strings.Contains(root, `data-inline="ran"`); got != tc.inline {
			t.Errorf("%s: inline script ran: %v, want %v", tc.path, got, tc.inline)
		}
		if got := strings.Contains(root, `data-probe="none"`); got != tc.style {
			t.Errorf("%s: inline style applied: %v, want %v (%s)", tc.path, got, tc.style, root)
		}
		if got := strings.Contains(dom, "data-csp-violations="); got != tc.ccsp {
			t.Errorf("%s: app.js counted a violation: %v, want %v", tc.path, got, tc.ccsp)
		}
		if !strings.Contains(dom, `data-ready="true"`) {
			t.Errorf("%s: the page did not render", tc.path)
		}
		var directives []string
		for _, v := range strings.Split(cspSeen(dom), ";") {
			if d, _, _ := strings.Cut(v, " "); d != "" {
				directives = append(directives, d)
			}
		}
		if !slices.Equal(directives, tc.seen) {
			t.Errorf("%s: the CSP blocked %q; want the directives %v", tc.path, cspSeen(dom), tc.seen)
		}
	}
}

func TestBrowserShowsLoadError(t *testing.T) {
	t.Parallel()
	missing := Handler("/no-such-openapi.json")
	srv, _, _ := server(t, map[string]http.HandlerFunc{
		"/docs-missing": func(w http.ResponseWriter, r *http.Request) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/docs"
			missing.ServeHTTP(w, r2)
		},
	})
	dom := chromiumtest.DOM(t, srv.URL+"/docs-missing")
	m := regexp.MustCompile(`<div id="error"([^>]*)>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil || strings.Contains(m[1], "hidden") {
		t.Fatalf("no error shows:\n%s", dom)
	}
	if want := "Could not load the API description: GET /no-such-openapi.json answered 404"; !strings.Contains(m[2], want) {
		t.Errorf("error %q does not say %q", m[2], want)
	}
	if strings.Contains(dom, "data-ready=") {
		t.Error("the page says it is ready")
	}
}
