// Package docsui serves an interactive page that documents an HTTP API from
// its OpenAPI 3.1 description: operations grouped by tag, their parameters,
// request and response schemas, and a form per operation to try it with a
// bearer token.
//
// Everything the page needs is embedded in the binary, so it works with no
// network, and it renders under CSP: no inline script or style, no eval, no
// other origin. The page builds its DOM from the description with
// createElement and textContent only, and keeps the token in memory, never
// in storage, a cookie or a URL.
package docsui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy that every response of Handler
// carries, and that the page is written to render under.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Where Handler serves the page and its assets.
const (
	pagePath    = "/docs"
	assetPrefix = "/docs/assets/"
)

//go:embed assets
var assets embed.FS

// asset is one embedded file as served.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assetTypes names the files under assets/ that are served, with their
// types; any other name is a 404.
var assetTypes = map[string]string{
	"app.js":  "text/javascript; charset=utf-8",
	"app.css": "text/css; charset=utf-8",
}

// Handler serves the page at GET /docs and its script and style at
// GET /docs/assets/{file}, answering 404 for any other path and 405 for
// any other method. The page fetches the OpenAPI description from specURL,
// e.g. "/openapi.json", which should be on the same origin (CSP's
// connect-src 'self').
//
// Every response carries CSP, X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer; the page is Cache-Control: no-store and the
// assets no-cache with an ETag. To mount it on a mux:
//
//	mux.Handle("/docs", h)
//	mux.Handle("/docs/assets/", h)
func Handler(specURL string) http.Handler {
	h := &handler{page: page(specURL), assets: make(map[string]asset, len(assetTypes))}
	for name, ctype := range assetTypes {
		body, err := assets.ReadFile("assets/" + name)
		if err != nil {
			panic("docsui: embedded asset missing: " + name) // caught by the tests
		}
		sum := sha256.Sum256(body)
		h.assets[name] = asset{body, ctype, `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	return h
}

// page renders index.html with specURL in it.
func page(specURL string) []byte {
	t := template.Must(template.ParseFS(assets, "assets/index.html"))
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ SpecURL string }{specURL}); err != nil {
		panic("docsui: rendering index.html: " + err.Error()) // caught by the tests
	}
	return b.Bytes()
}

type handler struct {
	page   []byte
	assets map[string]asset
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", CSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")

	var a asset
	switch name, isAsset := strings.CutPrefix(r.URL.Path, assetPrefix); {
	case r.URL.Path == pagePath:
		a = asset{body: h.page, contentType: "text/html; charset=utf-8"}
		hdr.Set("Cache-Control", "no-store")
	case isAsset && h.assets[name].body != nil:
		a = h.assets[name]
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("ETag", a.etag)
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
