package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
)

// reqInfo is what the request log learns while a request is served.
type reqInfo struct {
	id    string
	token string
	tok   *tokens.Token
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	info, _ := ctx.Value(infoKey{}).(*reqInfo)
	return info
}

// securityHeaders go on every HTTPS response, errors included. The names
// are in canonical form, so they are set into the header map directly; the
// value slices are shared and never modified.
var securityHeaders = map[string][]string{
	"Strict-Transport-Security": {"max-age=63072000; includeSubDomains"},
	"Cache-Control":             {"no-store"},
	"X-Content-Type-Options":    {"nosniff"},
	"Content-Security-Policy":   {"default-src 'none'; frame-ancestors 'none'"},
	"Referrer-Policy":           {"no-referrer"},
	"X-Frame-Options":           {"DENY"},
}

// outer wraps every request: security headers, a request id (the
// client's, if well formed), panic recovery, the header size limit,
// metrics and one log line. The log line holds the method, the
// route pattern (never the raw path, which holds ids), the status, the
// duration, the request id and the token's name.
func (s *server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		for k, v := range securityHeaders {
			h[k] = v
		}
		info := &reqInfo{id: s.requestID(r)}
		h.Set("X-Request-Id", info.id)
		rec := &statusRecorder{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		defer func() {
			if p := recover(); p != nil {
				// The panic value may hold request data: log its type only.
				s.logError(r.Context(), "panic", slog.String("type", fmt.Sprintf("%T", p)))
				if !rec.wrote {
					writeProblem(rec, http.StatusInternalServerError, msgInternal)
				}
			}
			s.done(r, rec.status(), info, time.Since(start))
		}()
		if headerBytes(r) > MaxHeaderBytes {
			headersTooLarge(rec, r)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

func (s *server) done(r *http.Request, status int, info *reqInfo, d time.Duration) {
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	} else if _, p, ok := strings.Cut(route, " "); ok {
		route = strings.TrimSuffix(p, "{$}")
	}
	method := methodLabel(r.Method)
	s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	s.metrics.responses.WithLabelValues(statusClass(status)).Inc()
	s.metrics.duration.WithLabelValues(route, method).Observe(d.Seconds())
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("request_id", info.id),
		slog.String("token", info.token),
		slog.String("remote", clientAddr(r.RemoteAddr)),
	)
}

func (s *server) logError(ctx context.Context, msg string, attrs ...slog.Attr) {
	if info := infoFrom(ctx); info != nil {
		attrs = append(attrs, slog.String("request_id", info.id))
	}
	s.log.LogAttrs(ctx, slog.LevelError, msg, attrs...)
}

// unmatched answers requests that match no route (it is the mux's "/"
// pattern) with problem+json (under /items/, as FastAPI answers): 405 with
// an Allow header when the path exists for other methods, else 404.
func (s *server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	ref := isReferencePath(r.URL.Path)
	switch {
	case len(allow) == 0 && ref:
		writeReferenceError(w, http.StatusNotFound, "Not Found") // FastAPI's words
		return
	case len(allow) == 0:
		writeProblem(w, http.StatusNotFound, "no such route")
		return
	}
	if allow[0] == http.MethodGet {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	if ref {
		writeReferenceError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	writeProblem(w, http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s is not allowed on this route; allowed: %s", methodLabel(r.Method), strings.Join(allow, ", ")))
}

// methodLabel maps a request method to one of a fixed set, for metric
// labels and logs: the method is the client's free choice, and each new
// label value would stay in memory for good.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// maxRequestID is the longest X-Request-Id kept.
const maxRequestID = 64

// requestID is the request's id: the client's X-Request-Id if it sent one,
// once, well formed (1 to 64 ASCII letters, digits, '.', '_' or '-': no
// space, quote or control character that could forge a log line or a
// header), so that a request can be followed from the client through the
// log and the audit trail; otherwise (none, several, or malformed, which
// is never echoed) a new one.
func (s *server) requestID(r *http.Request) string {
	if vs := r.Header.Values("X-Request-Id"); len(vs) == 1 && wellFormedRequestID(vs[0]) {
		return vs[0]
	}
	return s.ids.next()
}

func wellFormedRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// requestIDs makes request ids: a random per-process prefix and a counter,
// unique without a system call per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:])}
}

func (g *requestIDs) next() string {
	return g.prefix + "-" + strconv.FormatUint(g.n.Add(1), 36)
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
