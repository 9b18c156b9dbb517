package hierarchy_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

const (
	testBranchKeyID = "bd3842ff-3076-4092-9918-4395730050b8"
	testVersionA    = "e9ce18a3-edb5-4272-9f86-1cacb7997ff6"
	testVersionB    = "0c5a0d3e-9b1f-4e0a-8a55-2c4b7d0f1e23"
	// edkLen is the wrapped data key (48) plus the keyring's part (92).
	edkLen = 48 + 92
	// versionOffset is where the version UUID sits in the EDK ciphertext:
	// wrapped data key (48), salt (16), IV (12).
	versionOffset = 48 + 16 + 12
)

func branchKey(id, version string) hierarchy.BranchKey {
	return hierarchy.BranchKey{ID: id, Version: version, Key: secret.Random(32)}
}

func newKeyring(t testing.TB, id string, src hierarchy.Source) *hierarchy.Keyring {
	t.Helper()
	k, err := hierarchy.New(id, src, hierarchy.NewCache(hierarchy.DefaultTTL, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// staticKeyring returns a keyring whose source holds one fresh branch key,
// version version of id.
func staticKeyring(t testing.TB, id, version string) *hierarchy.Keyring {
	t.Helper()
	return newKeyring(t, id, hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey(id, version)}})
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	bk := branchKey(testBranchKeyID, testVersionA)
	k := newKeyring(t, testBranchKeyID, hierarchy.Static{Keys: []hierarchy.BranchKey{bk}})
	wantVersion, err := hierarchy.VersionBytes(testVersionA)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range keyringtest.SuiteIDs() {
		for _, ec := range []materials.Context{nil, {"only": "one"}, keyringtest.Context()} {
			enc := keyringtest.Encrypt(t, k, keyringtest.Suite(t, id), ec)
			if len(enc.EDKs) != 1 || len(enc.SigningKeys) != 1 || enc.DataKey.Len() != 32 || enc.SigningKeys[0].Len() != 32 {
				t.Fatalf("OnEncrypt left %d EDKs, %d signing keys, %d-byte data key",
					len(enc.EDKs), len(enc.SigningKeys), enc.DataKey.Len())
			}
			edk := enc.EDKs[0]
			if edk.ProviderID != "aws-kms-hierarchy" || hierarchy.ProviderID != "aws-kms-hierarchy" {
				t.Errorf("provider id %q", edk.ProviderID)
			}
			if string(edk.ProviderInfo) != testBranchKeyID {
				t.Errorf("provider info %q, want the branch key id", edk.ProviderInfo)
			}
			if len(edk.Ciphertext) != edkLen {
				t.Fatalf("EDK ciphertext is %d bytes, want %d", len(edk.Ciphertext), edkLen)
			}
			if got := edk.Ciphertext[versionOffset : versionOffset+16]; !bytes.Equal(got, wantVersion[:]) {
				t.Errorf("version bytes %x, want %x", got, wantVersion)
			}
			keyringtest.MustDecrypt(t, k, enc, enc.EDKs, 0)
		}
	}
}

func TestOnEncryptFreshRandomness(t *testing.T) {
	t.Parallel()
	k := staticKeyring(t, testBranchKeyID, testVersionA)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	dk := keyringtest.RandomBytes(32)
	a := &materials.Encryption{Suite: s, DataKey: secret.Copy(dk)}
	b := &materials.Encryption{Suite: s, DataKey: secret.Copy(dk)}
	for _, m := range []*materials.Encryption{a, b} {
		if err := k.OnEncrypt(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if !m.DataKey.Equal(secret.New(dk)) {
			t.Fatal("OnEncrypt replaced a data key that was already set")
		}
	}
	ca, cb := a.EDKs[0].Ciphertext, b.EDKs[0].Ciphertext
	// Different intermediate keys, salts and IVs each time.
	if bytes.Equal(ca[:48], cb[:48]) || bytes.Equal(ca[48:76], cb[48:76]) || a.SigningKeys[0].Equal(b.SigningKeys[0]) {
		t.Fatal("two encryptions of one data key share intermediate key, salt or IV")
	}
	c := &materials.Encryption{Suite: s}
	d := &materials.Encryption{Suite: s}
	_ = k.OnEncrypt(context.Background(), c)
	_ = k.OnEncrypt(context.Background(), d)
	if c.DataKey.Equal(d.DataKey) {
		t.Fatal("OnEncrypt generated the same data key twice")
	}
}

func TestNewRequiresArguments(t *testing.T) {
	t.Parallel()
	src := hierarchy.Static{}
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 1, nil)
	for name, f := range map[string]func() (*hierarchy.Keyring, error){
		"no id":     func() (*hierarchy.Keyring, error) { return hierarchy.New("", src, cache) },
		"no source": func() (*hierarchy.Keyring, error) { return hierarchy.New("id", nil, cache) },
		"no cache":  func() (*hierarchy.Keyring, error) { return hierarchy.New("id", src, nil) },
	} {
		if k, err := f(); err == nil || k != nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestOnEncryptFails(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	boom := errors.New("key store unavailable")
	for name, tc := range map[string]struct {
		src  hierarchy.Source
		want error
	}{
		"unknown branch key": {hierarchy.Static{}, hierarchy.ErrNotFound},
		"source error":       {errSource{boom}, boom},
		"short branch key":   {hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: "b", Version: testVersionA, Key: secret.Random(16)}}}, nil},
		"bad version":        {hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: "b", Version: "v1", Key: secret.Random(32)}}}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			err := keyringtest.MustFailEncrypt(t, newKeyring(t, "b", tc.src), &materials.Encryption{Suite: s})
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("OnEncrypt error = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("31-byte data key", func(t *testing.T) {
		m := &materials.Encryption{Suite: s, DataKey: secret.Random(31)}
		keyringtest.MustFailEncrypt(t, staticKeyring(t, "b", testVersionA), m)
	})
}

type errSource struct{ err error }

func (s errSource) ActiveKey(context.Context, string) (hierarchy.BranchKey, error) {
	return hierarchy.BranchKey{}, s.err
}

func (s errSource) Name() string { return "test" }

func (s errSource) KeyVersion(context.Context, string, string) (hierarchy.BranchKey, error) {
	return hierarchy.BranchKey{}, s.err
}

func TestOnDecryptFailsClosed(t *testing.T) {
	t.Parallel()
	bk := branchKey(testBranchKeyID, testVersionA)
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{bk}}
	k := newKeyring(t, testBranchKeyID, src)
	s := keyringtest.Suite(t, materials.SuiteECDSA)
	enc := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	edk := enc.EDKs[0]

	// The same key bytes and version under another id: the AAD binds the id.
	relabelled := hierarchy.BranchKey{ID: "other-id", Version: testVersionA, Key: bk.Key}
	relabelledEDK := edk
	relabelledEDK.ProviderInfo = []byte("other-id")
	otherKey := branchKey(testBranchKeyID, testVersionA)
	extra := keyringtest.Context()
	extra["aws-crypto-public-key"] = "A8n4"
	otherProvider := edk
	otherProvider.ProviderID = "aws-kms"
	nilCiphertext := edk
	nilCiphertext.Ciphertext = nil

	type testCase struct {
		k    *hierarchy.Keyring
		ec   materials.Context
		edks []materials.EDK
	}
	tests := map[string]testCase{
		"other branch key id": {newKeyring(t, "other-id", hierarchy.Static{Keys: []hierarchy.BranchKey{relabelled}}), keyringtest.Context(), enc.EDKs},
		"id swapped in EDK": {newKeyring(t, "other-id", hierarchy.Static{Keys: []hierarchy.BranchKey{relabelled}}),
			keyringtest.Context(), []materials.EDK{relabelledEDK}},
		"other branch key":         {newKeyring(t, testBranchKeyID, hierarchy.Static{Keys: []hierarchy.BranchKey{otherKey}}), keyringtest.Context(), enc.EDKs},
		"unknown version":          {staticKeyring(t, testBranchKeyID, testVersionB), keyringtest.Context(), enc.EDKs},
		"context public key added": {k, extra, enc.EDKs},
		"other provider id":        {k, keyringtest.Context(), []materials.EDK{otherProvider}},
		"no EDKs":                  {k, keyringtest.Context(), nil},
		"nil ciphertext":           {k, keyringtest.Context(), []materials.EDK{nilCiphertext}},
	}
	for name, ec := range keyringtest.OtherContexts() {
		tests["context "+name] = testCase{k, ec, enc.EDKs}
	}
	for name, tc := range tests {
		m, err := keyringtest.Decrypt(tc.k, s, tc.ec, tc.edks)
		if err == nil {
			t.Errorf("%s: OnDecrypt succeeded", name)
			continue
		}
		t.Run(name, func(t *testing.T) { keyringtest.MustFailClosed(t, m, err) })
	}
}

func TestOnDecryptUnknownVersionIsNotFound(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := keyringtest.Encrypt(t, staticKeyring(t, "b", testVersionA), s, nil)
	k := staticKeyring(t, "b", testVersionB)
	m, err := keyringtest.Decrypt(k, s, nil, enc.EDKs)
	keyringtest.MustFailClosed(t, m, err)
	if !errors.Is(err, hierarchy.ErrNotFound) {
		t.Fatalf("err = %v, want it to wrap ErrNotFound too", err)
	}
}

func TestDecryptRejectsTamperedEDK(t *testing.T) {
	t.Parallel()
	k := staticKeyring(t, testBranchKeyID, testVersionA)
	for _, id := range keyringtest.SuiteIDs() {
		enc := keyringtest.Encrypt(t, k, keyringtest.Suite(t, id), keyringtest.Context())
		keyringtest.MustRejectTampered(t, k, enc)
	}
}

func TestOnDecryptRefusesFilledMaterials(t *testing.T) {
	t.Parallel()
	k := staticKeyring(t, testBranchKeyID, testVersionA)
	enc := keyringtest.Encrypt(t, k, keyringtest.Suite(t, materials.SuiteSymSig), keyringtest.Context())
	keyringtest.MustRefuseFilledMaterials(t, k, enc, nil)
}

func TestMultipleEDKs(t *testing.T) {
	t.Parallel()
	s := keyringtest.Suite(t, materials.SuiteECDSA)
	ka := staticKeyring(t, "branch-a", testVersionA)
	kb := staticKeyring(t, "branch-b", testVersionA)
	enc := keyringtest.Encrypt(t, ka, s, keyringtest.Context())
	if err := kb.OnEncrypt(context.Background(), enc); err != nil {
		t.Fatal(err)
	}
	if len(enc.EDKs) != 2 || len(enc.SigningKeys) != 2 {
		t.Fatalf("%d EDKs after two keyrings", len(enc.EDKs))
	}
	keyringtest.MustDecrypt(t, ka, enc, enc.EDKs, 0)
	keyringtest.MustDecrypt(t, kb, enc, enc.EDKs, 1)

	// Both EDKs name branch-a, but the first is corrupt: the keyring moves
	// on to the second.
	again := &materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: enc.DataKey}
	if err := ka.OnEncrypt(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	bad := again.EDKs[0]
	bad.Ciphertext = bytes.Clone(bad.Ciphertext)
	bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1
	edks := []materials.EDK{bad, again.EDKs[0]}
	again.SigningKeys = append([]secret.Bytes{{}}, again.SigningKeys...)
	keyringtest.MustDecrypt(t, ka, again, edks, 1)
}

// rotatingSource knows versions A and B of one branch key; its active
// version is whatever active holds.
type rotatingSource struct {
	keys   map[string]hierarchy.BranchKey
	active *string
}

func (s rotatingSource) ActiveKey(_ context.Context, id string) (hierarchy.BranchKey, error) {
	return s.KeyVersion(context.Background(), id, *s.active)
}

func (s rotatingSource) Name() string { return "test" }

func (s rotatingSource) KeyVersion(_ context.Context, id, version string) (hierarchy.BranchKey, error) {
	k, ok := s.keys[version]
	if !ok || k.ID != id {
		return hierarchy.BranchKey{}, hierarchy.ErrNotFound
	}
	return k, nil
}

func TestRotation(t *testing.T) {
	t.Parallel()
	clock := newClock()
	active := testVersionA
	src := rotatingSource{active: &active, keys: map[string]hierarchy.BranchKey{
		testVersionA: branchKey("b", testVersionA), testVersionB: branchKey("b", testVersionB),
	}}
	k, err := hierarchy.New("b", src, hierarchy.NewCache(hierarchy.DefaultTTL, 10, clock.now))
	if err != nil {
		t.Fatal(err)
	}
	s := keyringtest.Suite(t, materials.SuiteECDSA)
	version := func(m *materials.Encryption) string {
		return hierarchy.VersionString(m.EDKs[0].Ciphertext[versionOffset : versionOffset+16])
	}
	old := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	if version(old) != testVersionA {
		t.Fatalf("first item under %s, want A", version(old))
	}
	active = testVersionB
	if m := keyringtest.Encrypt(t, k, s, keyringtest.Context()); version(m) != testVersionA {
		t.Fatalf("within the TTL the cached active version should still be used, got %s", version(m))
	}
	clock.advance(hierarchy.DefaultTTL)
	for range 3 {
		if m := keyringtest.Encrypt(t, k, s, keyringtest.Context()); version(m) != testVersionB {
			t.Fatalf("after rotation and TTL, new item under %s, want B", version(m))
		} else {
			keyringtest.MustDecrypt(t, k, m, m.EDKs, 0)
		}
	}
	keyringtest.MustDecrypt(t, k, old, old.EDKs, 0)
}

// TestDerivationKnownAnswer decrypts an EDK without the keyring's code: it
// recomputes the SP 800-108 HMAC-SHA256 derivation, opens the intermediate
// key with AES-GCM under the MPL AAD, and unwraps the data key with
// materials.IntermediateUnwrap. This pins the wire layout and the AAD.
func TestDerivationKnownAnswer(t *testing.T) {
	t.Parallel()
	bk := branchKey(testBranchKeyID, testVersionA)
	k := newKeyring(t, testBranchKeyID, hierarchy.Static{Keys: []hierarchy.BranchKey{bk}})
	for _, id := range keyringtest.SuiteIDs() {
		for _, ec := range []materials.Context{nil, keyringtest.Context()} {
			s := keyringtest.Suite(t, id)
			enc := keyringtest.Encrypt(t, k, s, ec)
			dk, sig := openEDK(t, s, bk.Key.InsecureBytes(), testBranchKeyID, enc.EDKs[0].Ciphertext, ec)
			if !dk.Equal(enc.DataKey) || !sig.Equal(enc.SigningKeys[0]) {
				t.Fatalf("%#x: independent decryption gave another data key or signing key", id)
			}
			want, err := hkdf.Key(sha512.New, independentIntermediate(t, bk.Key.InsecureBytes(), testBranchKeyID, enc.EDKs[0].Ciphertext, ec), nil,
				"AWS_MPL_INTERMEDIATE_KEYWRAP_MAC", 32)
			if err != nil || !enc.SigningKeys[0].Equal(secret.New(want)) {
				t.Fatalf("signing key is not HKDF-SHA512(intermediate, MAC info): %v", err)
			}
		}
	}
}

// independentIntermediate opens the intermediate key of an EDK ciphertext.
func independentIntermediate(t *testing.T, branchKey []byte, id string, ct []byte, ec materials.Context) []byte {
	t.Helper()
	if len(ct) != edkLen {
		t.Fatalf("EDK ciphertext is %d bytes", len(ct))
	}
	p := ct[48:]
	salt, iv, version, sealed := p[:16], p[16:28], p[28:44], p[44:]
	mac := hmac.New(sha256.New, branchKey)
	mac.Write(binary.BigEndian.AppendUint32(nil, 1))
	mac.Write([]byte("aws-kms-hierarchy"))
	mac.Write([]byte{0})
	mac.Write(salt)
	mac.Write(binary.BigEndian.AppendUint32(nil, 256))
	aead := keyringtest.GCM(t, mac.Sum(nil))
	var ecBytes []byte
	if len(ec) > 0 {
		var err error
		if ecBytes, err = ec.Serialize(); err != nil {
			t.Fatal(err)
		}
	}
	aad := append([]byte("aws-kms-hierarchy"+id), version...)
	aad = append(aad, ecBytes...)
	intermediate, err := aead.Open(nil, iv, sealed, aad)
	if err != nil {
		t.Fatalf("independent AES-GCM open of the intermediate key failed: %v", err)
	}
	return intermediate
}

func openEDK(t *testing.T, s materials.Suite, branchKey []byte, id string, ct []byte, ec materials.Context) (secret.Bytes, secret.Bytes) {
	t.Helper()
	intermediate := independentIntermediate(t, branchKey, id, ct, ec)
	dk, sig, err := materials.IntermediateUnwrap(s, ct[:48], secret.New(intermediate), keyringtest.AAD(t, ec))
	if err != nil {
		t.Fatal(err)
	}
	return dk, sig
}

// Vectors from the Java DB-ESDK (decrypt_java_32.json tests "7" and "1",
// see testdata/dbesdk): the EDK of each item header, under the
// keys.json entry static-branch-key-1.
const (
	javaBranchKey = "tJwf65epYvUt5HMiQsl/6jlvLxS0tgdjIuvFy2BLIwg="
	javaEDK7      = "6eac73344d85ca244190e0fccff682c78321f93e9fe681fc031f4b049bf97de086fbe073a828a08158158fa1d509fe16" +
		"0316c56124b80bf5e890d91cc5ee629f9125663de6e25def84986772e9ce18a3edb542729f861cacb7997ff65eff9433" +
		"13293abd5e386d929daf73c9cac8d4ad030ed42db438b1d3687fdb094e9f0185f7a5d345b0b1666cac2f92f8"
	javaEDK1 = "54e99727172ccd2248cee8a5b20399f34135901002ff6d0b9707e41a2eecb44702f9f7a9d99622339902d8cab9ede82a" +
		"4d8a8053b78365b5931cb808f4d992b065bd4f20a915c5d754364010e9ce18a3edb542729f861cacb7997ff6c17f03be" +
		"f896bb4e2709dd46bfc14ce74eafe33b2273acdbbec5dd80f67616abd3cf0c30ab68c0534d4788a12a4af594"
)

func TestJavaVectors(t *testing.T) {
	t.Parallel()
	key, err := base64.StdEncoding.DecodeString(javaBranchKey)
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyring(t, testBranchKeyID, hierarchy.Static{Keys: []hierarchy.BranchKey{
		{ID: testBranchKeyID, Version: testVersionA, Key: secret.Copy(key)},
	}})
	v1 := func(extra map[string]string) materials.Context {
		ec := materials.Context{
			"aws-crypto-table-name": "GazelleVectorTable", "aws-crypto-partition-name": "RecNum",
			"aws-crypto-attr.RecNum": "AAIx",
		}
		for k, v := range extra {
			ec[k] = v
		}
		return ec
	}
	for _, tc := range []struct {
		name  string
		suite materials.SuiteID
		edk   string
		ec    materials.Context
	}{
		{"7", materials.SuiteSymSig, javaEDK7, v1(nil)},
		{"1", materials.SuiteECDSA, javaEDK1, v1(map[string]string{
			"aws-crypto-public-key": "A8n4ItdTBgiyUIaCLKrj3wUWy98fi0Np0rEOZi0YEv4yL/fCtKmul3ihqiR60YSO8w==",
		})},
	} {
		ct, err := hex.DecodeString(tc.edk)
		if err != nil {
			t.Fatal(err)
		}
		edk := materials.EDK{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte(testBranchKeyID), Ciphertext: ct}
		s := keyringtest.Suite(t, tc.suite)
		m, err := keyringtest.Decrypt(k, s, tc.ec, []materials.EDK{edk})
		if err != nil {
			t.Fatalf("vector %s: %v", tc.name, err)
		}
		dk, sig := openEDK(t, s, key, testBranchKeyID, ct, tc.ec)
		if !m.DataKey.Equal(dk) || !m.SigningKey.Equal(sig) || m.EDKIndex != 0 {
			t.Fatalf("vector %s: keyring and independent decryption disagree", tc.name)
		}
		m, err = keyringtest.Decrypt(k, s, materials.Context{}, []materials.EDK{edk})
		keyringtest.MustFailClosed(t, m, err)
	}
}

// TestUppercaseVersion: VersionBytes accepts upper-case hex, but decryption
// looks the version up by its lower-case VersionString, so a source whose
// versions are upper case encrypts items it can never decrypt. Either
// OnEncrypt must refuse such a version or the item must decrypt.
func TestUppercaseVersion(t *testing.T) {
	t.Parallel()
	upper := strings.ToUpper(testVersionA)
	k := staticKeyring(t, "b", upper)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := &materials.Encryption{Suite: s, Context: keyringtest.Context()}
	if err := k.OnEncrypt(context.Background(), enc); err != nil {
		return // refusing a non-canonical version is a correct fix
	}
	if _, err := keyringtest.Decrypt(k, s, keyringtest.Context(), enc.EDKs); err != nil {
		t.Fatalf("item encrypted under version %s does not decrypt: %v", upper, err)
	}
}

// TestNoMatchingEDKError: with no EDK for this keyring the error must still
// read well (no fmt "%!w(<nil>)" artefact from joining zero errors).
func TestNoMatchingEDKError(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, "b", hierarchy.Static{})
	m, err := keyringtest.Decrypt(k, keyringtest.Suite(t, materials.SuiteSymSig), nil, nil)
	keyringtest.MustFailClosed(t, m, err)
	if strings.Contains(err.Error(), "%!") {
		t.Fatalf("malformed error message: %q", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	k := staticKeyring(t, "b", testVersionA)
	s := keyringtest.Suite(t, materials.SuiteECDSA)
	errs := make(chan error, 16)
	for range cap(errs) {
		go func() {
			for range 50 {
				enc := &materials.Encryption{Suite: s, Context: keyringtest.Context()}
				if err := k.OnEncrypt(context.Background(), enc); err != nil {
					errs <- err
					return
				}
				m, err := keyringtest.Decrypt(k, s, keyringtest.Context(), enc.EDKs)
				if err == nil && !m.DataKey.Equal(enc.DataKey) {
					err = fmt.Errorf("wrong data key")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
