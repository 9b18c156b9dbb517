package hierarchy

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/sealstore/sealstore/secret"
)

// ErrNotFound is returned by a Source that has no such branch key or version.
var ErrNotFound = errors.New("hierarchy: branch key not found")

// ErrInvalidKey is wrapped by a Source's errors for a stored branch key
// that does not authenticate or is malformed: a tampered key store or the
// wrong root key, not an outage.
var ErrInvalidKey = errors.New("hierarchy: stored branch key is invalid")

// BranchKey is one version of a branch key, in plaintext.
type BranchKey struct {
	ID string
	// Version is the version's UUID in its canonical 36-character form.
	Version string
	Key     secret.Bytes
}

// Source gives branch keys: a key store behind a root key, or a static
// source in tests. Implementations must be safe for concurrent use.
type Source interface {
	// Name is the logical name of the key store. Keyrings sharing a Cache
	// keep the keys of differently named sources apart, so two stores
	// holding the same branch key id never see each other's keys.
	Name() string
	// ActiveKey returns the active version of a branch key.
	ActiveKey(ctx context.Context, id string) (BranchKey, error)
	// KeyVersion returns one version of a branch key, or ErrNotFound.
	KeyVersion(ctx context.Context, id, version string) (BranchKey, error)
}

// Static is a Source holding fixed branch keys, for tests and for the
// conformance vectors' static-branch-key entries.
type Static struct {
	StoreName string

	Keys []BranchKey // the first version of an id is its active one
}

// Name implements Source.
func (s Static) Name() string { return s.StoreName }

// ActiveKey implements Source.
func (s Static) ActiveKey(_ context.Context, id string) (BranchKey, error) {
	for _, k := range s.Keys {
		if k.ID == id {
			return k, nil
		}
	}
	return BranchKey{}, ErrNotFound
}

// KeyVersion implements Source.
func (s Static) KeyVersion(_ context.Context, id, version string) (BranchKey, error) {
	for _, k := range s.Keys {
		if k.ID == id && k.Version == version {
			return k, nil
		}
	}
	return BranchKey{}, ErrNotFound
}

// VersionBytes parses a canonical UUID string (lower-case hex, as
// VersionString writes it) into its 16 bytes. Upper case is refused: a
// version written that way could never be looked up again on decrypt.
func VersionBytes(v string) ([16]byte, error) {
	var out [16]byte
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return out, fmt.Errorf("hierarchy: branch key version %q is not a UUID", v)
	}
	h := v[0:8] + v[9:13] + v[14:18] + v[19:23] + v[24:]
	if _, err := hex.Decode(out[:], []byte(h)); err != nil || h != strings.ToLower(h) {
		return out, fmt.Errorf("hierarchy: branch key version %q is not a UUID", v)
	}
	return out, nil
}

// VersionString formats 16 bytes as a canonical lowercase UUID string; it
// returns "" for any other length.
func VersionString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return string(appendVersion(make([]byte, 0, 36), b))
}

// appendVersion appends the UUID string of 16 bytes to dst.
func appendVersion(dst, b []byte) []byte {
	for i, group := range [...]int{4, 2, 2, 2, 6} {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = hex.AppendEncode(dst, b[:group])
		b = b[group:]
	}
	return dst
}
