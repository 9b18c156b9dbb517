package item

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/binary"
	"errors"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

const (
	deriveKeyInfo = "AWS_DBE_DERIVE_KEY"
	commitKeyInfo = "AWS_DBE_COMMIT_KEY"
	fieldKeyLen   = 44 // 32-byte cipher key + 12-byte nonce
	gcmTagLen     = 16
)

// itemKeys are the keys one item is sealed with, both derived from the
// data key: the field root key and the commit key. They carry the scratch
// the field key derivation and the canonical hash write, so one itemKeys
// serves one Encrypt or Decrypt call and one goroutine.
type itemKeys struct {
	root   cipher.Block
	commit []byte

	iv     [aes.BlockSize]byte
	stream [48]byte             // field key derivation keystream: key, nonce, 4 unused bytes
	hash   [sha512.Size384]byte // the canonical hash
}

// derive derives the item's keys from its data key: the field root key is
// HKDF(data key, no salt, "AWS_DBE_DERIVE_KEY" || message id), the commit
// key HKDF(data key, no salt, "AWS_DBE_COMMIT_KEY" || message id). The two
// share one HKDF-Extract and differ only in their expand
// (materials.Suite.DeriveKeys); both info strings are built on the stack.
func (k *itemKeys) derive(s materials.Suite, dataKey secret.Bytes, msgID []byte) error {
	var buf [len(deriveKeyInfo) + len(commitKeyInfo) + 2*msgIDLen]byte
	info := append(append(append(append(buf[:0], deriveKeyInfo...), msgID...), commitKeyInfo...), msgID...)
	n := len(deriveKeyInfo) + len(msgID)
	root, commit, err := s.DeriveKeys(dataKey.InsecureBytes(), info[:n:n], info[n:])
	if err != nil {
		return err
	}
	k.root, err = aes.NewCipher(root)
	clear(root)
	if err != nil {
		clear(commit)
		return err
	}
	k.commit = commit
	return nil
}

// zero overwrites the commit key and the scratch. (The root key's AES key
// schedule is not reachable through crypto/cipher.)
func (k *itemKeys) zero() {
	clear(k.commit)
	clear(k.stream[:])
}

// fieldAEAD derives the AES-GCM key and nonce of the field with this
// ordinal: the first 44 bytes of the AES-256-CTR keystream of the root key,
// starting at the counter block "AwsDbeField" || 0x2c || u32(3*ordinal).
// The nonce is k's scratch, valid until the next call.
func (k *itemKeys) fieldAEAD(ordinal int) (cipher.AEAD, []byte, error) {
	copy(k.iv[:], "AwsDbeField")
	k.iv[11] = fieldKeyLen
	binary.BigEndian.PutUint32(k.iv[12:], uint32(3*ordinal))
	clear(k.stream[:])
	cipher.NewCTR(k.root, k.iv[:]).XORKeyStream(k.stream[:], k.stream[:])
	aead, err := materials.NewGCM(k.stream[:32])
	clear(k.stream[:32])
	return aead, k.stream[32:fieldKeyLen], err
}

// seal encrypts the value bytes of the field with this ordinal and appends
// the AES-GCM ciphertext and tag to dst (which the caller has begun with the
// original type id), with the canonical path as AAD. plain may be the bytes
// just past dst's length, to encrypt in place.
func (k *itemKeys) seal(dst []byte, ordinal int, path []byte, plain []byte) ([]byte, error) {
	aead, nonce, err := k.fieldAEAD(ordinal)
	if err != nil {
		return nil, err
	}
	return aead.Seal(dst, nonce, plain, path), nil
}

// open reverses seal, returning the original type id and the value bytes
// appended to dst.
func (k *itemKeys) open(dst []byte, ordinal int, path []byte, data []byte) (uint16, []byte, error) {
	if len(data) < 2+gcmTagLen {
		return 0, nil, errors.New("encrypted field too short")
	}
	aead, nonce, err := k.fieldAEAD(ordinal)
	if err != nil {
		return 0, nil, err
	}
	plain, err := aead.Open(dst, nonce, data[2:], path)
	return binary.BigEndian.Uint16(data), plain, err
}

// commitment is the header commitment: HMAC over the partial header keyed
// by the commit key, truncated to 32 bytes. The DB-ESDK implementations use
// the suite's commit KDF hash (SHA-512) for this HMAC; header.md says
// SHA-384, and the cross-language vectors only verify with SHA-512.
func (k *itemKeys) commitment(partial []byte) [commitmentLen]byte {
	mac := hmac.New(sha512.New, k.commit)
	mac.Write(partial)
	var out [commitmentLen]byte
	copy(out[:], mac.Sum(nil))
	return out
}

// appendRecipientTag appends HMAC-SHA384 of the canonical hash under one
// EDK's symmetric signing key to dst.
func appendRecipientTag(dst []byte, signingKey secret.Bytes, hash []byte) []byte {
	mac := hmac.New(sha512.New384, signingKey.InsecureBytes())
	mac.Write(hash)
	return mac.Sum(dst)
}
