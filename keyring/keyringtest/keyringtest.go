// Package keyringtest holds the helpers that the tests of the keyring
// packages (awskms, hierarchy, rawaes) share: an item-shaped encryption
// context, materials round trips, the checks that a failed OnEncrypt or
// OnDecrypt leaves the materials alone, the EDK tampering that every keyring
// must reject, and a search of test output for key bytes. It is imported
// only by tests; no production code may depend on it.
package keyringtest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// SuiteIDs returns the ids of both DB-ESDK algorithm suites.
func SuiteIDs() []materials.SuiteID {
	return []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA}
}

// Suite returns the suite with that id, failing t if there is none.
func Suite(t testing.TB, id materials.SuiteID) materials.Suite {
	t.Helper()
	s, err := materials.SuiteByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Context returns a fresh encryption context shaped like the item
// encryptor's.
func Context() materials.Context {
	return materials.Context{
		"aws-crypto-table-name":     "records",
		"aws-crypto-partition-name": "id",
		"aws-crypto-attr.id":        "AAFjdXN0b21lci0x",
	}
}

// OtherContexts returns, by name, contexts that differ from Context(): each
// entry removed, each value's last byte changed, each value made longer, an
// entry added, and the empty and nil contexts. A keyring must not decrypt
// under any of them what it encrypted under Context().
func OtherContexts() map[string]materials.Context {
	out := map[string]materials.Context{"empty": {}, "nil": nil}
	for k, v := range Context() {
		removed := Context()
		delete(removed, k)
		out["without "+k] = removed
		changed := Context()
		changed[k] = v[:len(v)-1] + string(v[len(v)-1]^1)
		out["other "+k] = changed
		longer := Context()
		longer[k] = v + "x"
		out["longer "+k] = longer
	}
	added := Context()
	added["extra"] = ""
	out["extra entry"] = added
	return out
}

// RandomBytes returns n bytes from crypto/rand.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// AAD returns the context's AAD bytes, as keyrings pass them to
// materials.IntermediateWrap and IntermediateUnwrap.
func AAD(t testing.TB, ec materials.Context) []byte {
	t.Helper()
	aad, err := ec.AAD()
	if err != nil {
		t.Fatal(err)
	}
	return aad
}

// GCM returns AES-GCM (12-byte nonce, 16-byte tag) under key, built
// straight from crypto/cipher so that wire-format tests do not go through
// the code they check.
func GCM(t testing.TB, key []byte) cipher.AEAD {
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

// Encrypt runs k.OnEncrypt on fresh materials and returns them, failing t
// on error.
func Encrypt(t testing.TB, k materials.Keyring, s materials.Suite, ec materials.Context) *materials.Encryption {
	t.Helper()
	m := &materials.Encryption{Suite: s, Context: ec}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// MustFailEncrypt runs k.OnEncrypt on m, expects an error, and checks that
// the failure left m's data key (its bytes, and whether it is zero), EDKs
// and signing keys as they were. It returns the error.
func MustFailEncrypt(t testing.TB, k materials.Keyring, m *materials.Encryption) error {
	t.Helper()
	dataKey, edks, sigs := secret.Copy(m.DataKey.InsecureBytes()), len(m.EDKs), len(m.SigningKeys)
	err := k.OnEncrypt(context.Background(), m)
	if err == nil {
		t.Fatal("OnEncrypt succeeded")
	}
	if !m.DataKey.Equal(dataKey) || dataKey.IsZero() != m.DataKey.IsZero() {
		t.Fatal("failed OnEncrypt changed the data key")
	}
	if len(m.EDKs) != edks || len(m.SigningKeys) != sigs {
		t.Fatal("failed OnEncrypt added an EDK or a signing key")
	}
	return err
}

// Decrypt runs k.OnDecrypt on fresh materials and returns them with its
// error.
func Decrypt(k materials.Keyring, s materials.Suite, ec materials.Context, edks []materials.EDK) (*materials.Decryption, error) {
	m := &materials.Decryption{Suite: s, Context: ec}
	return m, k.OnDecrypt(context.Background(), m, edks)
}

// MustDecrypt checks that k decrypts edks, under enc's suite and context,
// to enc's data key and to enc's signing key number want, and that it
// reports EDK index want.
func MustDecrypt(t testing.TB, k materials.Keyring, enc *materials.Encryption, edks []materials.EDK, want int) *materials.Decryption {
	t.Helper()
	m, err := Decrypt(k, enc.Suite, enc.Context, edks)
	if err != nil {
		t.Fatalf("suite %#x: %v", enc.Suite.ID, err)
	}
	if !m.DataKey.Equal(enc.DataKey) || !m.SigningKey.Equal(enc.SigningKeys[want]) || m.EDKIndex != want {
		t.Fatalf("suite %#x: decrypted another data key or signing key, or EDKIndex %d (want %d)", enc.Suite.ID, m.EDKIndex, want)
	}
	return m
}

// MustFailClosed checks that a failed OnDecrypt wraps
// materials.ErrNoDecryptableKey and left the materials empty.
func MustFailClosed(t testing.TB, m *materials.Decryption, err error) {
	t.Helper()
	if !errors.Is(err, materials.ErrNoDecryptableKey) {
		t.Fatalf("err = %v, want ErrNoDecryptableKey", err)
	}
	if !m.DataKey.IsZero() || !m.SigningKey.IsZero() || m.EDKIndex != 0 {
		t.Fatal("failed OnDecrypt modified the materials")
	}
}

// MustRefuseFilledMaterials checks that OnDecrypt refuses materials that
// already hold a data key, with an error wrapping want (any error if want
// is nil), and leaves that data key alone.
func MustRefuseFilledMaterials(t testing.TB, k materials.Keyring, enc *materials.Encryption, want error) {
	t.Helper()
	m := &materials.Decryption{Suite: enc.Suite, Context: enc.Context, DataKey: secret.New([]byte{1})}
	err := k.OnDecrypt(context.Background(), m, enc.EDKs)
	if err == nil || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if !m.DataKey.Equal(secret.New([]byte{1})) || !m.SigningKey.IsZero() {
		t.Fatal("refused OnDecrypt modified the materials")
	}
}
