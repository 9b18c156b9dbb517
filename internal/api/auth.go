package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/tokens"
)

// Defaults of the failed-authentication limiter.
const (
	DefaultFailureLimit  = 20
	DefaultFailureWindow = time.Minute
	limiterMaxAddrs      = 100_000
)

// authorize checks the bearer token and the route's scope (a zero scope:
// any valid token). Missing or unknown tokens get 401, tokens without the
// scope 403. An address with too many recent failures gets 429 for each
// further missing or unknown token, while a valid token from it is served:
// the limiter refuses failures, not clients (another user behind the same
// NAT, or the owner of a token an attacker is guessing at, keeps working).
// The token is checked first either way, with the same constant-time work
// (tokens.Set.Verify), so the answer's timing does not tell a blocked
// address more than the answer does. On routes of one collection (the
// path's {name}), a token with no scope at all on that collection gets the
// 404 a missing collection gets: it learns nothing about what exists there.
func (s *server) authorize(r route) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		tok, ok := s.cfg.Tokens().Verify(bearer(ctx.Header("Authorization")))
		if !ok {
			s.refuseToken(ctx)
			return
		}
		actx := audited.WithActor(ctx.Context(), tok.Name)
		if info := infoFrom(ctx.Context()); info != nil {
			info.token = tok.Name
			info.tok = &tok
			actx = audited.WithRequest(actx, info.id, clientAddr(ctx.RemoteAddr()))
		}
		ctx = huma.WithContext(ctx, actx)
		scope := r.scope
		if r.collection {
			scope.Collection = ctx.Param("name")
			if !canSee(tok, scope.Collection) {
				s.metrics.authFailures.WithLabelValues(authForbidden).Inc()
				s.svc.Denied(ctx.Context(), r.action, scope.Collection)
				_ = huma.WriteErr(s.api, ctx, http.StatusNotFound, "not found")
				return
			}
		}
		if scope != (tokens.Scope{}) && !tok.Allows(scope.Collection, scope.Action) {
			s.metrics.authFailures.WithLabelValues(authForbidden).Inc()
			s.svc.Denied(ctx.Context(), r.action, scope.Collection)
			_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "this token lacks the scope "+scope.String())
			return
		}
		next(ctx)
	}
}

// refuseToken answers a request without a valid token: 429 while its
// address is over the failure limit, else 401, counted against it.
func (s *server) refuseToken(ctx huma.Context) {
	addr := limiterKey(ctx.RemoteAddr())
	if wait, blocked := s.limiter.blocked(addr); blocked {
		s.metrics.authFailures.WithLabelValues(authThrottled).Inc()
		ctx.SetHeader("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		_ = huma.WriteErr(s.api, ctx, http.StatusTooManyRequests, "too many failed authentications from this address; retry later")
		return
	}
	s.limiter.fail(addr)
	s.metrics.authFailures.WithLabelValues(authUnauthenticated).Inc()
	ctx.SetHeader("WWW-Authenticate", `Bearer realm="sealstore"`)
	_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer <token>)")
}

// canSee reports whether tok holds any scope on collection c.
func canSee(tok tokens.Token, c string) bool {
	return tok.Allows(c, tokens.Read) || tok.Allows(c, tokens.Write)
}

// tokenFrom returns the request's verified token, or nil.
func tokenFrom(ctx context.Context) *tokens.Token {
	if info := infoFrom(ctx); info != nil {
		return info.tok
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header,
// or "".
func bearer(h string) string {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// clientAddr is the client's address without its port.
func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// limiterKey is the address failures are counted against: the IPv4
// address, or the /64 an IPv6 address is in (one host usually holds a
// whole /64, and could otherwise rotate through it).
func limiterKey(remote string) string {
	host := clientAddr(remote)
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return host
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return host
	}
	return p.String()
}

// limiter counts failed authentications per address in fixed windows.
type limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	addrs     map[string]*failures
	fullUntil time.Time
}

type failures struct {
	start time.Time
	n     int
}

func newLimiter(limit int, window time.Duration, now func() time.Time) *limiter {
	if limit <= 0 {
		limit = DefaultFailureLimit
	}
	if window <= 0 {
		window = DefaultFailureWindow
	}
	return &limiter{limit: limit, window: window, now: now, addrs: map[string]*failures{}}
}

// blocked reports whether addr has used up its failures in the current
// window, and how long until the window ends.
func (l *limiter) blocked(addr string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		return 0, false
	}
	left := f.start.Add(l.window).Sub(l.now())
	if left <= 0 {
		delete(l.addrs, addr)
		return 0, false
	}
	return left, f.n >= l.limit
}

func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f := l.addrs[addr]
	if f == nil || now.Sub(f.start) >= l.window {
		if len(l.addrs) >= limiterMaxAddrs && !l.evict(now) {
			return
		}
		f = &failures{start: now}
		l.addrs[addr] = f
	}
	f.n++
}

// evict makes room in a full table: it drops expired windows, then
// addresses that are not blocked; blocked addresses stay blocked. If every
// address is blocked it reports false, and for a second no new address is
// tracked (nor the table scanned again).
func (l *limiter) evict(now time.Time) bool {
	if now.Before(l.fullUntil) {
		return false
	}
	for a, f := range l.addrs {
		if now.Sub(f.start) >= l.window || f.n < l.limit {
			delete(l.addrs, a)
		}
	}
	if len(l.addrs) >= limiterMaxAddrs {
		l.fullUntil = now.Add(time.Second)
		return false
	}
	return true
}
