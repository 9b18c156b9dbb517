package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTLSConfigVersionsAndSuites(t *testing.T) {
	t.Parallel()
	c := TLSConfig(nil)
	if c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %#x, want TLS 1.2", c.MinVersion)
	}
	if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
		t.Fatalf("MaxVersion %#x rules out TLS 1.3", c.MaxVersion)
	}
	if len(c.CipherSuites) == 0 {
		t.Fatal("no cipher suites configured (Go's defaults would include non-ECDHE suites)")
	}
	secure := map[uint16]*tls.CipherSuite{}
	for _, s := range tls.CipherSuites() {
		secure[s.ID] = s
	}
	insecure := map[uint16]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.ID] = true
	}
	for _, id := range c.CipherSuites {
		name := tls.CipherSuiteName(id)
		if insecure[id] {
			t.Errorf("insecure suite %s", name)
		}
		s, ok := secure[id]
		if !ok {
			t.Errorf("suite %s is not in Go's secure list", name)
			continue
		}
		if !strings.HasPrefix(name, "TLS_ECDHE_") {
			t.Errorf("suite %s has no ECDHE key exchange", name)
		}
		if !strings.Contains(name, "_GCM_") && !strings.Contains(name, "CHACHA20_POLY1305") {
			t.Errorf("suite %s is not AEAD", name)
		}
		if strings.Contains(name, "CBC") || strings.Contains(name, "RC4") || strings.Contains(name, "3DES") {
			t.Errorf("suite %s", name)
		}
		if len(s.SupportedVersions) == 0 || !containsVersion(s.SupportedVersions, tls.VersionTLS12) {
			t.Errorf("suite %s does not serve TLS 1.2", name)
		}
	}
	if c.GetCertificate == nil {
		t.Fatal("no GetCertificate: certificates could not be reloaded")
	}
}

func containsVersion(vs []uint16, v uint16) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// writeCert writes a fresh self-signed ECDSA certificate for cn and its key
// as PEM files in dir.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	return writeCertFor(t, dir, cn, cn)
}

// writeCertFor is writeCert for a certificate whose subject alternative
// names are names: IP addresses, and DNS names.
func writeCertFor(t *testing.T, dir, cn string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var dns []string
	var ips []net.IP
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dns,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func certCN(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	if c == nil || len(c.Certificate) == 0 {
		t.Fatal("no certificate")
	}
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x.Subject.CommonName
}

func TestCertSourceReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf, kf := writeCert(t, dir, "one.test")
	src, err := LoadCert(cf, kf)
	if err != nil {
		t.Fatalf("LoadCert: %v", err)
	}
	if cn := certCN(t, src.Get()); cn != "one.test" {
		t.Fatalf("CN %q", cn)
	}
	got, err := TLSConfig(src).GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || certCN(t, got) != "one.test" {
		t.Fatalf("GetCertificate: %v", err)
	}

	writeCert(t, dir, "two.test")
	if err := src.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	got, _ = TLSConfig(src).GetCertificate(&tls.ClientHelloInfo{})
	if cn := certCN(t, got); cn != "two.test" {
		t.Fatalf("after Reload: CN %q, want two.test", cn)
	}

	// A broken file: Reload fails and the previous certificate stays.
	if err := os.WriteFile(cf, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil {
		t.Fatal("Reload of a garbage certificate succeeded")
	}
	if cn := certCN(t, src.Get()); cn != "two.test" {
		t.Fatalf("after a failed Reload: CN %q, want two.test", cn)
	}

	if _, err := LoadCert(filepath.Join(dir, "missing.pem"), kf); err == nil {
		t.Fatal("LoadCert of a missing file succeeded")
	}
}

// handshake runs a TLS handshake between the server config and a client
// config over an in-memory connection.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server)
		err := s.HandshakeContext(ctx)
		if err != nil {
			sc.Close()
		}
		done <- err
	}()
	c := tls.Client(cc, client)
	err := c.HandshakeContext(ctx)
	if err != nil {
		cc.Close()
	}
	serr := <-done
	if err == nil {
		err = serr
	}
	return c.ConnectionState(), err
}

func TestTLSHandshakes(t *testing.T) {
	t.Parallel()
	cf, kf := writeCert(t, t.TempDir(), "srv.test")
	src, err := LoadCert(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	server := TLSConfig(src)
	base := func() *tls.Config { return &tls.Config{InsecureSkipVerify: true, ServerName: "srv.test"} } //nolint:gosec // test

	st, err := handshake(t, server, base())
	if err != nil {
		t.Fatalf("default client: %v", err)
	}
	if st.Version != tls.VersionTLS13 {
		t.Errorf("default client negotiated %#x, want TLS 1.3", st.Version)
	}

	c := base()
	c.MaxVersion = tls.VersionTLS12
	st, err = handshake(t, server, c)
	if err != nil {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
	if name := tls.CipherSuiteName(st.CipherSuite); !strings.HasPrefix(name, "TLS_ECDHE_ECDSA_") {
		t.Errorf("TLS 1.2 suite %s", name)
	}

	refused := map[string]func(*tls.Config){
		"TLS 1.1": func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 },
		"TLS 1.2 CBC only": func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
		},
		"TLS 1.2 RSA key exchange only": func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}
		},
	}
	for name, edit := range refused {
		c := base()
		edit(c)
		if st, err := handshake(t, server, c); err == nil {
			t.Errorf("%s client connected: version %#x suite %s", name, st.Version, tls.CipherSuiteName(st.CipherSuite))
		}
	}
}
