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
	"encoding/base64"
	"encoding/binary"
	"hash"
	"slices"
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
// requires to encrypt (and, separately, decrypt) the benchmark item under
// suite 0x6700 with a warm hierarchical keyring, on inputs of the lengths
// the format gives that item. Encryption: the randomness (data key,
// intermediate key, salt and IV, message id: 124 bytes), the branch key
// derivation (one HMAC-SHA256), two AES-GCM key wraps with their AADs, four
// HKDF-SHA512 outputs (intermediate MAC and ENC keys, field root key,
// commit key: two extracts, since each pair shares its key, and four
// expands), per encrypted field an AES-CTR key derivation and an AES-GCM
// seal with the canonical path as AAD, the HMAC-SHA512 commitment over the
// partial header, the SHA-384 canonical hash and the HMAC-SHA384 recipient
// tag. Decryption does the same derivations with opens instead of seals,
// verifies the commitment and the tag in constant time, and draws no
// randomness. The floor's own code allocates nothing per item but the
// outputs the format produces (its scratch lives outside the loop).
func BenchmarkFloor(b *testing.B) {
	f := newFloor()
	b.Run("encrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.encrypt()
		}
	})
	f.encrypt() // what decrypt reads: the stored item of one encryption
	b.Run("decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !f.decrypt() {
				b.Fatal("floor decrypt failed")
			}
		}
	})
}

// floor holds the inputs of the floor's primitives, what encrypt stores
// for decrypt, and scratch.
type floor struct {
	branch    []byte   // the branch key
	fields    [][]byte // serialized values of the encrypted attributes
	paths     [][]byte // their canonical paths: the fields' AAD
	ecAAD     []byte   // serialized encryption context: the data key wrap's AAD
	wrapAAD   []byte   // provider id, branch key id, version, context: the intermediate key wrap's AAD
	partial   []byte   // a partial header's length
	canonical []byte   // the canonical hash input's length

	// stored by encrypt, read by decrypt
	random               [32 + 32 + 16 + 12 + 32]byte // data key, intermediate key, salt, IV, message id
	wrappedIK, wrappedDK []byte
	sealed               [][]byte
	commit, tag          []byte

	kdf  [4 + len(hierarchy.ProviderID) + 1 + 16 + 4]byte // branch key derivation input
	iv   [16]byte
	fk   [48]byte
	hash [48]byte
}

func newFloor() *floor {
	it, actions := benchItem()
	const table, branchKeyID = "bench_table", "bench"
	id, _ := attr.MarshalTyped(it["id"])
	ec, _ := materials.Context{ecTableName: table, ecPartitionName: "id",
		ecAttrPrefix + "id": base64.StdEncoding.EncodeToString(id)}.Serialize()
	f := &floor{branch: make([]byte, 32), ecAAD: ec, sealed: make([][]byte, 3)}
	rand.Read(f.branch)
	f.wrapAAD = slices.Concat([]byte(hierarchy.ProviderID), []byte(branchKeyID), make([]byte, 16), ec)
	// partial header: version, flavor, message id, legend, empty stored
	// context, one EDK (provider id, provider info, 48-byte wrapped data
	// key and the keyring's 92 bytes)
	partial := 2 + 32 + 2 + len(it) + 2 + 1 + 2 + len(hierarchy.ProviderID) + 2 + len(branchKeyID) + 2 + 48 + 92
	canonical := partial + commitmentLen + 8 + len(ec)
	for name, v := range it {
		data, _ := attr.Marshal(v)
		path := canonicalPath(table, name)
		canonical += len(path) + 8 + len("PLAINTEXT")
		if actions[name] == EncryptAndSign {
			f.fields, f.paths = append(f.fields, data), append(f.paths, path)
			canonical += 2 + len(data) + 16
		} else {
			canonical += 2 + len(data)
		}
	}
	f.partial, f.canonical = make([]byte, partial), make([]byte, canonical)
	binary.BigEndian.PutUint32(f.kdf[:], 1)
	copy(f.kdf[4:], hierarchy.ProviderID)
	binary.BigEndian.PutUint32(f.kdf[len(f.kdf)-4:], 256)
	return f
}

func (f *floor) encrypt() {
	rand.Read(f.random[:])
	dk, ik, iv, msg := f.random[:32], f.random[32:64], f.random[80:92], f.random[92:]
	f.wrappedIK = floorGCM(f.branchDerivedKey()).Seal(nil, iv, ik, f.wrapAAD)
	sig, enc := f.intermediateKeys(ik)
	f.wrappedDK = floorGCM(enc).Seal(nil, zeroNonce[:], dk, f.ecAAD)
	root, ck := floorItemKeys(dk, msg)
	for i, field := range f.fields {
		aead, nonce := f.fieldAEAD(root, i)
		f.sealed[i] = aead.Seal(nil, nonce, field, f.paths[i])
	}
	f.commit = floorMAC(sha512.New, ck, f.partial)
	f.tag = floorMAC(sha512.New384, sig, f.canonicalHash())
}

func (f *floor) decrypt() bool {
	iv, msg := f.random[80:92], f.random[92:]
	ik, err := floorGCM(f.branchDerivedKey()).Open(nil, iv, f.wrappedIK, f.wrapAAD)
	if err != nil {
		return false
	}
	sig, enc := f.intermediateKeys(ik)
	dk, err := floorGCM(enc).Open(nil, zeroNonce[:], f.wrappedDK, f.ecAAD)
	if err != nil {
		return false
	}
	root, ck := floorItemKeys(dk, msg)
	if !hmac.Equal(floorMAC(sha512.New, ck, f.partial), f.commit) ||
		!hmac.Equal(floorMAC(sha512.New384, sig, f.canonicalHash()), f.tag) {
		return false
	}
	for i := range f.fields {
		aead, nonce := f.fieldAEAD(root, i)
		if _, err := aead.Open(nil, nonce, f.sealed[i], f.paths[i]); err != nil {
			return false
		}
	}
	return true
}

// branchDerivedKey is the hierarchical keyring's wrapping key: HMAC-SHA256
// of the derivation input under the branch key.
func (f *floor) branchDerivedKey() []byte {
	copy(f.kdf[4+len(hierarchy.ProviderID)+1:], f.random[64:80])
	mac := hmac.New(sha256.New, f.branch)
	mac.Write(f.kdf[:])
	return mac.Sum(nil)
}

func (f *floor) intermediateKeys(ik []byte) (sig, enc []byte) {
	prk, _ := hkdf.Extract(sha512.New, ik, nil)
	sig, _ = hkdf.Expand(sha512.New, prk, keywrapMACInfo, 32)
	enc, _ = hkdf.Expand(sha512.New, prk, keywrapEncInfo, 32)
	return sig, enc
}

// floorItemKeys derives the field root key and the commit key; their info
// strings are built in one allocation.
func floorItemKeys(dk, msg []byte) (cipher.Block, []byte) {
	info := deriveKeyInfo + string(msg) + commitKeyInfo + string(msg)
	n := len(deriveKeyInfo) + len(msg)
	prk, _ := hkdf.Extract(sha512.New, dk, nil)
	root, _ := hkdf.Expand(sha512.New, prk, info[:n], 32)
	ck, _ := hkdf.Expand(sha512.New, prk, info[n:], 32)
	block, _ := aes.NewCipher(root)
	return block, ck
}

func (f *floor) fieldAEAD(root cipher.Block, i int) (cipher.AEAD, []byte) {
	copy(f.iv[:], "AwsDbeField\x2c")
	binary.BigEndian.PutUint32(f.iv[12:], uint32(3*i))
	clear(f.fk[:])
	cipher.NewCTR(root, f.iv[:]).XORKeyStream(f.fk[:], f.fk[:])
	return floorGCM(f.fk[:32]), f.fk[32:44]
}

func (f *floor) canonicalHash() []byte {
	h := sha512.New384()
	h.Write(f.canonical)
	return h.Sum(f.hash[:0])
}

func floorMAC(h func() hash.Hash, key, msg []byte) []byte {
	mac := hmac.New(h, key)
	mac.Write(msg)
	return mac.Sum(nil)
}

func floorGCM(key []byte) cipher.AEAD {
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	return aead
}

const (
	keywrapMACInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC"
	keywrapEncInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC"
)

var zeroNonce [12]byte

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
