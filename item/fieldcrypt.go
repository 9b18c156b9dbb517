package item

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
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
)

// fieldKeys derives per-field AES-GCM keys and nonces from the field root
// key: the first 44 bytes of the AES-256-CTR keystream of the root key,
// starting at the counter block "AwsDbeField" || 0x2c || u32(3*ordinal).
type fieldKeys struct {
	root cipher.Block
}

// dataKeyPRK is the HKDF-Extract of the data key (no salt). The field root
// key and the commit key are both HKDF(data key, no salt, info): they share
// this one extract and differ only in their expand.
func dataKeyPRK(s materials.Suite, dataKey secret.Bytes) ([]byte, error) {
	return hkdf.Extract(s.KDFHash, dataKey.InsecureBytes(), nil)
}

func newFieldKeys(s materials.Suite, prk []byte, msgID []byte) (fieldKeys, error) {
	root, err := hkdf.Expand(s.KDFHash, prk, deriveKeyInfo+string(msgID), s.KeyLen)
	if err != nil {
		return fieldKeys{}, err
	}
	block, err := aes.NewCipher(root)
	clear(root)
	return fieldKeys{root: block}, err
}

func (k fieldKeys) aead(ordinal int) (cipher.AEAD, []byte, error) {
	var iv [16]byte
	copy(iv[:], "AwsDbeField")
	iv[11] = fieldKeyLen
	binary.BigEndian.PutUint32(iv[12:], uint32(3*ordinal))
	var fk [48]byte
	cipher.NewCTR(k.root, iv[:]).XORKeyStream(fk[:], fk[:])
	aead, err := materials.NewGCM(fk[:32])
	nonce := append([]byte{}, fk[32:fieldKeyLen]...)
	clear(fk[:])
	return aead, nonce, err
}

// seal encrypts one terminal value: the result is the original type id
// followed by the AES-GCM ciphertext and tag, with the canonical path as AAD.
func (k fieldKeys) seal(ordinal int, path []byte, typeID uint16, plain []byte) ([]byte, error) {
	aead, nonce, err := k.aead(ordinal)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(plain)+aead.Overhead()), typeID)
	return aead.Seal(out, nonce, plain, path), nil
}

// open reverses seal, returning the original type id and value bytes.
func (k fieldKeys) open(ordinal int, path []byte, data []byte) (uint16, []byte, error) {
	if len(data) < 2+16 {
		return 0, nil, errors.New("encrypted field too short")
	}
	aead, nonce, err := k.aead(ordinal)
	if err != nil {
		return 0, nil, err
	}
	plain, err := aead.Open(nil, nonce, data[2:], path)
	return binary.BigEndian.Uint16(data), plain, err
}

// commitment is the header commitment: HMAC over the partial header keyed
// by the commit key, truncated to 32 bytes. The DB-ESDK implementations use
// the suite's commit KDF hash (SHA-512) for this HMAC; header.md says
// SHA-384, and the cross-language vectors only verify with SHA-512.
func commitment(s materials.Suite, prk, msgID, partial []byte) ([commitmentLen]byte, error) {
	var out [commitmentLen]byte
	ck, err := hkdf.Expand(s.KDFHash, prk, commitKeyInfo+string(msgID), s.KeyLen)
	if err != nil {
		return out, err
	}
	mac := hmac.New(sha512.New, ck)
	mac.Write(partial)
	copy(out[:], mac.Sum(nil))
	clear(ck)
	return out, nil
}

// recipientTag is HMAC-SHA384 of the canonical hash under one EDK's
// symmetric signing key.
func recipientTag(signingKey secret.Bytes, hash []byte) []byte {
	mac := hmac.New(sha512.New384, signingKey.InsecureBytes())
	mac.Write(hash)
	return mac.Sum(nil)
}
