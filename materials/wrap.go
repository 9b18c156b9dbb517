package materials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/secret"
)

// Info strings of the MPL intermediate key wrapping (algorithm-suites.md).
const (
	keywrapMACInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_MAC"
	keywrapEncInfo = "AWS_MPL_INTERMEDIATE_KEYWRAP_ENC"
	gcmTagLen      = 16
)

// WrappedDataKeyLen is the length of the data key encrypted under the
// intermediate key: the prefix of every EDK ciphertext under a DBE suite.
func (s Suite) WrappedDataKeyLen() int { return s.KeyLen + gcmTagLen }

// IntermediateWrap encrypts dataKey under a key derived from intermediate
// (AES-256-GCM, zero IV, aad = the context's AAD()) and derives the
// symmetric signing key for this EDK's recipient tag. The keyring then wraps
// intermediate itself and appends it after the returned bytes.
func IntermediateWrap(s Suite, dataKey, intermediate, aad []byte) ([]byte, secret.Bytes, error) {
	aead, sig, err := intermediateKeys(s, intermediate)
	if err != nil {
		return nil, nil, err
	}
	if len(dataKey) != s.KeyLen {
		return nil, nil, fmt.Errorf("materials: data key is %d bytes, want %d", len(dataKey), s.KeyLen)
	}
	nonce := make([]byte, aead.NonceSize())
	return aead.Seal(nil, nonce, dataKey, aad), sig, nil
}

// IntermediateUnwrap reverses IntermediateWrap: wrapped is the first
// WrappedDataKeyLen bytes of the EDK ciphertext.
func IntermediateUnwrap(s Suite, wrapped, intermediate, aad []byte) (secret.Bytes, secret.Bytes, error) {
	if len(wrapped) != s.WrappedDataKeyLen() {
		return nil, nil, errors.New("materials: wrapped data key has the wrong length")
	}
	aead, sig, err := intermediateKeys(s, intermediate)
	if err != nil {
		return nil, nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	dk, err := aead.Open(nil, nonce, wrapped, aad)
	if err != nil {
		return nil, nil, errors.New("materials: data key authentication failed")
	}
	return dk, sig, nil
}

// intermediateKeys derives the data key encryption key and the signing key
// from the intermediate key: HKDF (suite hash, no salt) with the MPL info
// strings. Both share one HKDF-Extract, since key and salt are the same.
func intermediateKeys(s Suite, intermediate []byte) (cipher.AEAD, secret.Bytes, error) {
	if len(intermediate) != s.KeyLen {
		return nil, nil, fmt.Errorf("materials: intermediate key is %d bytes, want %d", len(intermediate), s.KeyLen)
	}
	prk, err := hkdf.Extract(s.KDFHash, intermediate, nil)
	if err != nil {
		return nil, nil, err
	}
	defer clear(prk)
	sig, err := hkdf.Expand(s.KDFHash, prk, keywrapMACInfo, s.KeyLen)
	if err != nil {
		return nil, nil, err
	}
	enc, err := hkdf.Expand(s.KDFHash, prk, keywrapEncInfo, s.KeyLen)
	if err != nil {
		return nil, nil, err
	}
	defer clear(enc)
	aead, err := NewGCM(enc)
	return aead, sig, err
}

// NewGCM returns AES-GCM with a 12-byte nonce and 16-byte tag.
func NewGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	return cipher.NewGCM(block)
}
