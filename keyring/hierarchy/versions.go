package hierarchy

import (
	"errors"
	"strings"

	"github.com/sealstore/sealstore/materials"
)

// ErrRefused is wrapped by OnDecrypt's error when the only EDKs for the
// branch key are under versions the keyring was told to refuse.
var ErrRefused = errors.New("hierarchy: branch key version refused")

// EDKVersion returns the branch key version an EDK of this keyring was
// wrapped under, read from its ciphertext without any key: the version is
// stored in clear (and authenticated when the EDK is opened).
func EDKVersion(s materials.Suite, e materials.EDK) (string, error) {
	if e.ProviderID != ProviderID {
		return "", errors.New("hierarchy: not a hierarchical keyring EDK")
	}
	prefix := s.WrappedDataKeyLen()
	if len(e.Ciphertext) != prefix+ciphertextLen {
		return "", errors.New("hierarchy: EDK ciphertext has the wrong length")
	}
	ct := e.Ciphertext[prefix:]
	return VersionString(ct[saltLen+ivLen : saltLen+ivLen+versionLen]), nil
}

// RefuseVersions makes the keyring refuse to decrypt under any branch key
// version for which refuse returns true, before the cache or the source
// is asked (so a version retired after it was cached is refused too).
// Call it before the keyring is used.
func (k *Keyring) RefuseVersions(refuse func(version string) bool) { k.refuse = refuse }

// Forget drops the keyring's branch keys from the cache: the active one
// (after a rotation, so the next encryption loads the new active version)
// or, with all, every version (after the keys were destroyed).
func (k *Keyring) Forget(all bool) {
	if all {
		k.cache.forget(func(id string) bool {
			return strings.HasPrefix(id, "active"+k.cachePrefix) || strings.HasPrefix(id, "version"+k.cachePrefix)
		})
		return
	}
	k.cache.forget(func(id string) bool { return id == k.activeID })
}

// forget removes the entries for which drop returns true. Loads running
// meanwhile do not cache what they return: they may have read the key
// store before the change that made the caller forget.
func (c *Cache) forget(drop func(id string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id := range c.entries {
		if drop(id) {
			delete(c.entries, id)
		}
	}
}
