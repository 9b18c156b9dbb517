package rawaes

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// Wrapping algorithm constants: AES-GCM with a 12-byte IV and 16-byte tag,
// the only IV and tag lengths the MPL defines for this keyring.
const (
	ivLen  = 12
	tagLen = 16
	// infoSuffixLen is what follows the key name in the provider info.
	infoSuffixLen = 4 + 4 + ivLen
)

// providerInfo serializes key name | tag bits | IV length | IV.
func (k *Keyring) providerInfo(iv []byte) []byte {
	b := make([]byte, 0, len(k.name)+infoSuffixLen)
	b = append(b, k.name...)
	b = binary.BigEndian.AppendUint32(b, tagLen*8)
	b = binary.BigEndian.AppendUint32(b, ivLen)
	return append(b, iv...)
}

// matchEDK reports whether e was written by a keyring with this namespace
// and name and the same wrapping algorithm, and returns its IV.
func (k *Keyring) matchEDK(e materials.EDK) (iv []byte, ok bool) {
	info := e.ProviderInfo
	if e.ProviderID != k.namespace || len(info) != len(k.name)+infoSuffixLen {
		return nil, false
	}
	if !bytes.Equal(info[:len(k.name)], []byte(k.name)) {
		return nil, false
	}
	rest := info[len(k.name):]
	if binary.BigEndian.Uint32(rest) != tagLen*8 || binary.BigEndian.Uint32(rest[4:]) != ivLen {
		return nil, false
	}
	return rest[8:], true
}

// contextAAD is the MPL's canonical encryption context serialization used
// as AAD: empty for an empty context, otherwise the count-prefixed sorted
// entries.
func contextAAD(ec materials.Context) ([]byte, error) {
	aad, err := ec.AAD()
	if err != nil {
		return nil, fmt.Errorf("rawaes: %w", err)
	}
	return aad, nil
}

// seal encrypts the intermediate key under the wrapping key with a random
// IV and returns the IV and ciphertext||tag separately.
func (k *Keyring) seal(plaintext secret.Bytes, aad []byte) (iv, ct []byte, err error) {
	aead, err := k.aead()
	if err != nil {
		return nil, nil, err
	}
	out := aead.Seal(nil, nil, plaintext.InsecureBytes(), aad)
	return out[:ivLen], out[ivLen:], nil
}

// open reverses seal. Any failure is the one opaque authentication error.
func (k *Keyring) open(iv, ct, aad []byte) (secret.Bytes, error) {
	aead, err := k.aead()
	if err != nil {
		return secret.Bytes{}, err
	}
	in := make([]byte, 0, len(iv)+len(ct))
	in = append(append(in, iv...), ct...)
	pt, err := aead.Open(nil, nil, in, aad)
	if err != nil {
		return secret.Bytes{}, errors.New("rawaes: EDK authentication failed")
	}
	return secret.New(pt), nil
}

// aead returns AES-GCM with random 12-byte nonces carried in front of the
// ciphertext (the FIPS 140-3 approved construction).
func (k *Keyring) aead() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.key.InsecureBytes())
	if err != nil {
		return nil, errors.New("rawaes: invalid wrapping key")
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("rawaes: %w", err)
	}
	return aead, nil
}
