// Package hierarchy implements the MPL AWS KMS hierarchical keyring: each
// item's data key is wrapped locally under a key derived from a branch key,
// so the root key (KMS or a local file) is touched only when a branch key is
// not in the cache.
//
// Wire format of the keyring's part of an EDK ciphertext (after the wrapped
// data key of intermediate key wrapping): salt (16) | IV (12) | branch key
// version UUID (16) | encrypted intermediate key (32) | GCM tag (16).
package hierarchy

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// ProviderID is the EDK key provider id of the hierarchical keyring.
const ProviderID = "aws-kms-hierarchy"

const (
	saltLen    = 16
	ivLen      = 12
	versionLen = 16
	keyLen     = 32
	tagLen     = 16
	// ciphertextLen is the keyring's part of an EDK ciphertext.
	ciphertextLen = saltLen + ivLen + versionLen + keyLen + tagLen
)

// Keyring is a hierarchical keyring for one branch key id.
type Keyring struct {
	cachePrefix string
	branchKeyID string
	source      Source
	cache       *Cache
	refuse      func(version string) bool

	// activeID and loadActive are the active key's cache id and loader,
	// made once so that encrypting with a cached key allocates neither.
	activeID   string
	loadActive func(context.Context) (BranchKey, error)
}

// New returns a keyring wrapping data keys under branchKeyID's active
// version from source, through cache (which may be shared by keyrings).
func New(branchKeyID string, source Source, cache *Cache) (*Keyring, error) {
	if branchKeyID == "" || source == nil || cache == nil {
		return nil, errors.New("hierarchy: branch key id, source and cache are required")
	}
	name := source.Name()
	prefix := "/" + strconv.Itoa(len(name)) + ":" + name + strconv.Itoa(len(branchKeyID)) + ":" + branchKeyID + "/"
	k := &Keyring{cachePrefix: prefix, branchKeyID: branchKeyID, source: source, cache: cache}
	k.activeID = k.cacheID("active", "")
	k.loadActive = func(ctx context.Context) (BranchKey, error) {
		gen := k.cache.generation()
		bk, err := k.source.ActiveKey(ctx, k.branchKeyID)
		if err == nil { // the active key is also a version: one load serves both
			k.cache.add(k.cacheID("version", bk.Version), bk, gen)
		}
		return bk, err
	}
	return k, nil
}

// sourceError marks a source's failure as materials.ErrUnavailable unless
// the source said the key does not exist or is invalid: a key store that
// cannot be reached is an outage to retry, not a wrong or forged item.
func sourceError(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidKey) || errors.Is(err, materials.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", materials.ErrUnavailable, err)
}

// cacheID names a cache entry: kind, then the source's name and the branch
// key id (length-prefixed, so no two pairs collide), then the version.
func (k *Keyring) cacheID(kind, version string) string {
	return kind + k.cachePrefix + version
}

// Format prints the keyring by its branch key id for every verb (%v, %+v,
// %#v, %s...), never the keys its source or cache hold.
func (k *Keyring) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "hierarchy.Keyring(%s)", k.branchKeyID)
}

// OnEncrypt implements materials.Keyring.
func (k *Keyring) OnEncrypt(ctx context.Context, m *materials.Encryption) error {
	if err := m.Suite.Check(); err != nil {
		return err
	}
	bk, err := k.cache.Get(ctx, k.activeID, k.loadActive)
	if err != nil {
		return fmt.Errorf("hierarchy: active branch key: %w", sourceError(err))
	}
	aad, err := m.Context.AAD()
	if err != nil {
		return err
	}
	return m.AddRecipient(func(dataKey secret.Bytes) (materials.EDK, secret.Bytes, error) {
		return k.wrapDataKey(m.Suite, bk, dataKey, aad)
	})
}

// wrapDataKey builds one EDK: the data key wrapped under a fresh
// intermediate key, which is wrapped under the branch key.
func (k *Keyring) wrapDataKey(s materials.Suite, bk BranchKey, dataKey secret.Bytes, aad []byte) (materials.EDK, secret.Bytes, error) {
	// One draw of randomness for the intermediate key, salt and IV.
	random := make([]byte, s.KeyLen+saltLen+ivLen)
	rand.Read(random)
	intermediate := secret.New(random[:s.KeyLen:s.KeyLen])
	defer intermediate.Zero()
	wrappedDK, sig, err := materials.IntermediateWrap(s, dataKey, intermediate, aad)
	if err != nil {
		return materials.EDK{}, secret.Bytes{}, err
	}
	edk := append(make([]byte, 0, len(wrappedDK)+ciphertextLen), wrappedDK...)
	edk, err = wrap(edk, k.branchKeyID, bk, intermediate, random[s.KeyLen:], aad)
	if err != nil {
		sig.Zero()
		return materials.EDK{}, secret.Bytes{}, err
	}
	return materials.EDK{ProviderID: ProviderID, ProviderInfo: []byte(k.branchKeyID), Ciphertext: edk}, sig, nil
}

// OnDecrypt implements materials.Keyring.
func (k *Keyring) OnDecrypt(ctx context.Context, m *materials.Decryption, edks []materials.EDK) error {
	if !m.DataKey.IsZero() {
		return materials.ErrDataKeyPresent
	}
	if err := m.Suite.Check(); err != nil {
		return err
	}
	var errs []error
	for i, e := range edks {
		if e.ProviderID != ProviderID || string(e.ProviderInfo) != k.branchKeyID {
			continue
		}
		err := k.decryptOne(ctx, m, e)
		if err == nil {
			m.EDKIndex = i
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return materials.ErrNoDecryptableKey
	}
	return fmt.Errorf("%w: %w", materials.ErrNoDecryptableKey, errors.Join(errs...))
}

func (k *Keyring) decryptOne(ctx context.Context, m *materials.Decryption, e materials.EDK) error {
	prefix := m.Suite.WrappedDataKeyLen()
	if len(e.Ciphertext) != prefix+ciphertextLen {
		return errors.New("hierarchy: EDK ciphertext has the wrong length")
	}
	ct := e.Ciphertext[prefix:]
	ver := ct[saltLen+ivLen : saltLen+ivLen+versionLen]
	if k.refuse != nil && k.refuse(VersionString(ver)) {
		return ErrRefused
	}
	bk, err := k.versionKey(ctx, ver)
	if err != nil {
		return fmt.Errorf("hierarchy: branch key version: %w", sourceError(err))
	}
	aad, err := m.Context.AAD()
	if err != nil {
		return err
	}
	intermediate, err := unwrap(k.branchKeyID, bk, ct, aad)
	if err != nil {
		return err
	}
	defer intermediate.Zero()
	dk, sig, err := materials.IntermediateUnwrap(m.Suite, e.Ciphertext[:prefix], intermediate, aad)
	if err != nil {
		return err
	}
	m.DataKey, m.SigningKey = dk, sig
	return nil
}

// versionKey returns the branch key version ver (its 16 bytes), from the
// cache or else the source. A cache hit allocates nothing: the cache id is
// built on the stack.
func (k *Keyring) versionKey(ctx context.Context, ver []byte) (BranchKey, error) {
	var buf [128]byte
	id := appendVersion(append(append(buf[:0], "version"...), k.cachePrefix...), ver)
	if bk, ok := k.cache.lookup(id); ok {
		return bk, nil
	}
	version := VersionString(ver)
	return k.cache.Get(ctx, string(id), func(ctx context.Context) (BranchKey, error) {
		return k.source.KeyVersion(ctx, k.branchKeyID, version)
	})
}

// wrap encrypts the intermediate key under a key derived from the branch key
// with a fresh salt, and appends salt, IV, version and ciphertext to dst.
// saltIV holds the random salt and IV.
func wrap(dst []byte, id string, bk BranchKey, intermediate secret.Bytes, saltIV, ecAAD []byte) ([]byte, error) {
	ver, err := VersionBytes(bk.Version)
	if err != nil {
		return nil, err
	}
	start := len(dst)
	dst = append(dst, saltIV[:saltLen+ivLen]...)
	salt, iv := dst[start:start+saltLen], dst[start+saltLen:]
	aead, aad, err := wrappingKey(id, bk, salt, ver[:], ecAAD)
	if err != nil {
		return nil, err
	}
	dst = append(dst, ver[:]...)
	return aead.Seal(dst, iv, intermediate.InsecureBytes(), aad), nil
}

func unwrap(id string, bk BranchKey, ct, ecAAD []byte) (secret.Bytes, error) {
	salt, iv := ct[:saltLen], ct[saltLen:saltLen+ivLen]
	ver := ct[saltLen+ivLen : saltLen+ivLen+versionLen]
	aead, aad, err := wrappingKey(id, bk, salt, ver, ecAAD)
	if err != nil {
		return secret.Bytes{}, err
	}
	pt, err := aead.Open(nil, iv, ct[saltLen+ivLen+versionLen:], aad)
	if err != nil {
		return secret.Bytes{}, errors.New("hierarchy: EDK authentication failed")
	}
	return secret.New(pt), nil
}

func wrappingKey(id string, bk BranchKey, salt, ver, ecAAD []byte) (cipher.AEAD, []byte, error) {
	if bk.Key.Len() != keyLen {
		return nil, nil, fmt.Errorf("hierarchy: branch key is %d bytes, want %d", bk.Key.Len(), keyLen)
	}
	derived := deriveKey(bk.Key, salt)
	defer clear(derived)
	aead, err := materials.NewGCM(derived)
	if err != nil {
		return nil, nil, err
	}
	aad := bytes.Join([][]byte{[]byte(ProviderID), []byte(id), ver, ecAAD}, nil)
	return aead, aad, nil
}

// deriveKey is the NIST SP 800-108 counter-mode KDF with HMAC-SHA256 that
// the MPL specifies: one block, counter 1, label "aws-kms-hierarchy", a zero
// byte, the salt as context, and the output length in bits.
func deriveKey(branchKey secret.Bytes, salt []byte) []byte {
	mac := hmac.New(sha256.New, branchKey.InsecureBytes())
	mac.Write(kdfPrefix)
	mac.Write(salt)
	mac.Write(kdfSuffix)
	return mac.Sum(nil)
}

// The constant parts of deriveKey's input, built once: bytes written to a
// hash.Hash escape, so building them per call would allocate. Read only.
var (
	kdfPrefix = append(binary.BigEndian.AppendUint32(nil, 1), ProviderID+"\x00"...) // counter 1, label, separator
	kdfSuffix = binary.BigEndian.AppendUint32(nil, keyLen*8)                        // output length in bits
)
