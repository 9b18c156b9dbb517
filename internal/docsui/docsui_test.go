package docsui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler("/openapi.json")
	for _, tc := range []struct {
		method, path string
		status       int
		ctype, cache string
		contains     string
	}{
		{"GET", "/docs", 200, "text/html; charset=utf-8", "no-store", `data-spec-url="/openapi.json"`},
		{"HEAD", "/docs", 200, "text/html; charset=utf-8", "no-store", ""},
		{"GET", "/docs/assets/app.js", 200, "text/javascript; charset=utf-8", "no-cache", "use strict"},
		{"GET", "/docs/assets/app.css", 200, "text/css; charset=utf-8", "no-cache", ".operation"},
		{"GET", "/docs/assets/nope.js", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/index.html", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/../x", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/../../docsui.go", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/%2e%2e/app.js", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/..%2fapp.js", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/sub/app.js", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/assets/", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docs/", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/docsx", 404, "text/plain; charset=utf-8", "", ""},
		{"GET", "/", 404, "text/plain; charset=utf-8", "", ""},
		{"POST", "/docs", 405, "text/plain; charset=utf-8", "no-store", ""},
		{"DELETE", "/docs/assets/app.js", 405, "text/plain; charset=utf-8", "no-cache", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := get(t, h, tc.method, tc.path)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": CSP,
				"X-Content-Type-Options":  "nosniff",
				"Content-Type":            tc.ctype,
				"Cache-Control":           tc.cache,
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if tc.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow: %q", res.Header.Get("Allow"))
			}
			b := body(t, res)
			if !strings.Contains(b, tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if tc.method == "HEAD" && b != "" {
				t.Errorf("HEAD has a body of %d bytes", len(b))
			}
		})
	}
}

func TestAssetsRevalidate(t *testing.T) {
	t.Parallel()
	h := Handler("/openapi.json")
	etag := get(t, h, "GET", "/docs/assets/app.js").Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	if res := get(t, h, "GET", "/docs/assets/app.js", "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: status %d, want 304", res.StatusCode)
	}
	if other := get(t, h, "GET", "/docs/assets/app.css").Header.Get("ETag"); other == etag {
		t.Error("app.js and app.css have the same ETag")
	}
}

// TestSpecURLEscaped checks that the description URL cannot break out of
// its attribute.
func TestSpecURLEscaped(t *testing.T) {
	t.Parallel()
	page := body(t, get(t, Handler(`/x"><script>alert(1)</script>`), "GET", "/docs"))
	m := regexp.MustCompile(`<body data-spec-url="([^"<>]*)">`).FindStringSubmatch(page)
	if m == nil || strings.Count(page, "<script") != 1 {
		t.Fatalf("the spec URL broke out of its attribute:\n%s", page)
	}
	if m[1] != `/x%22%3e%3cscript%3ealert%281%29%3c/script%3e` {
		t.Errorf("data-spec-url=%q", m[1])
	}
}

var (
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	// Attributes and markup that CSP blocks or that would run or style
	// inline.
	inlineHTML = regexp.MustCompile(`(?i)\sstyle\s*=|<style\b|\son[a-z]+\s*=|javascript:|https?://`)
	// What app.js must not do: write HTML, evaluate strings, keep the
	// token, set inline styles, or reach another origin.
	forbiddenJS = regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\b|\bFunction\(|` +
		`setTimeout\(\s*["'\x60]|localStorage|sessionStorage|indexedDB|document\.cookie|\.style\b|cssText|` +
		`setAttribute\(\s*["']style|https?://|\bimport\(`)
	forbiddenCSS = regexp.MustCompile(`(?i)@import|url\(|https?://|expression\(`)
)

// TestPageRendersUnderCSP checks statically what the browser test checks
// at run time: nothing inline that the CSP would block, nothing remote.
func TestPageRendersUnderCSP(t *testing.T) {
	t.Parallel()
	h := Handler("/openapi.json")
	page := body(t, get(t, h, "GET", "/docs"))
	scripts := scriptTag.FindAllStringSubmatch(page, -1)
	if len(scripts) == 0 {
		t.Error("the page has no script")
	}
	for _, m := range scripts {
		if strings.TrimSpace(m[2]) != "" || !strings.Contains(m[1], `src="/docs/assets/`) {
			t.Errorf("inline or foreign script: %s", m[0])
		}
	}
	if m := inlineHTML.FindString(page); m != "" {
		t.Errorf("index.html has %q", m)
	}
	if m := forbiddenJS.FindString(body(t, get(t, h, "GET", "/docs/assets/app.js"))); m != "" {
		t.Errorf("app.js has %q", m)
	}
	if m := forbiddenCSS.FindString(body(t, get(t, h, "GET", "/docs/assets/app.css"))); m != "" {
		t.Errorf("app.css has %q", m)
	}
}

func TestCSPIsStrict(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %s", bad)
		}
	}
}
