package item

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// canary is a plaintext that must never show up in a stored ciphertext or
// in any error text.
const canary = "CANARY-SECRET-4242"

// testBranchKey is the fixed branch key of these tests. The FuzzDecrypt
// seeds in fuzz_test.go were written under it: changing it breaks them.
func testBranchKey() hierarchy.BranchKey {
	return hierarchy.BranchKey{
		ID:      "sealstore-item-test",
		Version: "5b1a2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		Key:     secret.New(mustUnhex("8c2f5d1e9a3b7c4d6e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f")),
	}
}

func mustUnhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// newKeyring returns a hierarchical keyring for the first key's id over a
// static source holding keys.
func newKeyring(t testing.TB, keys ...hierarchy.BranchKey) materials.Keyring {
	t.Helper()
	return newKeyringFor(t, keys[0].ID, keys...)
}

// newKeyringFor returns a hierarchical keyring for branch key id over a
// static source holding keys.
func newKeyringFor(t testing.TB, id string, keys ...hierarchy.BranchKey) materials.Keyring {
	t.Helper()
	kr, err := hierarchy.New(id, hierarchy.Static{Keys: keys}, hierarchy.NewCache(hierarchy.DefaultTTL, 16, nil))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// newEncryptor returns an Encryptor for cfg, with a keyring on the test
// branch key if cfg has none.
func newEncryptor(t testing.TB, cfg Config) *Encryptor {
	t.Helper()
	if cfg.Keyring == nil {
		cfg.Keyring = newKeyring(t, testBranchKey())
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func mustEncrypt(t testing.TB, e *Encryptor, it attr.Item) attr.Item {
	t.Helper()
	stored, err := e.Encrypt(context.Background(), it)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return stored
}

func mustDecrypt(t testing.TB, e *Encryptor, stored attr.Item) attr.Item {
	t.Helper()
	out, err := e.Decrypt(context.Background(), stored)
	if err != nil {
		t.Fatalf("Decrypt: %v (reason %q, cause %v)", err, Reason(err), Cause(err))
	}
	return out
}

// assertSameItem checks that got has exactly want's attributes, each
// attr.Equal to want's.
func assertSameItem(t testing.TB, want, got attr.Item) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("attribute %q is missing", name)
		} else if !attr.Equal(w, g) {
			t.Errorf("attribute %q = %#v, want %#v", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected attribute %q", name)
		}
	}
}

// decryptFailure decrypts stored and describes how the result falls short of
// a closed failure: nil output, an error that is ErrDecrypt with exactly its
// text, a reason code fit for a metric label, and no canary anywhere. It
// returns "" when all holds. It does not call t, so loops of thousands of
// cases stay cheap and can stop early.
func decryptFailure(e *Encryptor, stored attr.Item) string {
	out, err := e.Decrypt(context.Background(), stored)
	switch {
	case err == nil:
		return "decryption succeeded"
	case out != nil:
		return "an item was returned with the error"
	case !errors.Is(err, ErrDecrypt):
		return fmt.Sprintf("error %q does not match ErrDecrypt", err)
	case err.Error() != ErrDecrypt.Error():
		return fmt.Sprintf("error text %q differs from ErrDecrypt's", err)
	case !isLabel(Reason(err)):
		return fmt.Sprintf("reason %q is not a short label", Reason(err))
	case leaksCanary(err):
		return fmt.Sprintf("error (reason %q, cause %v) holds the plaintext canary", Reason(err), Cause(err))
	}
	return ""
}

func assertDecryptFails(t testing.TB, e *Encryptor, stored attr.Item) {
	t.Helper()
	if msg := decryptFailure(e, stored); msg != "" {
		t.Error(msg)
	}
}

// isLabel reports whether s is a non-empty lower-case metric label.
func isLabel(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// leaksCanary reports whether any text derived from err, including the
// debug cause, holds the canary.
func leaksCanary(err error) bool {
	texts := []string{err.Error(), fmt.Sprintf("%+v %#v", err, err), Reason(err)}
	if c := Cause(err); c != nil {
		texts = append(texts, c.Error())
	}
	for _, s := range texts {
		if strings.Contains(s, canary) {
			return true
		}
	}
	return false
}

// with returns a shallow copy of it with name set to v (nil included).
func with(it attr.Item, name string, v attr.Value) attr.Item {
	out := maps.Clone(it)
	out[name] = v
	return out
}

// without returns a shallow copy of it without the named attributes.
func without(it attr.Item, names ...string) attr.Item {
	out := maps.Clone(it)
	for _, name := range names {
		delete(out, name)
	}
	return out
}

// flipBit returns a copy of b with bit i flipped.
func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i/8] ^= 1 << (i % 8)
	return c
}

// cloneItem deep-copies it, so that a later reflect.DeepEqual detects any
// change to the original, down to set order and byte contents.
func cloneItem(it attr.Item) attr.Item {
	out := make(attr.Item, len(it))
	for k, v := range it {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v attr.Value) attr.Value {
	switch v := v.(type) {
	case attr.B:
		return attr.B(bytes.Clone(v))
	case attr.SS:
		return attr.SS(append([]string{}, v...))
	case attr.NS:
		return attr.NS(append([]string{}, v...))
	case attr.BS:
		out := make(attr.BS, len(v))
		for i, b := range v {
			out[i] = bytes.Clone(b)
		}
		return out
	case attr.L:
		out := make(attr.L, len(v))
		for i, e := range v {
			out[i] = cloneValue(e)
		}
		return out
	case attr.M:
		out := make(attr.M, len(v))
		for k, e := range v {
			out[k] = cloneValue(e)
		}
		return out
	}
	return v
}

func assertUnchanged(t testing.TB, what string, before, after attr.Item) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("%s was modified", what)
	}
}

// variant is one of the four shapes of the format: suite × version.
type variant struct {
	name    string
	suite   materials.SuiteID
	version byte
}

var variants = []variant{
	{"0x6700/v1", materials.SuiteSymSig, 1},
	{"0x6700/v2", materials.SuiteSymSig, 2},
	{"0x6701/v1", materials.SuiteECDSA, 1},
	{"0x6701/v2", materials.SuiteECDSA, 2},
}

// smallConfig is the configuration of smallItem: keys, two encrypted
// attributes, two SIGN_ONLY ones, in version 2 one more bound into the
// encryption context, and unsigned attributes by name and by prefix.
func smallConfig(v variant) Config {
	key := SignOnly
	if v.version == 2 {
		key = SignAndIncludeInEncryptionContext
	}
	actions := map[string]Action{
		"pk": key, "sk": key, "secret": EncryptAndSign, "n": EncryptAndSign,
		"other": EncryptAndSign, "sig": SignOnly, "count": SignOnly,
	}
	if v.version == 2 {
		actions["ctx"] = SignAndIncludeInEncryptionContext
	}
	return Config{
		TableName: "tamper_table", PartitionKey: "pk", SortKey: "sk", Actions: actions,
		AllowedUnsigned: []string{"note"}, AllowedUnsignedPrefix: "u_", Suite: v.suite,
	}
}

// smallItem is kept small so that flipping every bit stays fast.
func smallItem(v variant, pk string) attr.Item {
	it := attr.Item{
		"pk": attr.S(pk), "sk": attr.N("7"), "secret": attr.S(canary), "n": attr.N("42"),
		"sig": attr.S("signed"), "count": attr.N("1"), "note": attr.S("unsigned"), "u_x": attr.B{1, 2},
	}
	if v.version == 2 {
		it["ctx"] = attr.N("5")
	}
	return it
}

// headerOf parses the stored item's header.
func headerOf(t testing.TB, stored attr.Item) *Header {
	t.Helper()
	b, ok := stored[HeaderAttr].(attr.B)
	if !ok {
		t.Fatalf("%s is %T, want attr.B", HeaderAttr, stored[HeaderAttr])
	}
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatalf("ParseHeader: %v", err)
	}
	return h
}

// failingKeyring fails every call with err, as a keyring does when its
// branch key store or KMS is unreachable.
type failingKeyring struct{ err error }

func (k failingKeyring) OnEncrypt(context.Context, *materials.Encryption) error { return k.err }

func (k failingKeyring) OnDecrypt(context.Context, *materials.Decryption, []materials.EDK) error {
	return k.err
}

// emptyKeyring succeeds without adding any data key.
type emptyKeyring struct{}

func (emptyKeyring) OnEncrypt(context.Context, *materials.Encryption) error { return nil }

func (emptyKeyring) OnDecrypt(context.Context, *materials.Decryption, []materials.EDK) error {
	return nil
}
