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
// (AES-256-GCM, zero IV, the serialized context as AAD) and derives the
// symmetric signing key for this EDK's recipient tag. The keyring then wraps
// intermediate itself and appends it after the returned bytes.
func IntermediateWrap(s Suite, dataKey, intermediate []byte, ec Context) ([]byte, secret.Bytes, error) {
	aead, sig, aad, err := intermediateKeys(s, intermediate, ec)
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
func IntermediateUnwrap(s Suite, wrapped, intermediate []byte, ec Context) (secret.Bytes, secret.Bytes, error) {
	if len(wrapped) != s.WrappedDataKeyLen() {
		return nil, nil, errors.New("materials: wrapped data key has the wrong length")
	}
	aead, sig, aad, err := intermediateKeys(s, intermediate, ec)
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

func intermediateKeys(s Suite, intermediate []byte, ec Context) (cipher.AEAD, secret.Bytes, []byte, error) {
	if len(intermediate) != s.KeyLen {
		return nil, nil, nil, fmt.Errorf("materials: intermediate key is %d bytes, want %d", len(intermediate), s.KeyLen)
	}
	sig, err := hkdf.Key(s.KDFHash, intermediate, nil, keywrapMACInfo, s.KeyLen)
	if err != nil {
		return nil, nil, nil, err
	}
	enc, err := hkdf.Key(s.KDFHash, intermediate, nil, keywrapEncInfo, s.KeyLen)
	if err != nil {
		return nil, nil, nil, err
	}
	aead, err := NewGCM(enc)
	if err != nil {
		return nil, nil, nil, err
	}
	aad, err := ec.AAD()
	return aead, sig, aad, err
}

// NewGCM returns AES-GCM with a 12-byte nonce and 16-byte tag.
func NewGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	return cipher.NewGCM(block)
}
