package materials_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

const (
	suiteSymSigName = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384"
	suiteECDSAName  = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"
)

// unhex decodes hex that may be split by spaces for readability.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func suite(t testing.TB, id materials.SuiteID) materials.Suite {
	t.Helper()
	s, err := materials.SuiteByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testContext is an encryption context shaped like the item encryptor's.
func testContext() materials.Context {
	return materials.Context{
		"aws-crypto-table-name":     "records",
		"aws-crypto-partition-name": "id",
		"aws-crypto-attr.id":        "AAFjdXN0b21lci0x",
	}
}

func TestSuiteByID(t *testing.T) {
	t.Parallel()
	want := sha512.Sum512([]byte("abc"))
	for _, tc := range []struct {
		id     materials.SuiteID
		signed bool
		name   string
	}{
		{materials.SuiteSymSig, false, suiteSymSigName},
		{materials.SuiteECDSA, true, suiteECDSAName},
	} {
		s, err := materials.SuiteByID(tc.id)
		if err != nil {
			t.Fatalf("SuiteByID(%#x): %v", tc.id, err)
		}
		if s.ID != tc.id || s.Signed != tc.signed || s.KeyLen != 32 || s.Name() != tc.name {
			t.Errorf("SuiteByID(%#x) = {ID %#x Signed %v KeyLen %d Name %s}", tc.id, s.ID, s.Signed, s.KeyLen, s.Name())
		}
		if s.WrappedDataKeyLen() != 48 {
			t.Errorf("%s: WrappedDataKeyLen = %d, want 48", tc.name, s.WrappedDataKeyLen())
		}
		h := s.KDFHash()
		h.Write([]byte("abc"))
		if !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("%s: KDFHash is not SHA-512", tc.name)
		}
	}
	if materials.SuiteSymSig != 0x6700 || materials.SuiteECDSA != 0x6701 {
		t.Fatal("suite ids differ from the DB-ESDK ids 0x6700 and 0x6701")
	}
}

func TestSuiteByIDUnknown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id   materials.SuiteID
		want string
	}{
		{0, "0x0000"}, {0x0478, "0x0478"}, {0x0578, "0x0578"}, {0x6702, "0x6702"}, {0xFFFF, "0xffff"},
	} {
		_, err := materials.SuiteByID(tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SuiteByID(%#x) error = %v, want one naming %s", tc.id, err, tc.want)
		}
	}
}

func TestSuiteByName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]materials.SuiteID{
		suiteSymSigName: materials.SuiteSymSig, "0x6700": materials.SuiteSymSig, "6700": materials.SuiteSymSig,
		suiteECDSAName: materials.SuiteECDSA, "0x6701": materials.SuiteECDSA, "6701": materials.SuiteECDSA,
	} {
		s, err := materials.SuiteByName(name)
		if err != nil || s.ID != want || s.Signed != (want == materials.SuiteECDSA) || s.KeyLen != 32 {
			t.Errorf("SuiteByName(%q) = %#x signed %v, %v; want %#x", name, s.ID, s.Signed, err, want)
		}
	}
	for _, name := range []string{
		"", "0x6702", "6702", "ALG_AES_256_GCM_IV12_TAG16_NO_KDF", strings.ToLower(suiteSymSigName),
		" " + suiteECDSAName, "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
	} {
		_, err := materials.SuiteByName(name)
		if err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("SuiteByName(%q) error = %v, want one naming it", name, err)
		}
	}
}

// serializeCases are contexts with their MPL serialization, written out by
// hand: 2-byte count, then per entry (sorted by key bytes) 2-byte key length,
// key, 2-byte value length, value.
var serializeCases = []struct {
	name string
	ec   materials.Context
	want string
}{
	{"nil", nil, "0000"},
	{"empty", materials.Context{}, "0000"},
	{"one", materials.Context{"a": "b"}, "0001 0001 61 0001 62"},
	{"empty key", materials.Context{"": "empty-key"}, "0001 0000 0009 656d7074792d6b6579"},
	{
		// Byte order: "B" < "a" < "aa" < "b" < "z" < "é" (c3 a9).
		"byte order",
		materials.Context{"b": "2", "a": "1", "B": "3", "aa": "4", "é": "5", "z": ""},
		"0006 0001 42 0001 33 0001 61 0001 31 0002 6161 0001 34 0001 62 0001 32 0001 7a 0000 0002 c3a9 0001 35",
	},
	{
		"item encryptor",
		materials.Context{"aws-crypto-table-name": "records", "aws-crypto-partition-name": "id"},
		"0002 0019 6177732d63727970746f2d706172746974696f6e2d6e616d65 0002 6964" +
			" 0015 6177732d63727970746f2d7461626c652d6e616d65 0007 7265636f726473",
	},
}

func TestContextSerializeKnownAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range serializeCases {
		got, err := tc.ec.Serialize()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := unhex(t, tc.want); !bytes.Equal(got, want) {
			t.Errorf("%s: Serialize = %x, want %x", tc.name, got, want)
		}
	}
}

func TestContextAAD(t *testing.T) {
	t.Parallel()
	for _, tc := range serializeCases {
		got, err := tc.ec.AAD()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := unhex(t, tc.want)
		if len(tc.ec) == 0 {
			want = nil // MPL: an empty context is bound as empty bytes
		}
		if !bytes.Equal(got, want) || len(got) != len(want) {
			t.Errorf("%s: AAD = %x, want %x", tc.name, got, want)
		}
	}
}

func TestParseContextRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range serializeCases {
		for _, rest := range [][]byte{nil, {0}, []byte("trailing header bytes")} {
			in := append(unhex(t, tc.want), rest...)
			ec, gotRest, err := materials.ParseContext(in)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !maps.Equal(ec, tc.ec) || ec == nil {
				t.Errorf("%s: ParseContext = %q, want %q", tc.name, ec, tc.ec)
			}
			if !bytes.Equal(gotRest, rest) {
				t.Errorf("%s: rest = %x, want %x", tc.name, gotRest, rest)
			}
		}
	}
}

func TestParseContextTruncated(t *testing.T) {
	t.Parallel()
	ec := testContext()
	ec[""] = ""
	ec["k"] = strings.Repeat("v", 300) // a length above 0xff
	full, err := ec.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(full) {
		if got, _, err := materials.ParseContext(full[:n]); err == nil {
			t.Fatalf("ParseContext accepted %d of %d bytes: %q", n, len(full), got)
		}
	}
}

func TestParseContextRejectsNonCanonical(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"unsorted":         "0002 0001 62 0000 0001 61 0000",
		"unsorted by byte": "0002 0001 61 0000 0001 42 0000",
		"duplicate":        "0002 0001 61 0001 31 0001 61 0001 32",
		"duplicate empty":  "0002 0000 0000 0000 0000",
		"prefix after":     "0002 0002 6161 0000 0001 61 0000",
		"count too high":   "0002 0001 61 0000",
		"key overruns":     "0001 0005 61 0000",
		"value overruns":   "0001 0001 61 0003 6262",
		"no value length":  "0001 0001 61 00",
	} {
		if ec, _, err := materials.ParseContext(unhex(t, in)); err == nil {
			t.Errorf("%s: ParseContext accepted %s as %q", name, in, ec)
		}
	}
}

// TestParseContextAllocation: a 2-byte header claiming 65535 entries must
// not make ParseContext allocate megabytes before it finds the input
// truncated (the count should bound the map hint only up to len(b)/4, the
// smallest entry size). Not parallel: it reads global allocation stats.
func TestParseContextAllocation(t *testing.T) {
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, _, err := materials.ParseContext([]byte{0xff, 0xff}); err == nil {
			t.Fatal("ParseContext accepted a truncated context")
		}
	}
	runtime.ReadMemStats(&after)
	if perCall := (after.TotalAlloc - before.TotalAlloc) / runs; perCall > 64<<10 {
		t.Fatalf("ParseContext of 2 bytes allocated %d bytes", perCall)
	}
}

func TestSerializeTooLong(t *testing.T) {
	t.Parallel()
	maxStr, long := strings.Repeat("x", 0xFFFF), strings.Repeat("x", 0x10000)
	ok := materials.Context{maxStr: maxStr}
	b, err := ok.Serialize()
	if err != nil {
		t.Fatalf("65535-byte key and value: %v", err)
	}
	if back, _, err := materials.ParseContext(b); err != nil || !maps.Equal(back, ok) {
		t.Fatalf("65535-byte entry did not round trip: %v", err)
	}
	for name, ec := range map[string]materials.Context{
		"long key":   {long: "v"},
		"long value": {"k": long},
	} {
		if _, err := ec.Serialize(); err == nil {
			t.Errorf("%s: Serialize accepted it", name)
		}
		if _, err := ec.AAD(); err == nil {
			t.Errorf("%s: AAD accepted it", name)
		}
	}
	many := make(materials.Context, 0x10000)
	for i := range 0x10000 {
		many[strconv.Itoa(i)] = ""
	}
	if len(many) <= 0xFFFF {
		t.Fatalf("built only %d entries", len(many))
	}
	if _, err := many.Serialize(); err == nil {
		t.Error("Serialize accepted more than 65535 entries")
	}
}

func TestContextClone(t *testing.T) {
	t.Parallel()
	ec := testContext()
	c := ec.Clone()
	c["aws-crypto-table-name"] = "other"
	if ec["aws-crypto-table-name"] != "records" {
		t.Fatal("Clone shares storage with the original")
	}
}

func TestIntermediateWrapRoundTrip(t *testing.T) {
	t.Parallel()
	for _, id := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		for _, ec := range []materials.Context{nil, testContext()} {
			s := suite(t, id)
			dk, ik := secret.Random(32), secret.Random(32)
			wrapped, sig, err := materials.IntermediateWrap(s, dk, ik, mustAAD(ec))
			if err != nil {
				t.Fatal(err)
			}
			if len(wrapped) != 48 || sig.Len() != 32 {
				t.Fatalf("wrapped %d bytes, signing key %d bytes; want 48 and 32", len(wrapped), sig.Len())
			}
			gotDK, gotSig, err := materials.IntermediateUnwrap(s, wrapped, ik, mustAAD(ec.Clone()))
			if err != nil {
				t.Fatal(err)
			}
			if !gotDK.Equal(dk) || !gotSig.Equal(sig) {
				t.Fatalf("%#x: unwrap returned another data key or signing key", id)
			}
		}
	}
}

// TestIntermediateKeysKnownAnswer recomputes the MPL intermediate key
// wrapping independently: HKDF-SHA512 without salt for both keys, AES-GCM
// with a zero IV and the serialized context as AAD.
func TestIntermediateKeysKnownAnswer(t *testing.T) {
	t.Parallel()
	for _, ec := range []materials.Context{nil, testContext()} {
		s := suite(t, materials.SuiteECDSA)
		dk, ik := randomBytes(32), randomBytes(32)
		wrapped, sig, err := materials.IntermediateWrap(s, secret.Copy(dk), secret.Copy(ik), mustAAD(ec))
		if err != nil {
			t.Fatal(err)
		}
		wantSig, err := hkdf.Key(sha512.New, ik, nil, "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC", 32)
		if err != nil {
			t.Fatal(err)
		}
		if !sig.Equal(secret.New(wantSig)) {
			t.Fatalf("signing key %x, want HKDF-SHA512 MAC key %x", sig.InsecureBytes(), wantSig)
		}
		encKey, err := hkdf.Key(sha512.New, ik, nil, "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC", 32)
		if err != nil {
			t.Fatal(err)
		}
		block, err := aes.NewCipher(encKey)
		if err != nil {
			t.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		var aad []byte
		if len(ec) > 0 {
			aad, _ = ec.Serialize()
		}
		got, err := aead.Open(nil, make([]byte, 12), wrapped, aad)
		if err != nil || !bytes.Equal(got, dk) {
			t.Fatalf("independent AES-GCM open failed (ctx %d entries): %v", len(ec), err)
		}
	}
}

func TestIntermediateUnwrapFailsClosed(t *testing.T) {
	t.Parallel()
	s := suite(t, materials.SuiteSymSig)
	ec := testContext()
	dk, ik := secret.Random(32), secret.Random(32)
	wrapped, _, err := materials.IntermediateWrap(s, dk, ik, mustAAD(ec))
	if err != nil {
		t.Fatal(err)
	}
	mustFail := func(name string, w []byte, ik secret.Bytes, ec materials.Context) {
		t.Helper()
		got, sig, err := materials.IntermediateUnwrap(s, w, ik, mustAAD(ec))
		if err == nil || !got.IsZero() || !sig.IsZero() {
			t.Errorf("%s: unwrap succeeded or returned keys with error %v", name, err)
		}
	}
	mustFail("other intermediate key", wrapped, secret.Random(32), ec)
	changed := ec.Clone()
	changed["aws-crypto-table-name"] = "records2"
	extra := ec.Clone()
	extra["x"] = ""
	fewer := ec.Clone()
	delete(fewer, "aws-crypto-attr.id")
	for name, other := range map[string]materials.Context{
		"changed value": changed, "extra entry": extra, "fewer entries": fewer, "empty": nil,
	} {
		mustFail("context "+name, wrapped, ik, other)
	}
	for i := range len(wrapped) * 8 {
		w := bytes.Clone(wrapped)
		w[i/8] ^= 1 << (i % 8)
		mustFail("flipped bit", w, ik, ec)
	}
	for n := range len(wrapped) {
		mustFail("truncated", wrapped[:n], ik, ec)
	}
	mustFail("extended", append(bytes.Clone(wrapped), 0), ik, ec)
	for _, n := range []int{0, 16, 31, 33, 64} {
		mustFail("intermediate length", wrapped, secret.Random(n), ec)
		if _, _, err := materials.IntermediateWrap(s, dk, secret.Random(n), mustAAD(ec)); err == nil {
			t.Errorf("IntermediateWrap accepted a %d-byte intermediate key", n)
		}
		if _, _, err := materials.IntermediateWrap(s, secret.Random(n), ik, mustAAD(ec)); err == nil {
			t.Errorf("IntermediateWrap accepted a %d-byte data key", n)
		}
	}
	if _, _, err := materials.IntermediateUnwrap(s, wrapped, ik, mustAAD(ec)); err != nil {
		t.Fatalf("the untouched wrapped key no longer unwraps: %v", err)
	}
}

func TestIntermediateWrapIsRandomizedByKey(t *testing.T) {
	t.Parallel()
	s := suite(t, materials.SuiteSymSig)
	dk := secret.Random(32)
	a, sigA, _ := materials.IntermediateWrap(s, dk, secret.Random(32), nil)
	b, sigB, _ := materials.IntermediateWrap(s, dk, secret.Random(32), nil)
	if bytes.Equal(a, b) || sigA.Equal(sigB) {
		t.Fatal("two intermediate keys gave the same wrapped key or signing key")
	}
}

func TestNewGCM(t *testing.T) {
	t.Parallel()
	aead, err := materials.NewGCM(randomBytes(32))
	if err != nil || aead.NonceSize() != 12 || aead.Overhead() != 16 {
		t.Fatalf("NewGCM: %v", err)
	}
	if _, err := materials.NewGCM(randomBytes(31)); err == nil {
		t.Fatal("NewGCM accepted a 31-byte key")
	}
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
