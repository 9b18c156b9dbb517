package item

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// benchItem is the design's benchmark item: about 1 KiB in 5 attributes,
// the partition key signed, one attribute signed, three encrypted.
func benchItem() (attr.Item, map[string]Action) {
	it := attr.Item{
		"id":      attr.S("customer-000042"),
		"country": attr.S("NZ"),
		"name":    attr.S(strings.Repeat("n", 300)),
		"email":   attr.S(strings.Repeat("e", 300)),
		"card":    attr.S(strings.Repeat("c", 400)),
	}
	actions := map[string]Action{"id": SignOnly, "country": SignOnly,
		"name": EncryptAndSign, "email": EncryptAndSign, "card": EncryptAndSign}
	return it, actions
}

func benchEncryptor(b *testing.B, suite materials.SuiteID) (*Encryptor, attr.Item) {
	b.Helper()
	it, actions := benchItem()
	key := secret.Random(32)
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: "bench", Version: "e9ce18a3-edb5-4272-9f86-1cacb7997ff6", Key: key}}}
	kr, err := hierarchy.New("bench", src, hierarchy.NewCache(hierarchy.DefaultTTL, 16, nil))
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{TableName: "bench_table", PartitionKey: "id", Actions: actions, Suite: suite, Keyring: kr})
	if err != nil {
		b.Fatal(err)
	}
	return e, it
}

func BenchmarkEncrypt(b *testing.B) {
	for _, s := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		b.Run(suiteName(s), func(b *testing.B) {
			e, it := benchEncryptor(b, s)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Encrypt(ctx, it); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, s := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		b.Run(suiteName(s), func(b *testing.B) {
			e, it := benchEncryptor(b, s)
			ctx := context.Background()
			stored, err := e.Encrypt(ctx, it)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Decrypt(ctx, stored); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func suiteName(s materials.SuiteID) string {
	if s == materials.SuiteECDSA {
		return "0x6701"
	}
	return "0x6700"
}

// BenchmarkFloor performs only the primitive operations the format
// requires to encrypt the benchmark item under suite 0x6700 with a warm
// hierarchical keyring: the randomness, the branch key derivation (one
// HMAC-SHA256), two AES-GCM key wraps, four HKDF-SHA512 outputs
// (intermediate MAC and ENC keys, field root key, commit key: two
// extracts, since each pair shares its key, and four expands), per
// encrypted field an AES-CTR key derivation and an AES-GCM seal, the
// HMAC-SHA512 commitment, the SHA-384 canonical hash and the HMAC-SHA384
// recipient tag. Decryption needs the same operations, so this is the
// floor for both.
func BenchmarkFloor(b *testing.B) {
	it, _ := benchItem()
	var fields [][]byte
	var canon int
	for _, name := range []string{"name", "email", "card"} {
		fields = append(fields, []byte(it[name].(attr.S)))
	}
	for _, v := range it {
		canon += len(v.(attr.S)) + 64
	}
	branch := make([]byte, 32)
	rand.Read(branch)
	canonical := make([]byte, canon+200)
	b.ReportAllocs()
	for b.Loop() {
		floorOnce(branch, fields, canonical)
	}
}

func floorOnce(branch []byte, fields [][]byte, canonical []byte) {
	var random [32 + 32 + 28 + 32]byte
	rand.Read(random[:])
	dk, inter, msg := random[:32], random[32:64], random[92:]
	mac := hmac.New(sha256.New, branch)
	mac.Write(random[64:92])
	gcmSeal(mac.Sum(nil), inter)
	iprk, _ := hkdf.Extract(sha512.New, inter, nil)
	sig, _ := hkdf.Expand(sha512.New, iprk, keywrapMACInfo, 32)
	enc, _ := hkdf.Expand(sha512.New, iprk, keywrapEncInfo, 32)
	gcmSeal(enc, dk)
	prk, _ := hkdf.Extract(sha512.New, dk, nil)
	root, _ := hkdf.Expand(sha512.New, prk, deriveKeyInfo+string(msg), 32)
	ck, _ := hkdf.Expand(sha512.New, prk, commitKeyInfo+string(msg), 32)
	block, _ := aes.NewCipher(root)
	for i, f := range fields {
		var fk [48]byte
		iv := make([]byte, 16)
		iv[15] = byte(3 * i)
		cipher.NewCTR(block, iv).XORKeyStream(fk[:], fk[:])
		gcmSeal(fk[:32], f)
	}
	c := hmac.New(sha512.New, ck)
	c.Write(canonical[:300])
	c.Sum(nil)
	h := sha512.Sum384(canonical)
	t := hmac.New(sha512.New384, sig)
	t.Write(h[:])
	t.Sum(nil)
}

const (
	keywrapMACInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC"
	keywrapEncInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC"
)

func gcmSeal(key, plain []byte) []byte {
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return aead.Seal(nil, make([]byte, 12), plain, nil)
}

// BenchmarkP384 measures the primitives suite 0x6701 adds: a fresh key
// pair and a signature on encrypt (a 103-byte DER signature needs about
// two draws on average), a verification on decrypt.
func BenchmarkP384(b *testing.B) {
	digest := sha512.Sum384([]byte("canonical hash"))
	b.Run("keygen+sign", func(b *testing.B) {
		for b.Loop() {
			k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			ecdsa.SignASN1(rand.Reader, k, digest[:])
		}
	})
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sig, _ := ecdsa.SignASN1(rand.Reader, k, digest[:])
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			ecdsa.VerifyASN1(&k.PublicKey, digest[:], sig)
		}
	})
}
