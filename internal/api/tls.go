package api

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
)

// TLSConfig returns the server TLS configuration: TLS 1.2 and up, with
// Mozilla's "intermediate" cipher suites (those Go implements) and curves
// (with the post-quantum hybrid first); TLS 1.3 suites are Go's fixed set.
// Certificates come from certs, which may change at any time (SIGHUP).
func TLSConfig(certs *CertSource) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return certs.Get(), nil
		},
	}
}

// CertSource holds the serving certificate and reloads it from its files.
type CertSource struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCert reads a certificate chain and key from PEM files.
func LoadCert(certFile, keyFile string) (*CertSource, error) {
	c := &CertSource{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again; on error the previous certificate stays.
func (c *CertSource) Reload() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("api: load certificate %s: %w", c.certFile, err)
	}
	c.cur.Store(&cert)
	return nil
}

// Get returns the current certificate.
func (c *CertSource) Get() *tls.Certificate { return c.cur.Load() }
