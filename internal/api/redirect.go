package api

import (
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// RedirectConfig says where the plain-HTTP listener sends clients.
type RedirectConfig struct {
	// Port is the HTTPS port.
	Port string
	// Listen is the configured HTTPS address (--listen); its host, if it
	// names one, is a host redirects may name, and their default.
	Listen string
	// Certs is the HTTPS certificate: the hosts it covers are hosts
	// redirects may name. nil: none.
	Certs *CertSource
	// Log, if not nil, receives a warning per refused request.
	Log *slog.Logger
}

// Redirect returns the handler of the plain-HTTP listener. GET and HEAD
// are redirected (308) to the same path on HTTPS at c.Port; every other
// method gets a 400 problem telling the client to use HTTPS, without the
// body being read (a secret sent over plain HTTP is not taken in; the
// connection is closed after the answer). Refused requests are logged as
// warnings: such a client may have sent a secret over the network in
// clear.
//
// The redirect's host is the request's Host only if the certificate covers
// it or it is the --listen host: a Host header is the client's to choose,
// and a redirect to "https://evil.example" would send the client, and its
// next request, wherever the header said. Any other host is replaced by
// the default (c.defaultHost); a Host header that is not a host at all is
// refused.
func Redirect(c RedirectConfig) http.Handler {
	listenHost := specificHost(c.Listen)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		host := requestHost(r.Host)
		if host != "" && !strings.EqualFold(host, listenHost) && !c.Certs.Covers(host) {
			host = c.defaultHost(listenHost)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead || host == "" {
			if c.Log != nil {
				c.Log.LogAttrs(r.Context(), slog.LevelWarn, "plain HTTP request refused: the client may have sent data in clear",
					slog.String("method", methodLabel(r.Method)), slog.String("remote", clientAddr(r.RemoteAddr)))
			}
			if host == "" {
				host = c.defaultHost(listenHost)
			}
			w.Header().Set("Connection", "close")
			writeProblem(w, http.StatusBadRequest, "this port is plain HTTP: send requests to https://"+
				net.JoinHostPort(host, c.Port)+" (secrets are never accepted without TLS)")
			return
		}
		target := url.URL{Scheme: "https", Host: net.JoinHostPort(host, c.Port), Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		http.Redirect(w, r, target.String(), http.StatusPermanentRedirect)
	})
}

// defaultHost is the host of a redirect whose Host header names no host
// it may: the --listen host if it names one, else the certificate's first
// DNS name (not a wildcard), else localhost.
func (c RedirectConfig) defaultHost(listenHost string) string {
	if listenHost != "" {
		return listenHost
	}
	if leaf := c.Certs.leaf(); leaf != nil {
		for _, n := range leaf.DNSNames {
			if !strings.Contains(n, "*") && requestHost(n) == n {
				return n
			}
		}
	}
	return "localhost"
}

// specificHost is the host of a listen address if it names one: not
// empty, and not an unspecified address (0.0.0.0, ::), which names none.
func specificHost(listen string) string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return ""
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return ""
	}
	return requestHost(host)
}

// Covers reports whether the current certificate is valid for host (a
// DNS name, wildcards as TLS clients match them, or an IP address). A nil
// CertSource covers nothing.
func (c *CertSource) Covers(host string) bool {
	leaf := c.leaf()
	return leaf != nil && leaf.VerifyHostname(host) == nil
}

// leaf is the current certificate, parsed; nil if there is none.
func (c *CertSource) leaf() *x509.Certificate {
	if c == nil {
		return nil
	}
	cert := c.Get()
	if cert == nil {
		return nil
	}
	if cert.Leaf != nil {
		return cert.Leaf
	}
	if len(cert.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
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
