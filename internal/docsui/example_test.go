package docsui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sealstore/sealstore/internal/docsui"
)

func ExampleHandler() {
	docs := docsui.Handler("/openapi.json")
	mux := http.NewServeMux()
	mux.Handle("/docs", docs)
	mux.Handle("/docs/assets/", docs)

	for _, path := range []string{"/docs", "/docs/assets/app.js", "/docs/assets/nope.js"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Security-Policy") == docsui.CSP)
	}
	// Output:
	// /docs 200 text/html; charset=utf-8 true
	// /docs/assets/app.js 200 text/javascript; charset=utf-8 true
	// /docs/assets/nope.js 404 text/plain; charset=utf-8 true
}
