// Package rawaes implements the MPL raw AES keyring: data keys are wrapped
// locally with AES-GCM under a caller-supplied 128, 192 or 256-bit key.
//
// Under the DB-ESDK algorithm suites every EDK uses intermediate key
// wrapping (algorithm-suites.md): the keyring draws a fresh random
// intermediate key, materials.IntermediateWrap encrypts the data key under a
// key derived from it, and the keyring encrypts the intermediate key under
// its wrapping key with a random 12-byte IV and the serialized encryption
// context as AAD. The EDK is byte-compatible with the MPL:
//
//	provider id   = key namespace
//	provider info = key name | tag length in bits (u32 BE, 128) | IV length (u32 BE, 12) | IV
//	ciphertext    = wrapped data key (suite key length + 16) | encrypted intermediate key | GCM tag
//
// The AAD is the MPL's canonical context serialization, which is empty for an
// empty context.
//
// The keyring promises: OnEncrypt leaves the materials untouched when it
// fails; OnDecrypt only tries EDKs whose namespace, name, tag length and IV
// length match, sets the materials only on success and otherwise returns an
// error wrapping materials.ErrNoDecryptableKey; no error or formatted value
// contains key bytes. Random IVs bound one wrapping key to 2^32 EDKs.
package rawaes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// reservedPrefix marks provider ids that belong to the AWS KMS keyrings
// ("aws-kms", "aws-kms-hierarchy", "aws-kms-rsa", ...).
const reservedPrefix = "aws-kms"

var _ materials.Keyring = (*Keyring)(nil)

// Keyring is a raw AES keyring for one wrapping key. It is safe for
// concurrent use.
type Keyring struct {
	namespace string
	name      string
	key       secret.Bytes
}

// New returns a keyring that wraps data keys under wrappingKey (16, 24 or 32
// bytes, copied) and labels its EDKs with namespace and name. The namespace
// must not start with "aws-kms", which the AWS KMS keyrings own.
func New(namespace, name string, wrappingKey []byte) (*Keyring, error) {
	if err := checkNamespace(namespace); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	switch len(wrappingKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("rawaes: wrapping key is %d bytes, want 16, 24 or 32", len(wrappingKey))
	}
	return &Keyring{namespace: namespace, name: name, key: secret.Copy(wrappingKey)}, nil
}

func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return errors.New("rawaes: key namespace is empty")
	case !utf8.ValidString(ns):
		return errors.New("rawaes: key namespace is not valid UTF-8")
	case len(ns) > 0xFFFF:
		return errors.New("rawaes: key namespace is longer than 65535 bytes")
	case strings.HasPrefix(ns, reservedPrefix):
		return fmt.Errorf("rawaes: key namespace %q is reserved for the AWS KMS keyrings", ns)
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("rawaes: key name is empty")
	case !utf8.ValidString(name):
		return errors.New("rawaes: key name is not valid UTF-8")
	case len(name)+infoSuffixLen > 0xFFFF:
		return errors.New("rawaes: key name is too long for an EDK provider info")
	}
	return nil
}

// String names the keyring without revealing its key.
func (k *Keyring) String() string { return "rawaes(" + k.namespace + "/" + k.name + ")" }

// Format prints the keyring by name for every verb (%#v included), never
// its wrapping key.
func (k *Keyring) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// OnEncrypt implements materials.Keyring: it generates m.DataKey if it is
// zero and appends one EDK and its signing key.
func (k *Keyring) OnEncrypt(_ context.Context, m *materials.Encryption) error {
	if err := m.Suite.Check(); err != nil {
		return err
	}
	aad, err := contextAAD(m.Context)
	if err != nil {
		return err
	}
	return m.AddRecipient(func(dataKey secret.Bytes) (materials.EDK, secret.Bytes, error) {
		return k.wrap(m.Suite, dataKey, aad)
	})
}

// wrap builds one EDK for dataKey through a fresh intermediate key.
func (k *Keyring) wrap(s materials.Suite, dataKey secret.Bytes, aad []byte) (materials.EDK, secret.Bytes, error) {
	intermediate := secret.Random(s.KeyLen)
	defer intermediate.Zero()
	wrappedDK, sig, err := materials.IntermediateWrap(s, dataKey, intermediate, aad)
	if err != nil {
		return materials.EDK{}, secret.Bytes{}, fmt.Errorf("rawaes: %w", err)
	}
	iv, wrappedIK, err := k.seal(intermediate, aad)
	if err != nil {
		sig.Zero()
		return materials.EDK{}, secret.Bytes{}, err
	}
	return materials.EDK{
		ProviderID:   k.namespace,
		ProviderInfo: k.providerInfo(iv),
		Ciphertext:   append(wrappedDK, wrappedIK...),
	}, sig, nil
}

// OnDecrypt implements materials.Keyring. It tries, in order, every EDK
// whose provider id and info match this keyring.
func (k *Keyring) OnDecrypt(_ context.Context, m *materials.Decryption, edks []materials.EDK) error {
	if !m.DataKey.IsZero() {
		return materials.ErrDataKeyPresent
	}
	if err := m.Suite.Check(); err != nil {
		return err
	}
	aad, err := contextAAD(m.Context)
	if err != nil {
		return err
	}
	var errs []error
	for i, e := range edks {
		iv, ok := k.matchEDK(e)
		if !ok {
			continue
		}
		dk, sig, err := k.unwrap(m.Suite, e.Ciphertext, iv, aad)
		if err == nil {
			m.DataKey, m.SigningKey, m.EDKIndex = dk, sig, i
			return nil
		}
		errs = append(errs, fmt.Errorf("EDK %d: %w", i, err))
	}
	if len(errs) == 0 {
		return fmt.Errorf("rawaes: %w: no EDK for %s/%s", materials.ErrNoDecryptableKey, k.namespace, k.name)
	}
	return fmt.Errorf("rawaes: %w: %w", materials.ErrNoDecryptableKey, errors.Join(errs...))
}

// unwrap decrypts one EDK ciphertext: the intermediate key under the
// wrapping key, then the data key under the intermediate key.
func (k *Keyring) unwrap(s materials.Suite, ct, iv, aad []byte) (secret.Bytes, secret.Bytes, error) {
	prefix := s.WrappedDataKeyLen()
	if len(ct) != prefix+s.KeyLen+tagLen {
		return secret.Bytes{}, secret.Bytes{}, errors.New("rawaes: EDK ciphertext has the wrong length")
	}
	intermediate, err := k.open(iv, ct[prefix:], aad)
	if err != nil {
		return secret.Bytes{}, secret.Bytes{}, err
	}
	defer intermediate.Zero()
	dk, sig, err := materials.IntermediateUnwrap(s, ct[:prefix], intermediate, aad)
	if err != nil {
		return secret.Bytes{}, secret.Bytes{}, fmt.Errorf("rawaes: %w", err)
	}
	return dk, sig, nil
}
