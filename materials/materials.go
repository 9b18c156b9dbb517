// Package materials holds the cryptographic materials that pass between the
// item encryptor and keyrings, following the AWS Cryptographic Material
// Providers Library (MPL) specification: algorithm suites, encryption
// context, encrypted data keys (EDKs), the Keyring contract, and the
// intermediate key wrapping that the DB-ESDK suites use.
package materials

import (
	"context"
	"errors"

	"github.com/sealstore/sealstore/secret"
)

// Errors keyrings share.
var (
	// ErrNoDecryptableKey is returned by a keyring's OnDecrypt when none of
	// the EDKs could be decrypted with the keys it holds.
	ErrNoDecryptableKey = errors.New("materials: no encrypted data key could be decrypted")
	// ErrUnavailable is wrapped by errors that say a key store or KMS could
	// not be reached (not that a key is wrong or missing): the caller may
	// retry later, and a service answers 503, not a decryption failure.
	ErrUnavailable = errors.New("materials: key source unavailable")
	// ErrDataKeyPresent is returned by OnDecrypt when the decryption
	// materials already hold a data key.
	ErrDataKeyPresent = errors.New("materials: decryption materials already hold a data key")
	// ErrNoSuite is returned when materials carry no algorithm suite.
	ErrNoSuite = errors.New("materials: materials carry no algorithm suite")
)

// EDK is an encrypted data key as stored in the item header.
type EDK struct {
	ProviderID   string
	ProviderInfo []byte
	Ciphertext   []byte
}

// Encryption is the state a keyring completes when encrypting one item.
type Encryption struct {
	Suite Suite
	// Context is the full encryption context, including the keys the item
	// binds without storing them (the decryptor rebuilds those).
	Context Context
	// DataKey is the plaintext data key; the first keyring generates it.
	DataKey secret.Bytes
	// EDKs and SigningKeys are parallel: one symmetric signing key (from
	// intermediate key wrapping) per EDK.
	EDKs        []EDK
	SigningKeys []secret.Bytes
}

// Decryption is the state a keyring completes when decrypting one item.
type Decryption struct {
	Suite   Suite
	Context Context
	// DataKey and SigningKey are set by the keyring that decrypted an EDK;
	// EDKIndex is that EDK's position in the header (its recipient tag).
	DataKey    secret.Bytes
	SigningKey secret.Bytes
	EDKIndex   int
}

// Keyring wraps and unwraps data keys. Implementations must be safe for
// concurrent use.
type Keyring interface {
	// OnEncrypt generates m.DataKey if it is zero, and appends one EDK and
	// one signing key per wrapping key it holds.
	OnEncrypt(ctx context.Context, m *Encryption) error
	// OnDecrypt sets m.DataKey, m.SigningKey and m.EDKIndex from the first
	// EDK it can decrypt, or returns an error wrapping ErrNoDecryptableKey.
	OnDecrypt(ctx context.Context, m *Decryption, edks []EDK) error
}

// AddRecipient is the common step of every keyring's OnEncrypt: it
// generates the data key if m has none, calls wrap with it, and on success
// appends the EDK and its signing key. On failure m is left as it was (a
// key generated here is zeroed), so a failed keyring never leaves a data
// key behind without an EDK that can recover it.
func (m *Encryption) AddRecipient(wrap func(dataKey secret.Bytes) (EDK, secret.Bytes, error)) error {
	dataKey, generated := m.DataKey, false
	if dataKey.IsZero() {
		dataKey, generated = secret.Random(m.Suite.KeyLen), true
	}
	edk, sig, err := wrap(dataKey)
	if err != nil {
		if generated {
			dataKey.Zero()
		}
		return err
	}
	m.DataKey = dataKey
	m.EDKs = append(m.EDKs, edk)
	m.SigningKeys = append(m.SigningKeys, sig)
	return nil
}

// Zero overwrites the data key and the signing keys: call it when the
// item is done.
func (m *Encryption) Zero() {
	m.DataKey.Zero()
	for _, k := range m.SigningKeys {
		k.Zero()
	}
}

// Zero overwrites the data key and the signing key.
func (m *Decryption) Zero() {
	m.DataKey.Zero()
	m.SigningKey.Zero()
}
