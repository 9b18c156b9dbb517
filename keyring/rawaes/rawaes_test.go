package rawaes

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

const (
	testNS   = "sealstore-test"
	testName = "wrapping-key-1"
)

func newKeyring(t testing.TB, ns, name string, key []byte) *Keyring {
	t.Helper()
	k, err := New(ns, name, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	key := keyringtest.RandomBytes(32)
	tests := []struct {
		name, ns, keyName string
		key               []byte
		want              string
	}{
		{"empty key", testNS, testName, nil, "0 bytes"},
		{"15-byte key", testNS, testName, key[:15], "15 bytes"},
		{"17-byte key", testNS, testName, key[:17], "17 bytes"},
		{"31-byte key", testNS, testName, key[:31], "31 bytes"},
		{"33-byte key", testNS, testName, keyringtest.RandomBytes(33), "33 bytes"},
		{"64-byte key", testNS, testName, keyringtest.RandomBytes(64), "64 bytes"},
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
	key := keyringtest.RandomBytes(32)
	k := newKeyring(t, testNS, testName, key)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	clear(key)
	if _, err := keyringtest.Decrypt(k, s, keyringtest.Context(), m.EDKs); err != nil {
		t.Fatalf("keyring depends on the caller's key slice: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, keyLen := range []int{16, 24, 32} {
		t.Run(fmt.Sprintf("%d-byte key", keyLen), func(t *testing.T) {
			t.Parallel()
			for _, id := range keyringtest.SuiteIDs() {
				for _, ec := range []materials.Context{keyringtest.Context(), {}, nil} {
					k := newKeyring(t, testNS, testName, keyringtest.RandomBytes(keyLen))
					m := keyringtest.Encrypt(t, k, keyringtest.Suite(t, id), ec)
					checkEncryption(t, k, m)
					keyringtest.MustDecrypt(t, k, m, m.EDKs, 0)
				}
			}
		})
	}
}

// checkEncryption checks the shape of a single-keyring encryption.
func checkEncryption(t *testing.T, k *Keyring, m *materials.Encryption) {
	t.Helper()
	if m.DataKey.Len() != m.Suite.KeyLen || len(m.EDKs) != 1 || len(m.SigningKeys) != 1 {
		t.Fatalf("materials: data key %d bytes, %d EDKs, %d signing keys", m.DataKey.Len(), len(m.EDKs), len(m.SigningKeys))
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
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	k1 := newKeyring(t, testNS, "first", keyringtest.RandomBytes(32))
	k2 := newKeyring(t, testNS, "second", keyringtest.RandomBytes(16))
	m := keyringtest.Encrypt(t, k1, s, keyringtest.Context())
	dk := secret.Copy(m.DataKey.InsecureBytes())
	if err := k2.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if !m.DataKey.Equal(dk) || len(m.EDKs) != 2 || len(m.SigningKeys) != 2 {
		t.Fatal("second keyring replaced the data key or added the wrong number of EDKs")
	}
	keyringtest.MustDecrypt(t, k2, m, m.EDKs, 1)
}

// TestWireFormat builds and reads EDKs with crypto/cipher directly, following
// raw-aes-keyring.md and algorithm-suites.md, independently of seal/open.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	key, ec := keyringtest.RandomBytes(32), keyringtest.Context()
	k := newKeyring(t, testNS, testName, key)
	aad, err := ec.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	gcm := keyringtest.GCM(t, key)

	// Written by hand, read by the keyring.
	dk, intermediate, iv := keyringtest.RandomBytes(32), keyringtest.RandomBytes(32), keyringtest.RandomBytes(ivLen)
	wrappedDK, sig, err := materials.IntermediateWrap(s, secret.Copy(dk), secret.Copy(intermediate), keyringtest.AAD(t, ec))
	if err != nil {
		t.Fatal(err)
	}
	info := binary.BigEndian.AppendUint32([]byte(testName), 128)
	info = append(binary.BigEndian.AppendUint32(info, 12), iv...)
	ct := append(wrappedDK, gcm.Seal(nil, iv, intermediate, aad)...)
	d, err := keyringtest.Decrypt(k, s, ec, []materials.EDK{{ProviderID: testNS, ProviderInfo: info, Ciphertext: ct}})
	if err != nil || !d.DataKey.Equal(secret.New(dk)) || !d.SigningKey.Equal(sig) {
		t.Fatalf("keyring could not read a hand-built EDK: %v", err)
	}

	// Written by the keyring, read by hand.
	m := keyringtest.Encrypt(t, k, s, ec)
	e := m.EDKs[0]
	iv = e.ProviderInfo[len(testName)+8:]
	prefix := s.WrappedDataKeyLen()
	intermediate, err = gcm.Open(nil, iv, e.Ciphertext[prefix:], aad)
	if err != nil {
		t.Fatalf("hand-written reader: %v", err)
	}
	got, gotSig, err := materials.IntermediateUnwrap(s, e.Ciphertext[:prefix], secret.New(intermediate), keyringtest.AAD(t, ec))
	if err != nil || !got.Equal(m.DataKey) || !gotSig.Equal(m.SigningKeys[0]) {
		t.Fatalf("hand-written reader got a different data key: %v", err)
	}
}

func TestDecryptRejectsOtherContext(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, keyringtest.RandomBytes(32))
	m := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	for name, ec := range keyringtest.OtherContexts() {
		d, err := keyringtest.Decrypt(k, s, ec, m.EDKs)
		if err == nil {
			t.Fatalf("%s: decrypted under a different encryption context", name)
		}
		keyringtest.MustFailClosed(t, d, err)
	}
}

func TestDecryptRejectsOtherKeyring(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	key := keyringtest.RandomBytes(32)
	m := keyringtest.Encrypt(t, newKeyring(t, testNS, testName, key), s, keyringtest.Context())
	tests := []struct {
		name, ns, keyName string
		key               []byte
	}{
		{"other key", testNS, testName, keyringtest.RandomBytes(32)},
		{"other key length", testNS, testName, key[:16]},
		{"other name", testNS, testName + "x", key},
		{"name prefix", testNS, testName[:len(testName)-1], key},
		{"other namespace", testNS + "x", testName, key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := keyringtest.Decrypt(newKeyring(t, tt.ns, tt.keyName, tt.key), s, keyringtest.Context(), m.EDKs)
			keyringtest.MustFailClosed(t, d, err)
		})
	}
}

func TestDecryptRejectsTamperedEDK(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testNS, testName, keyringtest.RandomBytes(32))
	m := keyringtest.Encrypt(t, k, keyringtest.Suite(t, materials.SuiteSymSig), keyringtest.Context())
	keyringtest.MustRejectTampered(t, k, m)
}

func TestDecryptTriesEachMatchingEDK(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	key := keyringtest.RandomBytes(32)
	k := newKeyring(t, testNS, testName, key)
	ours := keyringtest.Encrypt(t, k, s, keyringtest.Context()).EDKs[0]
	sameLabelOtherKey := keyringtest.Encrypt(t, newKeyring(t, testNS, testName, keyringtest.RandomBytes(32)), s, keyringtest.Context()).EDKs[0]
	otherNS := keyringtest.Encrypt(t, newKeyring(t, "other", testName, key), s, keyringtest.Context()).EDKs[0]
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
			d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), tt.edks)
			if err != nil {
				t.Fatal(err)
			}
			if d.EDKIndex != 1 {
				t.Fatalf("EDKIndex = %d, want 1", d.EDKIndex)
			}
		})
	}
	d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), nil)
	keyringtest.MustFailClosed(t, d, err)
}

func TestDecryptRefusesFilledMaterials(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, keyringtest.RandomBytes(32))
	m := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	keyringtest.MustRefuseFilledMaterials(t, k, m, materials.ErrDataKeyPresent)
}

func TestOnEncryptFailureLeavesMaterials(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testNS, testName, keyringtest.RandomBytes(32))
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	tests := []struct {
		name string
		m    materials.Encryption
	}{
		{"no suite", materials.Encryption{Context: keyringtest.Context()}},
		{"short data key", materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.New([]byte{1, 2, 3})}},
		{"unserializable context", materials.Encryption{Suite: s, Context: materials.Context{"k": strings.Repeat("v", 0x10000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := tt.m
			keyringtest.MustFailEncrypt(t, k, &m)
		})
	}
}

// FuzzOnDecrypt feeds arbitrary EDKs to OnDecrypt: it must never panic and
// never succeed on a forgery.
func FuzzOnDecrypt(f *testing.F) {
	s := keyringtest.Suite(f, materials.SuiteSymSig)
	k := newKeyring(f, testNS, testName, keyringtest.RandomBytes(32))
	e := keyringtest.Encrypt(f, k, s, keyringtest.Context()).EDKs[0]
	f.Add(e.ProviderInfo, e.Ciphertext)
	f.Add([]byte(testName), []byte{})
	f.Fuzz(func(t *testing.T, info, ct []byte) {
		d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), []materials.EDK{{ProviderID: testNS, ProviderInfo: info, Ciphertext: ct}})
		if err == nil && !(bytes.Equal(info, e.ProviderInfo) && bytes.Equal(ct, e.Ciphertext)) {
			t.Fatalf("forged EDK decrypted to a %d-byte key", d.DataKey.Len())
		}
	})
}
