package keystore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/store"
)

// ErrActiveChanged is returned by Rotate when the active version is no
// longer the one the caller named: another rotation ran meanwhile.
var ErrActiveChanged = errors.New("keystore: the active version changed meanwhile")

// ActiveVersion returns the active version of branch key id and when that
// version was created, reading the key store without unwrapping anything
// (no root key call).
func (k *Store) ActiveVersion(ctx context.Context, id string) (string, time.Time, error) {
	it, err := k.db.Get(ctx, k.table, attr.Item{attrID: attr.S(id), attrType: attr.S(typeActive)})
	if errors.Is(err, store.ErrNotFound) {
		return "", time.Time{}, fmt.Errorf("%w: %s", hierarchy.ErrNotFound, id)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("keystore: read %s: %w", id, err)
	}
	v, ok := it[attrVersion].(attr.S)
	if !ok || !strings.HasPrefix(string(v), typeVersionPrefx) {
		return "", time.Time{}, fmt.Errorf("keystore: %s: %w: ACTIVE item names no version", id, hierarchy.ErrInvalidKey)
	}
	created, _ := it[attrCreated].(attr.S)
	t, _ := time.Parse(time.RFC3339, string(created))
	return strings.TrimPrefix(string(v), typeVersionPrefx), t, nil
}

// Rotate creates version of branch key id (a fresh UUID the caller chose,
// so that it can record the version before it exists) and makes it the
// active one, if the active version is still prev. The beacon key stays:
// beacons written before a rotation must still match. Rotate returns the
// new version's creation time.
func (k *Store) Rotate(ctx context.Context, id, version, prev string) (time.Time, error) {
	if _, err := hierarchy.VersionBytes(version); err != nil {
		return time.Time{}, fmt.Errorf("keystore: rotate %s: %w", id, err)
	}
	now := k.now().UTC().Truncate(time.Second)
	ver, err := k.newItem(ctx, id, typeVersionPrefx+version, now.Format(time.RFC3339))
	if err != nil {
		return time.Time{}, err
	}
	active, err := k.activeFrom(ctx, ver)
	if err != nil {
		return time.Time{}, err
	}
	if err := k.db.Put(ctx, k.table, ver, store.Cond{Absent: true}); err != nil {
		return time.Time{}, fmt.Errorf("keystore: rotate %s: %w", id, err)
	}
	err = k.db.Put(ctx, k.table, active, store.Cond{Attr: attrVersion, Equals: attr.S(typeVersionPrefx + prev)})
	if err != nil {
		// The version was never active: nothing can be encrypted under it.
		_ = k.db.Delete(ctx, k.table, ver, store.Cond{})
	}
	if errors.Is(err, store.ErrConflict) {
		return time.Time{}, fmt.Errorf("%w: %s", ErrActiveChanged, id)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("keystore: rotate %s: %w", id, err)
	}
	return now, nil
}

// Destroy deletes every item of branch key id: the ACTIVE item, the
// beacon key and each of versions (the caller's list of every version
// that may exist; a missing one is not an error). What it deletes can no
// longer be unwrapped from this store; copies in backups of the store
// still can, for as long as the root key exists.
func (k *Store) Destroy(ctx context.Context, id string, versions []string) error {
	types := []string{typeActive, typeBeacon}
	for _, v := range versions {
		types = append(types, typeVersionPrefx+v)
	}
	for _, typ := range types {
		if err := k.db.Delete(ctx, k.table, attr.Item{attrID: attr.S(id), attrType: attr.S(typ)}, store.Cond{}); err != nil {
			return fmt.Errorf("keystore: destroy %s: %w", id, err)
		}
	}
	return nil
}

// Version makes a new version of branch key id the active one (the MPL's
// VersionKey) and returns it: records encrypted from then on use it, and
// the older versions keep decrypting. It fails with ErrActiveChanged if
// another writer versioned the key at the same moment.
func (k *Store) Version(ctx context.Context, id string) (string, error) {
	prev, _, err := k.ActiveVersion(ctx, id)
	if err != nil {
		return "", err
	}
	v := NewID()
	if _, err := k.Rotate(ctx, id, v, prev); err != nil {
		return "", err
	}
	return v, nil
}
