package datadir

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCertRenewedBeforeExpiry checks that a start within 30 days of the
// self-signed certificate's expiry makes a new one, and that a start well
// before keeps it.
func TestCertRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	if err := ensureCert(dir, now); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureCert(dir, now.Add(certLifetime-renewBefore-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	kept, _ := os.ReadFile(filepath.Join(dir, CertFile))
	if !bytes.Equal(first, kept) {
		t.Fatal("a certificate with more than 30 days left was replaced")
	}
	later := now.Add(certLifetime - renewBefore + 24*time.Hour)
	if err := ensureCert(dir, later); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(filepath.Join(dir, CertFile))
	if bytes.Equal(first, renewed) {
		t.Fatal("a certificate within 30 days of expiry was kept")
	}
	if expiresSoon(filepath.Join(dir, CertFile), later) {
		t.Fatal("the renewed certificate expires soon too")
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil {
		t.Fatalf("renewed pair does not load: %v", err)
	}
}
