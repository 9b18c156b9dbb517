package materials

import (
	"crypto/aes"
	"crypto/cipher"
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

// zeroNonce is the data key wrap's all-zero GCM nonce (each intermediate
// key wraps one data key). Read only.
var zeroNonce [12]byte

// WrappedDataKeyLen is the length of the data key encrypted under the
// intermediate key: the prefix of every EDK ciphertext under a DBE suite.
func (s Suite) WrappedDataKeyLen() int { return s.KeyLen + gcmTagLen }

// IntermediateWrap encrypts dataKey under a key derived from intermediate
// (AES-256-GCM, zero IV, aad = the context's AAD()) and derives the
// symmetric signing key for this EDK's recipient tag. The keyring then wraps
// intermediate itself and appends it after the returned bytes.
func IntermediateWrap(s Suite, dataKey, intermediate secret.Bytes, aad []byte) ([]byte, secret.Bytes, error) {
	aead, sig, err := intermediateKeys(s, intermediate)
	if err != nil {
		return nil, secret.Bytes{}, err
	}
	if dataKey.Len() != s.KeyLen {
		sig.Zero()
		return nil, secret.Bytes{}, fmt.Errorf("materials: data key is %d bytes, want %d", dataKey.Len(), s.KeyLen)
	}
	return aead.Seal(nil, zeroNonce[:], dataKey.InsecureBytes(), aad), sig, nil
}

// IntermediateUnwrap reverses IntermediateWrap: wrapped is the first
// WrappedDataKeyLen bytes of the EDK ciphertext.
func IntermediateUnwrap(s Suite, wrapped []byte, intermediate secret.Bytes, aad []byte) (dataKey, signingKey secret.Bytes, err error) {
	if len(wrapped) != s.WrappedDataKeyLen() {
		return secret.Bytes{}, secret.Bytes{}, errors.New("materials: wrapped data key has the wrong length")
	}
	aead, sig, err := intermediateKeys(s, intermediate)
	if err != nil {
		return secret.Bytes{}, secret.Bytes{}, err
	}
	dk, err := aead.Open(nil, zeroNonce[:], wrapped, aad)
	if err != nil {
		sig.Zero()
		return secret.Bytes{}, secret.Bytes{}, errors.New("materials: data key authentication failed")
	}
	return secret.New(dk), sig, nil
}

// intermediateKeys derives the data key encryption key and the signing key
// from the intermediate key: HKDF (suite hash, no salt) with the MPL info
// strings. Both share one HKDF-Extract, since key and salt are the same.
func intermediateKeys(s Suite, intermediate secret.Bytes) (cipher.AEAD, secret.Bytes, error) {
	if intermediate.Len() != s.KeyLen {
		return nil, secret.Bytes{}, fmt.Errorf("materials: intermediate key is %d bytes, want %d", intermediate.Len(), s.KeyLen)
	}
	enc, sig, err := s.DeriveKeys(intermediate.InsecureBytes(), keywrapEncInfoBytes, keywrapMACInfoBytes)
	if err != nil {
		return nil, secret.Bytes{}, err
	}
	defer clear(enc)
	aead, err := NewGCM(enc)
	if err != nil {
		clear(sig)
		return nil, secret.Bytes{}, err
	}
	return aead, secret.New(sig), nil
}

// The info strings as DeriveKeys takes them; never written.
var (
	keywrapEncInfoBytes = []byte(keywrapEncInfo)
	keywrapMACInfoBytes = []byte(keywrapMACInfo)
)

// NewGCM returns AES-GCM with a 12-byte nonce and 16-byte tag.
func NewGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	return cipher.NewGCM(block)
}
