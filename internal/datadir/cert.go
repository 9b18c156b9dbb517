package datadir

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealstore/sealstore/internal/atomicfile"
	"github.com/sealstore/sealstore/keystore/localroot"
)

// certLifetime is the validity of the self-signed certificate.
const certLifetime = 397 * 24 * time.Hour

// renewBefore is how long before it expires the self-signed certificate
// is replaced at start.
const renewBefore = 30 * 24 * time.Hour

// EnsureCert creates the self-signed certificate (ECDSA P-256, for
// localhost, 127.0.0.1 and ::1) in dir unless both files exist, and
// refuses a key file that others may read. A pair left half-written by a
// crash is made again, and so is a certificate that expires within 30
// days (the start banner shows the new fingerprint).
func EnsureCert(dir string) error {
	return ensureCert(dir, time.Now())
}

func ensureCert(dir string, now time.Time) error {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if exists(certPath) && exists(keyPath) {
		if err := localroot.CheckFile(keyPath); err != nil {
			return fmt.Errorf("data directory: TLS key: %w", err)
		}
		if !expiresSoon(certPath, now) {
			return nil
		}
	}
	certPEM, keyPEM, err := selfSigned(now)
	if err != nil {
		return err
	}
	for _, p := range []string{certPath, keyPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	if err := atomicfile.WriteNew(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := atomicfile.WriteNew(certPath, certPEM, 0o644); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

func selfSigned(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sealstore self-signed (localhost)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// A CA, so that clients can trust it as their root (curl
		// --cacert), but one that can vouch for loopback names only:
		// whoever reads its key cannot impersonate any other host to a
		// client that trusts it.
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges: []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 1).To4(), Mask: net.CIDRMask(32, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// expiresSoon reports whether the certificate at path is unreadable or
// expires within renewBefore of now.
func expiresSoon(path string, now time.Time) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return true
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err != nil || now.Add(renewBefore).After(cert.NotAfter)
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate as
// colon-separated upper-case hex, as browsers and openssl show it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// errNoCert is returned when a certificate chain is empty.
var errNoCert = errors.New("certificate chain is empty")

// LeafFingerprint returns the fingerprint of the first certificate of a
// chain.
func LeafFingerprint(chain [][]byte) (string, error) {
	if len(chain) == 0 {
		return "", errNoCert
	}
	return Fingerprint(chain[0]), nil
}
