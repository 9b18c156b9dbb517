package datadir_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/store/bolt"
)

// fresh returns a data directory path that does not exist yet.
func fresh(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data")
}

// mustOpen opens dir and closes it at the end of the test.
func mustOpen(t *testing.T, dir string) *datadir.Dir {
	t.Helper()
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// openClose opens dir once (creating it) and closes it.
func openClose(t *testing.T, dir string) {
	t.Helper()
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// wantOpenError opens dir, expects an error containing every one of subs,
// and returns it.
func wantOpenError(t *testing.T, dir string, subs ...string) error {
	t.Helper()
	d, err := datadir.Open(dir)
	if err == nil {
		d.Close()
		t.Fatalf("Open(%s) succeeded; want an error mentioning %q", dir, subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Open(%s) error %q; want it to mention %q", dir, err, s)
		}
	}
	return err
}

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("lstat %s: %v", path, err)
	}
	return fi.Mode().Perm()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenFreshLayoutAndReopen(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if d.Path != dir || d.Store == nil || d.Root == nil {
		t.Fatalf("Open returned %+v", d)
	}
	id := d.Root.ID()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v; want a directory with mode 0700", fi.Mode())
	}
	for name, want := range map[string]fs.FileMode{
		datadir.RootFile: 0o600,
		datadir.KeyFile:  0o600,
		datadir.DBFile:   0o600,
	} {
		if got := perm(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s mode %04o; want %04o", name, got, want)
		}
	}
	certPath := filepath.Join(dir, datadir.CertFile)
	fi, err = os.Lstat(certPath)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("%s: %v, mode %v; want a regular file", datadir.CertFile, err, fi.Mode())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		t.Errorf("%s mode %04o is group/other writable", datadir.CertFile, fi.Mode().Perm())
	}
	if _, err := tls.LoadX509KeyPair(certPath, filepath.Join(dir, datadir.KeyFile)); err != nil {
		t.Errorf("the generated pair does not load: %v", err)
	}
	cert1 := readFile(t, certPath)
	key1 := readFile(t, filepath.Join(dir, datadir.KeyFile))
	root1 := readFile(t, filepath.Join(dir, datadir.RootFile))

	d2 := mustOpen(t, dir)
	if d2.Root.ID() != id {
		t.Errorf("reopen: root key ID %q; want the first one %q", d2.Root.ID(), id)
	}
	if !bytes.Equal(readFile(t, certPath), cert1) {
		t.Error("reopen: the certificate was replaced")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, datadir.KeyFile)), key1) {
		t.Error("reopen: the TLS key was replaced")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, datadir.RootFile)), root1) {
		t.Error("reopen: the root key file was replaced")
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestOpenRefusesSymlinkedDataDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, link, "symbolic link")
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Errorf("Open wrote %d entries into the symlink's target", len(ents))
	}

	// A dangling link is refused too, and its target is not created.
	dangling := filepath.Join(base, "dangling")
	target := filepath.Join(base, "nowhere")
	if err := os.Symlink(target, dangling); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dangling, "symbolic link")
	if exists(target) {
		t.Error("Open created the dangling symlink's target")
	}
}

func TestOpenRefusesWritableDataDir(t *testing.T) {
	t.Parallel()
	for _, mode := range []fs.FileMode{0o777, 0o770, 0o720, 0o702} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			dir := fresh(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			wantOpenError(t, dir, "chmod 700")
			for _, name := range []string{datadir.DBFile, datadir.RootFile, datadir.KeyFile, datadir.CertFile} {
				if exists(filepath.Join(dir, name)) {
					t.Errorf("refused Open created %s", name)
				}
			}
		})
	}
	// Group/other read and execute are fine.
	dir := fresh(t)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir)
}

func TestOpenRefusesReadableTLSKey(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	keyPath := filepath.Join(dir, datadir.KeyFile)
	key := readFile(t, keyPath)
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, "chmod 600", datadir.KeyFile)
	if !bytes.Equal(readFile(t, keyPath), key) {
		t.Error("refused Open changed the TLS key")
	}
	// A refusal of an existing directory keeps its database.
	if !exists(filepath.Join(dir, datadir.DBFile)) {
		t.Fatal("a refused Open of an existing directory removed its database")
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir)
}

func TestOpenRefusesSymlinkedTLSKey(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	keyPath := filepath.Join(dir, datadir.KeyFile)
	elsewhere := filepath.Join(t.TempDir(), "key.pem")
	if err := os.Rename(keyPath, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, keyPath); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, datadir.KeyFile, "not a regular file")
	if fi, err := os.Lstat(keyPath); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("refused Open replaced the symlink (%v)", err)
	}
}

func TestOpenRefusesSymlinkedRootKey(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	rootPath := filepath.Join(dir, datadir.RootFile)
	elsewhere := filepath.Join(t.TempDir(), "root.key")
	if err := os.Rename(rootPath, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, rootPath); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, datadir.RootFile, "not a regular file")
}

func TestOpenRefusesReadableRootKey(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	rootPath := filepath.Join(dir, datadir.RootFile)
	if err := os.Chmod(rootPath, 0o640); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, "chmod 600", datadir.RootFile)
}

func TestOpenRefusesDBWithoutRootKey(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	rootPath := filepath.Join(dir, datadir.RootFile)
	if err := os.Remove(rootPath); err != nil {
		t.Fatal(err)
	}
	wantOpenError(t, dir, "missing")
	if exists(rootPath) {
		t.Fatal("Open made a new root key for a database encrypted under a lost one")
	}
	if !exists(filepath.Join(dir, datadir.DBFile)) {
		t.Fatal("Open removed the database whose root key is missing")
	}
}

func TestOpenConcurrentIsLocked(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	d := mustOpen(t, dir)
	d2, err := datadir.Open(dir)
	if err == nil {
		d2.Close()
		t.Fatal("a second Open of a held data directory succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: %v; want an error wrapping bolt.ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("second Open error %q does not name the directory", err)
	}
	// The failed attempt did not disturb the first.
	if !exists(filepath.Join(dir, datadir.DBFile)) {
		t.Fatal("the second Open removed the database")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir)
}

// A fresh Open that fails after the database is created removes it, so
// that the next Open is fresh again (and does not call the directory a
// database that lost its root key).
func TestOpenFailedFreshRemovesDB(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A non-empty directory where the TLS key goes: EnsureCert cannot
	// replace it.
	block := filepath.Join(dir, datadir.KeyFile)
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := datadir.Open(dir); err == nil {
		t.Fatal("Open succeeded with a directory in place of the TLS key")
	}
	if exists(filepath.Join(dir, datadir.DBFile)) {
		t.Fatal("a failed fresh Open left its database behind")
	}
	if err := os.RemoveAll(block); err != nil {
		t.Fatal(err)
	}
	d := mustOpen(t, dir)
	if d.Root == nil {
		t.Fatal("no root key")
	}
	assertNoTempFiles(t, dir)
}

func TestOpenRemakesHalfPair(t *testing.T) {
	t.Parallel()
	for _, missing := range []string{datadir.CertFile, datadir.KeyFile} {
		t.Run(missing, func(t *testing.T) {
			t.Parallel()
			dir := fresh(t)
			openClose(t, dir)
			certPath, keyPath := filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile)
			oldCert, oldKey := readFile(t, certPath), readFile(t, keyPath)
			if err := os.Remove(filepath.Join(dir, missing)); err != nil {
				t.Fatal(err)
			}
			openClose(t, dir)
			if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
				t.Fatalf("the remade pair does not load: %v", err)
			}
			if bytes.Equal(readFile(t, certPath), oldCert) || bytes.Equal(readFile(t, keyPath), oldKey) {
				t.Error("the surviving half was kept; want a new pair")
			}
			if got := perm(t, keyPath); got != 0o600 {
				t.Errorf("remade key mode %04o; want 0600", got)
			}
			assertNoTempFiles(t, dir)
		})
	}
}

// loadCA reads the generated certificate and its key.
func loadCA(t *testing.T, dir string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, datadir.CertFile), filepath.Join(dir, datadir.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T; want *ecdsa.PrivateKey", pair.PrivateKey)
	}
	return cert, key
}

func TestGeneratedCertificate(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	cert, key := loadCA(t, dir)

	pemBytes := readFile(t, filepath.Join(dir, datadir.CertFile))
	if b, rest := pem.Decode(pemBytes); b == nil || b.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Error("the certificate file is not exactly one CERTIFICATE PEM block")
	}
	keyPEM := readFile(t, filepath.Join(dir, datadir.KeyFile))
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Error("the key file is not a PKCS#8 PRIVATE KEY PEM block")
	}

	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T; want ECDSA P-256", cert.PublicKey)
	}
	if key.Curve != elliptic.P256() {
		t.Error("private key is not P-256")
	}
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != "localhost" {
		t.Errorf("DNSNames %q; want [localhost]", cert.DNSNames)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if strings.Join(ips, ",") != "127.0.0.1,::1" {
		t.Errorf("IPAddresses %v; want [127.0.0.1 ::1]", ips)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		t.Error("not a CA certificate")
	}
	if !cert.MaxPathLenZero || cert.MaxPathLen != 0 {
		t.Errorf("MaxPathLen %d (zero flag %v); want 0", cert.MaxPathLen, cert.MaxPathLenZero)
	}
	if !cert.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	if len(cert.PermittedDNSDomains) != 1 || cert.PermittedDNSDomains[0] != "localhost" {
		t.Errorf("PermittedDNSDomains %q; want [localhost]", cert.PermittedDNSDomains)
	}
	var ranges []string
	for _, r := range cert.PermittedIPRanges {
		ranges = append(ranges, r.String())
	}
	if strings.Join(ranges, ",") != "127.0.0.1/32,::1/128" {
		t.Errorf("PermittedIPRanges %v; want [127.0.0.1/32 ::1/128]", ranges)
	}
	if len(cert.ExcludedDNSDomains)+len(cert.ExcludedIPRanges) != 0 {
		t.Errorf("unexpected excluded constraints")
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("KeyUsage %v; want DigitalSignature and CertSign", cert.KeyUsage)
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		t.Errorf("validity %v..%v does not cover now", cert.NotBefore, cert.NotAfter)
	}
	if life := cert.NotAfter.Sub(cert.NotBefore); life > 400*24*time.Hour {
		t.Errorf("lifetime %v is longer than 398 days", life)
	}
	if cert.SerialNumber.Sign() <= 0 {
		t.Errorf("serial %v is not positive", cert.SerialNumber)
	}

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	verify := func(c *x509.Certificate, name string, inter ...*x509.Certificate) error {
		pool := x509.NewCertPool()
		for _, i := range inter {
			pool.AddCert(i)
		}
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, DNSName: name})
		return err
	}
	// The certificate itself serves the loopback names.
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := verify(cert, name); err != nil {
			t.Errorf("the certificate does not verify for %s: %v", name, err)
		}
	}

	// Whoever holds the key can sign leaves, but only for loopback names.
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		leaf := signLeaf(t, cert, key, name, false)
		if err := verify(leaf, name); err != nil {
			t.Errorf("a leaf for %s signed by the key does not verify: %v", name, err)
		}
	}
	for _, name := range []string{"example.com", "www.example.com", "localhost.example.com", "10.0.0.1", "::2"} {
		leaf := signLeaf(t, cert, key, name, false)
		err := verify(leaf, name)
		if err == nil {
			t.Errorf("a leaf for %s signed by the self-signed key verifies: the name constraints do not hold", name)
			continue
		}
		var cie x509.CertificateInvalidError
		if !errors.As(err, &cie) || cie.Reason != x509.CANotAuthorizedForThisName {
			t.Logf("leaf for %s refused with %v (not CANotAuthorizedForThisName)", name, err)
		}
	}
	// A leaf naming localhost and example.com is refused as a whole.
	if err := verify(signLeaf(t, cert, key, "localhost", false, "example.com"), "localhost"); err == nil {
		t.Error("a leaf also naming example.com verifies for localhost")
	}
	// No intermediate CA may be made under it (path length zero).
	inter := signLeaf(t, cert, key, "localhost", true)
	leaf := signLeaf(t, inter, interKey, "localhost", false)
	if err := verify(leaf, "localhost", inter); err == nil {
		t.Error("a chain through an intermediate CA verifies: MaxPathLen 0 does not hold")
	}
}

// interKey signs the leaves of the intermediate made by signLeaf.
var interKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// signLeaf makes a certificate for name (and extra DNS names) signed by
// parent's key; a CA (with interKey) if ca.
func signLeaf(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, ca bool, extra ...string) *x509.Certificate {
	t.Helper()
	key := interKey
	if !ca {
		var err error
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     extra,
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = append([]string{name}, extra...)
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var fingerprintRE = regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	openClose(t, dir)
	cert, _ := loadCA(t, dir)
	fp := datadir.Fingerprint(cert.Raw)
	if len(fp) != 95 || !fingerprintRE.MatchString(fp) {
		t.Fatalf("Fingerprint %q; want 32 colon-separated upper-case hex bytes (95 characters)", fp)
	}
	sum := sha256.Sum256(cert.Raw)
	if want := strings.ToUpper(hex.EncodeToString(sum[:])); strings.ReplaceAll(fp, ":", "") != want {
		t.Errorf("Fingerprint %q is not the SHA-256 %s", fp, want)
	}
	if got := datadir.Fingerprint([]byte("x")); got == fp {
		t.Error("different inputs, same fingerprint")
	}
	lf, err := datadir.LeafFingerprint([][]byte{cert.Raw, []byte("other")})
	if err != nil || lf != fp {
		t.Errorf("LeafFingerprint = %q, %v; want %q", lf, err, fp)
	}
	if _, err := datadir.LeafFingerprint(nil); err == nil {
		t.Error("LeafFingerprint of an empty chain: no error")
	}
}

func TestOpenRefusesDirOfAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := fresh(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	wantOpenError(t, dir, "another user")
	if exists(filepath.Join(dir, datadir.DBFile)) {
		t.Error("refused Open created the database")
	}
}

func TestOpenStore(t *testing.T) {
	t.Parallel()
	dir := fresh(t)
	if _, err := datadir.OpenStore(dir); err == nil || !strings.Contains(err.Error(), "no sealstore database") {
		t.Fatalf("OpenStore of a missing directory: %v; want 'no sealstore database'", err)
	}
	if exists(dir) {
		t.Error("OpenStore created the data directory")
	}
	d := mustOpen(t, dir)
	if _, err := datadir.OpenStore(dir); !errors.Is(err, datadir.ErrInUse) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("OpenStore of a held directory: %v; want ErrInUse, saying 'in use'", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := datadir.OpenStore(dir)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	db.Close()
}
