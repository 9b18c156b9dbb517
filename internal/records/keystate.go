package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/store"
)

// ErrGone is matched by the errors of records that can no longer be
// read: their key version was retired (*RetiredError) or their
// collection's keys were destroyed (*ShreddedError).
var ErrGone = fault.Sentinel(fault.Gone, "records: gone", "")

// RetiredError is a record protected by a branch key version below the
// collection's minimum decryptable version.
type RetiredError struct {
	Collection string
	Version    int // the record's key version; 0: a version the collection never had
	MinVersion int
}

func (e *RetiredError) Error() string {
	v := "a key version this collection never had"
	if e.Version > 0 {
		v = "key version " + strconv.Itoa(e.Version)
	}
	return fmt.Sprintf("the record is protected by %s of collection %s, which was retired (the minimum decryptable version is %d); it can no longer be read", v, e.Collection, e.MinVersion)
}

// Is makes a *RetiredError match ErrGone.
func (e *RetiredError) Is(target error) bool { return target == ErrGone }

// Fault returns Gone and the message, which names versions, no value.
func (e *RetiredError) Fault() (fault.Kind, string) { return fault.Gone, e.Error() }

// ShreddedError is an operation on a collection whose keys were destroyed.
type ShreddedError struct {
	Collection string
	At         time.Time // zero while the shredding is under way
}

func (e *ShreddedError) Error() string {
	if e.At.IsZero() {
		return fmt.Sprintf("the keys of collection %s are being destroyed; its records can no longer be read or written", e.Collection)
	}
	return fmt.Sprintf("the keys of collection %s were destroyed (shredded) at %s; its records can no longer be read or written", e.Collection, e.At.UTC().Format(time.RFC3339))
}

// Is makes a *ShreddedError match ErrGone.
func (e *ShreddedError) Is(target error) bool { return target == ErrGone }

// Fault returns Gone and the message.
func (e *ShreddedError) Fault() (fault.Kind, string) { return fault.Gone, e.Error() }

// keyState is the key lifecycle of a collection, kept in its catalog
// entry: every version of its branch key that may exist, oldest first (a
// version's number is its position, from 1), the minimum decryptable
// version, the automatic rotation period and, once destroyed, the receipt.
type keyState struct {
	Versions []keyVersion `json:"versions,omitempty"`
	// MinVersion: versions numbered below it are refused (0 or 1: none).
	MinVersion int `json:"minVersion,omitempty"`
	// RotationPeriod in seconds; 0: no automatic rotation.
	RotationPeriod int64         `json:"rotationPeriod,omitempty"`
	Shredding      bool          `json:"shredding,omitempty"`
	Shredded       *ShredReceipt `json:"shredded,omitempty"`
	// Abandoned lists the versions of failed rotations taken off the end
	// of Versions, and LastAbandoned when the last one failed.
	Abandoned     []string   `json:"abandoned,omitempty"`
	LastAbandoned *time.Time `json:"lastAbandoned,omitempty"`
}

// allIDs is every version id that may exist in the key store.
func (k keyState) allIDs() []string {
	ids := make([]string, 0, len(k.Versions)+len(k.Abandoned))
	for _, v := range k.Versions {
		ids = append(ids, v.ID)
	}
	return append(ids, k.Abandoned...)
}

// keyVersion is one version of a collection's branch key. A version is
// recorded before it is created (so that no version can exist that a
// shred would not know to destroy) and marked activated once it is the
// active one.
type keyVersion struct {
	ID        string     `json:"id"`
	Created   time.Time  `json:"created"`
	Activated *time.Time `json:"activated,omitempty"`
	// Abandoned: its rotation failed before making it active.
	Abandoned bool `json:"abandoned,omitempty"`
}

// rotating returns the version whose rotation is under way: the newest
// listed one, if it is neither activated nor abandoned and was listed
// less than rotationInFlight ago (a rotation that died is given up on
// then). Rotations of a collection run one at a time, so the list's order
// is the order of activation.
func (k keyState) rotating(now time.Time) (keyVersion, bool) {
	if len(k.Versions) == 0 {
		return keyVersion{}, false
	}
	v := k.Versions[len(k.Versions)-1]
	return v, v.Activated == nil && !v.Abandoned && now.Sub(v.Created) < rotationInFlight
}

// number is the version number of version id (0: not a version of the
// collection).
func (k keyState) number(id string) int {
	for i, v := range k.Versions {
		if v.ID == id {
			return i + 1
		}
	}
	return 0
}

// retired reports whether records under version id are refused. A
// version the list does not know is not judged here: it is newer than
// this copy of the list (another server rotated), or no version of the
// key at all, and then the key store has nothing to decrypt it with.
func (k keyState) retired(id string) bool {
	n := k.number(id)
	return k.MinVersion > 1 && n > 0 && n < k.MinVersion
}

// lastActivated is the newest activated version ("" if none is recorded).
func (k keyState) lastActivated() (keyVersion, bool) {
	for i := len(k.Versions) - 1; i >= 0; i-- {
		if k.Versions[i].Activated != nil {
			return k.Versions[i], true
		}
	}
	return keyVersion{}, false
}

// gone is the error for operations on a collection being or having been
// shredded, or nil.
func (e entry) gone() error {
	switch {
	case e.keys.Shredded != nil:
		return &ShreddedError{Collection: e.info.Name, At: e.keys.Shredded.Time}
	case e.keys.Shredding:
		return &ShreddedError{Collection: e.info.Name}
	}
	return nil
}

// keyEntry reads collection name's catalog entry afresh, filling in the
// version list of a collection made before versions were recorded (its
// branch key then had exactly one version: the active one).
func (s *Service) keyEntry(ctx context.Context, name string) (entry, error) {
	if err := CheckCollectionName(name); err != nil {
		return entry{}, ErrNotFound
	}
	e, err := s.cat.get(ctx, name)
	if err != nil {
		return entry{}, err
	}
	if e.gone() != nil {
		return e, nil
	}
	// The key store's ACTIVE item decides which version is active: a
	// rotation that made a version active but could not record it (or a
	// collection from before versions were recorded) is recorded here.
	v, created, err := s.keys.ActiveVersion(ctx, e.branchKeyID)
	if err != nil {
		return entry{}, fmt.Errorf("records: collection %s: %w", name, err)
	}
	e.active = v
	switch n := e.keys.number(v); {
	case n == 0:
		e.keys.Versions = append(e.keys.Versions, keyVersion{ID: v, Created: created, Activated: &created})
	case e.keys.Versions[n-1].Activated == nil:
		e.keys.Versions[n-1].Created, e.keys.Versions[n-1].Activated = created, &created
		e.keys.Versions[n-1].Abandoned = false
	default:
		return e, nil
	}
	// Recorded, so that every server notices within the refresh period
	// (a lost race is fine: the winner wrote at least as much).
	if saved, err := s.cat.put(ctx, e, false); err == nil {
		saved.active = v
		return saved, nil
	}
	return e, nil
}

// firstVersion is the key state of a new branch key's first version.
func firstVersion(id string, now time.Time) keyState {
	now = now.UTC().Truncate(time.Second)
	return keyState{Versions: []keyVersion{{ID: id, Created: now, Activated: &now}}}
}

// maxCatalogAttempts bounds retries of a catalog change that lost a race.
const maxCatalogAttempts = 10

// updateKeys applies change to the key state of collection name and
// writes it on condition that the entry did not change meanwhile,
// retrying from the read when it did. It installs and returns the result.
func (s *Service) updateKeys(ctx context.Context, name string, change func(e *entry) error) (entry, error) {
	for range maxCatalogAttempts {
		e, err := s.keyEntry(ctx, name)
		if err != nil {
			return entry{}, err
		}
		if err := change(&e); err != nil {
			return entry{}, err
		}
		e, err = s.cat.put(ctx, e, false)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return entry{}, fmt.Errorf("records: write collection %s: %w", name, err)
		}
		if _, err := s.install(e, s.cached(name)); err != nil {
			return entry{}, err
		}
		return e, nil
	}
	return entry{}, &ConflictError{Reason: "the collection kept changing; retry"}
}

// versionOf returns the branch key version a stored item of c was
// encrypted under, read from its header without decrypting.
func (c *collection) versionOf(stored attr.Item) (string, bool) {
	head, ok := stored[item.HeaderAttr].(attr.B)
	if !ok {
		return "", false
	}
	h, err := item.ParseHeader(head)
	if err != nil {
		return "", false
	}
	for _, e := range h.EDKs {
		if e.ProviderID == hierarchy.ProviderID && string(e.ProviderInfo) == c.branchKeyID {
			v, err := hierarchy.EDKVersion(h.Suite, e)
			return v, err == nil
		}
	}
	return "", false
}

// checkRetired returns a *RetiredError if stored is under a retired
// version of c. The keyring refuses such versions as well; this gives
// the reason.
func (c *collection) checkRetired(stored attr.Item) error {
	if c.keyState.MinVersion <= 1 {
		return nil
	}
	v, ok := c.versionOf(stored)
	if !ok || !c.keyState.retired(v) {
		return nil // not ours to judge: decryption will refuse or accept it
	}
	return &RetiredError{Collection: c.info.Name, Version: c.keyState.number(v), MinVersion: c.keyState.MinVersion}
}
