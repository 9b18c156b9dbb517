package rawaes

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

const (
	testNS   = "sealstore-test"
	testName = "wrapping-key-1"
)

// testContext is an encryption context shaped like the item encryptor's.
func testContext() materials.Context {
	return materials.Context{
		"aws-crypto-table-name":     "records",
		"aws-crypto-partition-name": "id",
		"aws-crypto-attr.id":        "AAFjdXN0b21lci0x",
	}
}

func testSuite(t testing.TB, id materials.SuiteID) materials.Suite {
	t.Helper()
	s, err := materials.SuiteByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newKeyring(t testing.TB, ns, name string, key []byte) *Keyring {
	t.Helper()
	k, err := New(ns, name, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// encrypt runs OnEncrypt on fresh materials and returns them.
func encrypt(t testing.TB, k *Keyring, s materials.Suite, ec materials.Context) *materials.Encryption {
	t.Helper()
	m := &materials.Encryption{Suite: s, Context: ec}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decrypt runs OnDecrypt on fresh materials.
func decrypt(k *Keyring, s materials.Suite, ec materials.Context, edks []materials.EDK) (*materials.Decryption, error) {
	m := &materials.Decryption{Suite: s, Context: ec}
	return m, k.OnDecrypt(context.Background(), m, edks)
}

// mustFailClosed checks that a failed OnDecrypt wraps ErrNoDecryptableKey
// and left the materials empty.
func mustFailClosed(t *testing.T, m *materials.Decryption, err error) {
	t.Helper()
	if !errors.Is(err, materials.ErrNoDecryptableKey) {
		t.Fatalf("err = %v, want ErrNoDecryptableKey", err)
	}
	if m.DataKey != nil || m.SigningKey != nil || m.EDKIndex != 0 {
		t.Fatal("failed OnDecrypt modified the materials")
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	key := randomBytes(32)
	tests := []struct {
		name, ns, keyName string
		key               []byte
		want              string
	}{
		{"empty key", testNS, testName, nil, "0 bytes"},
		{"15-byte key", testNS, testName, key[:15], "15 bytes"},
		{"17-byte key", testNS, testName, key[:17], "17 bytes"},
		{"31-byte key", testNS, testName, key[:31], "31 bytes"},
		{"33-byte key", testNS, testName, randomBytes(33), "33 bytes"},
		{"64-byte key", testNS, testName, randomBytes(64), "64 bytes"},
		{"aws-kms namespace", "aws-kms", testName, key, "reserved"},
		{"aws-kms-hierarchy namespace", "aws-kms-hierarchy", testName, key, "reserved"},
		{"aws-kms prefix", "aws-kmsx", testName, key, "reserved"},
		{"empty namespace", "", testName, key, "namespace is empty"},
		{"invalid UTF-8 namespace", "ns\xff", testName, key, "UTF-8"},
		{"empty name", testNS, "", key, "name is empty"},
		{"invalid UTF-8 name", testNS, "\xc3", key, "UTF-8"},
		{"name too long", testNS, strings.Repeat("n", 0xFFFF-infoSuffixLen+1), key, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := New(tt.ns, tt.keyName, tt.key)
			if err == nil || k != nil {
				t.Fatalf("New succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewCopiesKey(t *testing.T) {
	t.Parallel()
	key := randomBytes(32)
	k := newKeyring(t, testNS, testName, key)
	s := testSuite(t, materials.SuiteSymSig)
	m := encrypt(t, k, s, testContext())
	clear(key)
	if _, err := decrypt(k, s, testContext(), m.EDKs); err != nil {
		t.Fatalf("keyring depends on the caller's key slice: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, id := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		for _, keyLen := range []int{16, 24, 32} {
			for _, ec := range []materials.Context{testContext(), {}, nil} {
				s := testSuite(t, id)
				k := newKeyring(t, testNS, testName, randomBytes(keyLen))
				m := encrypt(t, k, s, ec)
				checkEncryption(t, k, m)
				d, err := decrypt(k, s, ec, m.EDKs)
				if err != nil {
					t.Fatalf("suite %v key %d: %v", id, keyLen, err)
				}
				if !d.DataKey.Equal(m.DataKey) || !d.SigningKey.Equal(m.SigningKeys[0]) || d.EDKIndex != 0 {
					t.Fatalf("suite %v key %d: decrypted materials differ", id, keyLen)
				}
			}
		}
	}
}

// checkEncryption checks the shape of a single-keyring encryption.
func checkEncryption(t *testing.T, k *Keyring, m *materials.Encryption) {
	t.Helper()
	if len(m.DataKey) != m.Suite.KeyLen || len(m.EDKs) != 1 || len(m.SigningKeys) != 1 {
		t.Fatalf("materials: data key %d bytes, %d EDKs, %d signing keys", len(m.DataKey), len(m.EDKs), len(m.SigningKeys))
	}
	e := m.EDKs[0]
	if e.ProviderID != k.namespace || len(e.ProviderInfo) != len(k.name)+infoSuffixLen {
		t.Fatalf("EDK provider %q info %x", e.ProviderID, e.ProviderInfo)
	}
	if want := m.Suite.WrappedDataKeyLen() + m.Suite.KeyLen + tagLen; len(e.Ciphertext) != want {
		t.Fatalf("EDK ciphertext is %d bytes, want %d", len(e.Ciphertext), want)
	}
}

func TestExistingDataKeyIsWrapped(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	k1 := newKeyring(t, testNS, "first", randomBytes(32))
	k2 := newKeyring(t, testNS, "second", randomBytes(16))
	m := encrypt(t, k1, s, testContext())
	dk := append(secret.Bytes(nil), m.DataKey...)
	if err := k2.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !m.DataKey.Equal(dk) || len(m.EDKs) != 2 || len(m.SigningKeys) != 2 {
		t.Fatal("second keyring replaced the data key or added the wrong number of EDKs")
	}
	d, err := decrypt(k2, s, testContext(), m.EDKs)
	if err != nil {
		t.Fatal(err)
	}
	if !d.DataKey.Equal(dk) || d.EDKIndex != 1 || !d.SigningKey.Equal(m.SigningKeys[1]) {
		t.Fatal("second EDK did not decrypt to the shared data key")
	}
}

// TestWireFormat builds and reads EDKs with crypto/cipher directly, following
// raw-aes-keyring.md and algorithm-suites.md, independently of seal/open.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	key, ec := randomBytes(32), testContext()
	k := newKeyring(t, testNS, testName, key)
	aad, err := ec.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	gcm := specGCM(t, key)

	// Written by hand, read by the keyring.
	dk, intermediate, iv := randomBytes(32), randomBytes(32), randomBytes(ivLen)
	wrappedDK, sig, err := materials.IntermediateWrap(s, dk, intermediate, mustAAD(ec))
	if err != nil {
		t.Fatal(err)
	}
	info := binary.BigEndian.AppendUint32([]byte(testName), 128)
	info = append(binary.BigEndian.AppendUint32(info, 12), iv...)
	ct := append(wrappedDK, gcm.Seal(nil, iv, intermediate, aad)...)
	d, err := decrypt(k, s, ec, []materials.EDK{{ProviderID: testNS, ProviderInfo: info, Ciphertext: ct}})
	if err != nil || !d.DataKey.Equal(dk) || !d.SigningKey.Equal(sig) {
		t.Fatalf("keyring could not read a hand-built EDK: %v", err)
	}

	// Written by the keyring, read by hand.
	m := encrypt(t, k, s, ec)
	e := m.EDKs[0]
	iv = e.ProviderInfo[len(testName)+8:]
	prefix := s.WrappedDataKeyLen()
	intermediate, err = gcm.Open(nil, iv, e.Ciphertext[prefix:], aad)
	if err != nil {
		t.Fatalf("hand-written reader: %v", err)
	}
	got, gotSig, err := materials.IntermediateUnwrap(s, e.Ciphertext[:prefix], intermediate, mustAAD(ec))
	if err != nil || !got.Equal(m.DataKey) || !gotSig.Equal(m.SigningKeys[0]) {
		t.Fatalf("hand-written reader got a different data key: %v", err)
	}
}

func specGCM(t *testing.T, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return gcm
}

func TestDecryptRejectsOtherContext(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, randomBytes(32))
	m := encrypt(t, k, s, testContext())
	changed := testContext()
	changed["aws-crypto-attr.id"] = "AAFjdXN0b21lci0y"
	added := testContext()
	added["extra"] = ""
	removed := testContext()
	delete(removed, "aws-crypto-partition-name")
	renamed := testContext()
	renamed["aws-crypto-table-name"] = "records2"
	for name, ec := range map[string]materials.Context{
		"changed value": changed, "added entry": added, "removed entry": removed,
		"other table": renamed, "empty": {},
	} {
		d, err := decrypt(k, s, ec, m.EDKs)
		if err == nil {
			t.Fatalf("%s: decrypted under a different encryption context", name)
		}
		mustFailClosed(t, d, err)
	}
}

func TestDecryptRejectsOtherKeyring(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	key := randomBytes(32)
	m := encrypt(t, newKeyring(t, testNS, testName, key), s, testContext())
	tests := []struct {
		name, ns, keyName string
		key               []byte
	}{
		{"other key", testNS, testName, randomBytes(32)},
		{"other key length", testNS, testName, key[:16]},
		{"other name", testNS, testName + "x", key},
		{"name prefix", testNS, testName[:len(testName)-1], key},
		{"other namespace", testNS + "x", testName, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := decrypt(newKeyring(t, tt.ns, tt.keyName, tt.key), s, testContext(), m.EDKs)
			mustFailClosed(t, d, err)
		})
	}
}

func TestDecryptRejectsTamperedEDK(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, randomBytes(32))
	e := encrypt(t, k, s, testContext()).EDKs[0]
	try := func(what string, bad materials.EDK) {
		t.Helper()
		d, err := decrypt(k, s, testContext(), []materials.EDK{bad})
		if err == nil {
			t.Fatalf("%s: tampered EDK decrypted", what)
		}
		mustFailClosed(t, d, err)
	}
	for i := range len(e.Ciphertext) * 8 {
		bad := e
		bad.Ciphertext = flipBit(e.Ciphertext, i)
		try("ciphertext bit flip", bad)
	}
	for i := range len(e.ProviderInfo) * 8 {
		bad := e
		bad.ProviderInfo = flipBit(e.ProviderInfo, i)
		try("provider info bit flip", bad)
	}
	for n := range len(e.Ciphertext) {
		bad := e
		bad.Ciphertext = e.Ciphertext[:n]
		try("truncated ciphertext", bad)
	}
	for n := range len(e.ProviderInfo) {
		bad := e
		bad.ProviderInfo = e.ProviderInfo[:n]
		try("truncated provider info", bad)
	}
	extended := e
	extended.Ciphertext = append(append([]byte(nil), e.Ciphertext...), 0)
	try("extended ciphertext", extended)
}

func flipBit(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i/8] ^= 1 << (i % 8)
	return out
}

func TestDecryptTriesEachMatchingEDK(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	key := randomBytes(32)
	k := newKeyring(t, testNS, testName, key)
	ours := encrypt(t, k, s, testContext()).EDKs[0]
	sameLabelOtherKey := encrypt(t, newKeyring(t, testNS, testName, randomBytes(32)), s, testContext()).EDKs[0]
	otherNS := encrypt(t, newKeyring(t, "other", testName, key), s, testContext()).EDKs[0]
	tests := []struct {
		name string
		edks []materials.EDK
	}{
		{"other namespace first", []materials.EDK{otherNS, ours}},
		{"same label, other key first", []materials.EDK{sameLabelOtherKey, ours}},
		{"foreign provider first", []materials.EDK{{ProviderID: "aws-kms", ProviderInfo: []byte("x"), Ciphertext: []byte{1}}, ours}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := decrypt(k, s, testContext(), tt.edks)
			if err != nil {
				t.Fatal(err)
			}
			if d.EDKIndex != 1 {
				t.Fatalf("EDKIndex = %d, want 1", d.EDKIndex)
			}
		})
	}
	d, err := decrypt(k, s, testContext(), nil)
	mustFailClosed(t, d, err)
}

func TestDecryptRefusesFilledMaterials(t *testing.T) {
	t.Parallel()
	s := testSuite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, randomBytes(32))
	m := encrypt(t, k, s, testContext())
	d := &materials.Decryption{Suite: s, Context: testContext(), DataKey: secret.Bytes{1}}
	if err := k.OnDecrypt(context.Background(), d, m.EDKs); !errors.Is(err, ErrDataKeyPresent) {
		t.Fatalf("err = %v, want ErrDataKeyPresent", err)
	}
}

func TestOnEncryptFailureLeavesMaterials(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testNS, testName, randomBytes(32))
	s := testSuite(t, materials.SuiteSymSig)
	tests := []struct {
		name string
		m    materials.Encryption
	}{
		{"no suite", materials.Encryption{Context: testContext()}},
		{"short data key", materials.Encryption{Suite: s, Context: testContext(), DataKey: secret.Bytes{1, 2, 3}}},
		{"unserializable context", materials.Encryption{Suite: s, Context: materials.Context{"k": strings.Repeat("v", 0x10000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := tt.m
			before := len(m.DataKey)
			if err := k.OnEncrypt(context.Background(), &m); err == nil {
				t.Fatal("OnEncrypt succeeded")
			}
			if len(m.DataKey) != before || len(m.EDKs) != 0 || len(m.SigningKeys) != 0 {
				t.Fatal("failed OnEncrypt modified the materials")
			}
		})
	}
}

// FuzzOnDecrypt feeds arbitrary EDKs to OnDecrypt: it must never panic and
// never succeed on a forgery.
func FuzzOnDecrypt(f *testing.F) {
	s := testSuite(f, materials.SuiteSymSig)
	k := newKeyring(f, testNS, testName, randomBytes(32))
	e := encrypt(f, k, s, testContext()).EDKs[0]
	f.Add(e.ProviderInfo, e.Ciphertext)
	f.Add([]byte(testName), []byte{})
	f.Fuzz(func(t *testing.T, info, ct []byte) {
		d, err := decrypt(k, s, testContext(), []materials.EDK{{ProviderID: testNS, ProviderInfo: info, Ciphertext: ct}})
		if err == nil && !(bytes.Equal(info, e.ProviderInfo) && bytes.Equal(ct, e.Ciphertext)) {
			t.Fatalf("forged EDK decrypted to a %d-byte key", len(d.DataKey))
		}
	})
}

// mustAAD returns the context's AAD bytes, as keyrings pass them to
// materials.IntermediateWrap and IntermediateUnwrap.
func mustAAD(ec materials.Context) []byte {
	aad, err := ec.AAD()
	if err != nil {
		panic(err)
	}
	return aad
}
