package api

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Redirect returns the handler of the plain-HTTP listener. GET and HEAD
// are redirected (308) to the same path on HTTPS at httpsPort; every other
// method gets a 400 problem telling the client to use HTTPS, without the
// body being read (a secret sent over plain HTTP is not taken in; the
// connection is closed after the answer). Refused requests are logged as
// warnings, if log is not nil: such a client may have sent a secret over
// the network in clear.
func Redirect(httpsPort string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		host := requestHost(r.Host)
		if r.Method != http.MethodGet && r.Method != http.MethodHead || host == "" {
			if log != nil {
				log.LogAttrs(r.Context(), slog.LevelWarn, "plain HTTP request refused: the client may have sent data in clear",
					slog.String("method", methodLabel(r.Method)), slog.String("remote", clientAddr(r.RemoteAddr)))
			}
			w.Header().Set("Connection", "close")
			writeProblem(w, http.StatusBadRequest, "this port is plain HTTP: send requests to https://"+
				net.JoinHostPort(orLocalhost(host), httpsPort)+" (secrets are never accepted without TLS)")
			return
		}
		target := url.URL{Scheme: "https", Host: net.JoinHostPort(host, httpsPort), Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
	})
}

// requestHost returns the host of a Host header without its port: an IP
// address or a name of letters, digits, dots and hyphens; "" for anything
// else.
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if net.ParseIP(host) != nil {
		return host
	}
	if host == "" || len(host) > 253 || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		return ""
	}
	return host
}

func orLocalhost(h string) string {
	if h == "" {
		return "localhost"
	}
	return h
}
