// Package localroot is the root key of the embedded default: 256 bits in a
// file readable by its owner only. It wraps branch keys with AES-256-GCM
// bound to their encryption context. It is for development: anyone who can
// read the file and the database can read every record.
package localroot

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/sealstore/sealstore/internal/atomicfile"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// KeyLen is the root key's length in bytes.
const KeyLen = 32

const (
	formatV1  = 1
	nonceLen  = 12
	overhead  = 1 + nonceLen + 16
	newKeyLen = 32
)

// ErrUnwrap is returned for any wrapped key that does not authenticate; it
// wraps keystore.ErrUnwrap.
var ErrUnwrap = fmt.Errorf("localroot: %w", keystore.ErrUnwrap)

// Key is a local root key.
type Key struct {
	key secret.Bytes
	id  string
}

// Generate returns a new random root key.
func Generate() *Key { return fromSecret(secret.Random(KeyLen)) }

func fromSecret(k secret.Bytes) *Key {
	mac := hmac.New(sha256.New, k.InsecureBytes())
	mac.Write([]byte("sealstore local root key id"))
	return &Key{key: k, id: "local:" + hex.EncodeToString(mac.Sum(nil)[:8])}
}

// Create writes a new root key to path with mode 0600; it fails if path
// exists. The file appears whole or not at all, even across a crash.
func Create(path string) (*Key, error) {
	k := Generate()
	if err := atomicfile.WriteNew(path, k.key.InsecureBytes(), 0o600); err != nil {
		return nil, fmt.Errorf("localroot: %w", err)
	}
	return k, nil
}

// Load reads the root key at path. It refuses a file that group or others
// may read or write, and one of the wrong length.
func Load(path string) (*Key, error) {
	if err := CheckFile(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localroot: %w", err)
	}
	if len(b) != KeyLen {
		clear(b)
		return nil, fmt.Errorf("localroot: %s holds %d bytes, not a %d-byte key", path, len(b), KeyLen)
	}
	return fromSecret(secret.New(b)), nil
}

// CheckFile refuses a key file that is not a regular file (a symbolic
// link included) or that group or others may read or write.
func CheckFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("localroot: %w", err)
	}
	m := fi.Mode()
	if !m.IsRegular() {
		return fmt.Errorf("localroot: %s is not a regular file", path)
	}
	if m.Perm()&0o077 != 0 {
		return fmt.Errorf("localroot: %s has mode %04o; a key file must be readable by its owner only (chmod 600 %s)", path, m.Perm(), path)
	}
	return nil
}

// ID names the key without revealing it (a MAC of a fixed label).
func (k *Key) ID() string { return k.id }

// NewKey returns a fresh random key wrapped under ec.
func (k *Key) NewKey(_ context.Context, ec map[string]string) ([]byte, error) {
	fresh := secret.Random(newKeyLen)
	defer fresh.Zero()
	return k.wrap(fresh.InsecureBytes(), ec)
}

// Unwrap implements keystore.Root.
func (k *Key) Unwrap(_ context.Context, wrapped []byte, ec map[string]string) (secret.Bytes, error) {
	if len(wrapped) < overhead || wrapped[0] != formatV1 {
		return secret.Bytes{}, ErrUnwrap
	}
	aad, err := materials.Context(ec).Serialize()
	if err != nil {
		return secret.Bytes{}, err
	}
	gcm, err := materials.NewGCM(k.key.InsecureBytes())
	if err != nil {
		return secret.Bytes{}, err
	}
	pt, err := gcm.Open(nil, wrapped[1:1+nonceLen], wrapped[1+nonceLen:], append(aad, formatV1))
	if err != nil {
		return secret.Bytes{}, ErrUnwrap
	}
	return secret.New(pt), nil
}

// Rewrap implements keystore.Root.
func (k *Key) Rewrap(ctx context.Context, wrapped []byte, from, to map[string]string) ([]byte, error) {
	key, err := k.Unwrap(ctx, wrapped, from)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	return k.wrap(key.InsecureBytes(), to)
}

// wrap is version byte, random nonce, then AES-256-GCM of key with the
// serialized encryption context (and the version) as associated data.
func (k *Key) wrap(key []byte, ec map[string]string) ([]byte, error) {
	aad, err := materials.Context(ec).Serialize()
	if err != nil {
		return nil, err
	}
	gcm, err := materials.NewGCM(k.key.InsecureBytes())
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceLen, overhead+len(key))
	out[0] = formatV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[1:], key, append(aad, formatV1)), nil
}

// Format prints the key by its id only.
func (k *Key) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "localroot.Key(%s)", k.id) }
