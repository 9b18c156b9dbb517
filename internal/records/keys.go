package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
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

// ShredReceipt says what a shred destroyed.
type ShredReceipt struct {
	Time        time.Time `json:"time" doc:"When the keys were destroyed."`
	BranchKeyID string    `json:"branchKeyId" doc:"The branch key whose every version was destroyed."`
	Versions    int       `json:"versions" doc:"How many branch key versions were destroyed."`
	BeaconKey   bool      `json:"beaconKey" doc:"The beacon key (searchable fields) was destroyed too."`
	Items       int64     `json:"items" doc:"Stored records made unreadable (counted when the keys were destroyed)."`
}

// Detail is the receipt as one line, for the audit trail.
func (r ShredReceipt) Detail() string {
	return fmt.Sprintf("destroyed branch key %s: %d versions and its beacon key; %d records made unreadable", r.BranchKeyID, r.Versions, r.Items)
}

// KeyVersion describes one version of a collection's branch key.
type KeyVersion struct {
	Version   int        `json:"version" doc:"Version number: 1 for the first, +1 per rotation."`
	ID        string     `json:"id" doc:"The version's UUID in the key store (and in each record's header)."`
	Created   time.Time  `json:"created"`
	Activated *time.Time `json:"activated,omitempty" doc:"When it became the active version (absent: a rotation that did not complete)."`
	Active    bool       `json:"active" doc:"New records are encrypted under this version."`
	Retired   bool       `json:"retired" doc:"Below the minimum decryptable version: its records are refused."`
	Items     int64      `json:"items" doc:"Stored records under this version, counted."`
}

// KeyStatus describes a collection's keys.
type KeyStatus struct {
	Collection            string        `json:"collection"`
	BranchKeyID           string        `json:"branchKeyId"`
	ActiveVersion         int           `json:"activeVersion,omitempty"`
	MinDecryptableVersion int           `json:"minDecryptableVersion"`
	RotationPeriod        string        `json:"rotationPeriod,omitempty" doc:"Automatic rotation period (Go duration), if set."`
	NextRotation          *time.Time    `json:"nextRotation,omitempty"`
	Versions              []KeyVersion  `json:"versions"`
	Items                 int64         `json:"items" doc:"Stored records, counted."`
	OtherItems            int64         `json:"otherItems" doc:"Stored records under none of the versions (not encrypted by this collection's key, or malformed)."`
	Shredded              *ShredReceipt `json:"shredded,omitempty"`
	// ShredIncomplete: a shred began and did not finish (an outage or a
	// crash); the collection refuses every record operation, but keys
	// may remain until the shred is run again.
	ShredIncomplete bool `json:"shredIncomplete,omitempty" doc:"A shred began and did not finish: run it again; until then keys may remain in the key store."`
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

// count scans c's table and counts its records by key version.
func (s *Service) count(ctx context.Context, c *collection, progress func(scanned int64)) (map[string]int64, int64, error) {
	byVersion := map[string]int64{}
	var total int64
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, c.table, cursor, 0)
		if err != nil {
			return nil, 0, fmt.Errorf("records: count: %w", err)
		}
		for _, it := range page.Items {
			v, _ := c.versionOf(it)
			byVersion[v]++
		}
		total += int64(len(page.Items))
		if progress != nil {
			progress(total)
		}
		if page.Next == nil {
			return byVersion, total, nil
		}
		cursor = page.Next
	}
}

// KeyStatus describes the keys of collection coll: versions, the active
// and minimum decryptable ones, and how many stored records each
// protects, counted by reading every record's header (no decryption).
func (s *Service) KeyStatus(ctx context.Context, coll string) (KeyStatus, error) {
	e, err := s.keyEntry(ctx, coll)
	if err != nil {
		return KeyStatus{}, err
	}
	c, err := s.install(e, s.cached(coll))
	if err != nil {
		return KeyStatus{}, err
	}
	st := KeyStatus{Collection: coll, BranchKeyID: e.branchKeyID, MinDecryptableVersion: max(e.keys.MinVersion, 1), Shredded: e.keys.Shredded,
		ShredIncomplete: e.keys.Shredding && e.keys.Shredded == nil, Versions: []KeyVersion{}}
	active := ""
	if e.gone() == nil {
		if active, _, err = s.keys.ActiveVersion(ctx, e.branchKeyID); err != nil {
			return KeyStatus{}, fmt.Errorf("records: collection %s: %w", coll, err)
		}
	}
	counts, total, err := s.count(ctx, c, nil)
	if err != nil {
		return KeyStatus{}, err
	}
	st.Items, st.OtherItems = total, total
	for i, v := range e.keys.Versions {
		kv := KeyVersion{Version: i + 1, ID: v.ID, Created: v.Created, Activated: v.Activated, Active: v.ID == active,
			Retired: e.keys.retired(v.ID), Items: counts[v.ID]}
		if kv.Active {
			st.ActiveVersion = kv.Version
		}
		st.OtherItems -= kv.Items
		st.Versions = append(st.Versions, kv)
	}
	if e.keys.RotationPeriod > 0 {
		p := time.Duration(e.keys.RotationPeriod) * time.Second
		st.RotationPeriod = p.String()
		if last, ok := e.keys.lastActivated(); ok && e.gone() == nil {
			next := last.Activated.Add(p)
			st.NextRotation = &next
		}
	}
	return st, nil
}

// RotateKey creates a new version of collection coll's branch key and
// makes it the active one: records written from now on (by this server at
// once, by others within the catalog refresh period) are encrypted under
// it; records under older versions keep reading. It returns the new
// version.
func (s *Service) RotateKey(ctx context.Context, coll string) (KeyVersion, error) {
	return s.rotate(ctx, coll, false)
}

// errNotDue stops an automatic rotation that another server made first.
var errNotDue = errors.New("records: rotation not due")

// due reports whether e's automatic rotation period has passed since its
// active version was activated.
func (s *Service) due(e entry) bool {
	last, ok := e.keys.lastActivated()
	if e.keys.RotationPeriod <= 0 || e.gone() != nil || !ok ||
		s.now().Before(last.Activated.Add(time.Duration(e.keys.RotationPeriod)*time.Second)) {
		return false
	}
	if a := e.keys.LastAbandoned; a != nil && s.now().Sub(*a) < rotationRetry {
		return false // the last attempt failed (the root key unreachable?): not every minute
	}
	_, busy := e.keys.rotating(s.now())
	return !busy
}

// rotationInFlight is how long a listed, not yet activated version is
// taken for a rotation under way.
const rotationInFlight = 2 * time.Minute

// rotate is RotateKey; onlyIfDue rotates only if the automatic rotation
// is due in the entry as read when the rotation is recorded (so two
// servers finding it due rotate once).
//
// The new version is listed in the catalog before it exists; a rotation
// that fails leaves it listed, never activated (list entries are never
// removed: a version's number is its position, and the minimum
// decryptable version is a number). The version replaced is the key
// store's active one, read just before, and the key store's writes do not
// end with the caller's context: a rotation begun is finished or undone.
func (s *Service) rotate(ctx context.Context, coll string, onlyIfDue bool) (KeyVersion, error) {
	id := keystore.NewID()
	var prev string
	e, err := s.updateKeys(ctx, coll, func(e *entry) error {
		if err := e.gone(); err != nil {
			return err
		}
		prev = e.active // replaced only if still active when activating
		if onlyIfDue && !s.due(*e) {
			return errNotDue
		}
		if v, busy := e.keys.rotating(s.now()); busy {
			return &ConflictError{Reason: fmt.Sprintf("a rotation of this collection's key is under way (version %d, started %s); retry when it is done", e.keys.number(v.ID), v.Created.Format(time.RFC3339))}
		}
		e.keys.Versions = append(e.keys.Versions, keyVersion{ID: id, Created: s.now().UTC().Truncate(time.Second)})
		return nil
	})
	if err != nil {
		return KeyVersion{}, err
	}
	ctx = context.WithoutCancel(ctx)
	created, err := s.keys.Rotate(ctx, e.branchKeyID, id, prev)
	if err != nil {
		s.abandon(ctx, coll, id)
	}
	if errors.Is(err, keystore.ErrActiveChanged) {
		return KeyVersion{}, &ConflictError{Reason: "the key store's active version changed during the rotation (a rotation outside this service?); read the key status and retry if needed"}
	}
	if err != nil {
		return KeyVersion{}, fmt.Errorf("records: rotate: %w", err)
	}
	// The new version is active in the key store; recording it (keyEntry
	// does, on every key operation) lets every server notice and forget
	// its cached active key.
	e, err = s.updateKeys(ctx, coll, func(*entry) error { return nil })
	if err != nil {
		return KeyVersion{}, err
	}
	n := e.keys.number(id)
	return KeyVersion{Version: n, ID: id, Created: created, Activated: &created, Active: true}, nil
}

// abandon records that the rotation to version id failed: the version
// was never active. The last listed version leaves the list for the
// abandoned ids (no number shifts; a shred still destroys it); one listed
// before another stays, marked. Automatic rotation then waits
// rotationRetry. A collection shredded meanwhile has the version
// destroyed too, in case the rotation wrote it after the shred.
func (s *Service) abandon(ctx context.Context, coll, id string) {
	e, err := s.updateKeys(ctx, coll, func(e *entry) error {
		now := s.now().UTC()
		e.keys.LastAbandoned = &now
		switch n := e.keys.number(id); {
		case n == 0 || e.keys.Versions[n-1].Activated != nil:
		case n == len(e.keys.Versions):
			e.keys.Versions = e.keys.Versions[:n-1]
			e.keys.Abandoned = append(e.keys.Abandoned, id)
		default:
			e.keys.Versions[n-1].Abandoned = true
		}
		return nil
	})
	if err == nil && e.gone() != nil {
		_ = s.keys.Destroy(ctx, e.branchKeyID, []string{id})
	}
}

// rotationRetry is how long automatic rotation waits after a failed one.
const rotationRetry = 10 * time.Minute

// KeyPolicy changes a collection's key settings; nil fields stay.
type KeyPolicy struct {
	// MinDecryptableVersion retires every version below it. Refused while
	// records under those versions remain, unless Force.
	MinDecryptableVersion *int
	Force                 bool
	// RotationPeriod rotates the key automatically when the active
	// version is this old; 0 turns automatic rotation off.
	RotationPeriod *time.Duration
}

// MinRotationPeriod is the shortest automatic rotation period.
const MinRotationPeriod = time.Hour

// SetKeyPolicy applies p to collection coll. Retiring is one way: the
// minimum decryptable version can be raised, up to the active version,
// never lowered.
func (s *Service) SetKeyPolicy(ctx context.Context, coll string, p KeyPolicy) (KeyStatus, error) {
	if p.RotationPeriod != nil && *p.RotationPeriod != 0 && *p.RotationPeriod < MinRotationPeriod {
		return KeyStatus{}, &InvalidError{Field: "body.rotationPeriod", Reason: "must be at least " + MinRotationPeriod.String() + " (or empty to turn automatic rotation off)"}
	}
	e, err := s.keyEntry(ctx, coll)
	if err != nil {
		return KeyStatus{}, err
	}
	if err := e.gone(); err != nil {
		return KeyStatus{}, err
	}
	if p.MinDecryptableVersion != nil {
		if err := s.checkRetire(ctx, coll, *p.MinDecryptableVersion, p.Force); err != nil {
			return KeyStatus{}, err
		}
	}
	_, err = s.updateKeys(ctx, coll, func(e *entry) error {
		if err := e.gone(); err != nil {
			return err
		}
		if p.RotationPeriod != nil {
			e.keys.RotationPeriod = int64(p.RotationPeriod.Round(time.Second) / time.Second)
		}
		if p.MinDecryptableVersion != nil {
			min := *p.MinDecryptableVersion
			if min < max(e.keys.MinVersion, 1) {
				return &ConflictError{Reason: fmt.Sprintf("retiring is one way: the minimum decryptable version is %d and cannot be lowered", max(e.keys.MinVersion, 1))}
			}
			if active := e.keys.number(e.active); min > active {
				return &InvalidError{Field: "body.minDecryptableVersion", Reason: fmt.Sprintf("must be at most the active version (%d)", active)}
			}
			e.keys.MinVersion = min
		}
		return nil
	})
	if err != nil {
		return KeyStatus{}, err
	}
	return s.KeyStatus(ctx, coll)
}

// checkRetire refuses to retire the versions below min while records under
// them (or under no known version) remain, unless force.
func (s *Service) checkRetire(ctx context.Context, coll string, min int, force bool) error {
	if min < 1 {
		return &InvalidError{Field: "body.minDecryptableVersion", Reason: "must be at least 1"}
	}
	if force {
		return nil // checked against the stored state when written
	}
	st, err := s.KeyStatus(ctx, coll)
	if err != nil {
		return err
	}
	switch {
	case min > st.ActiveVersion:
		return &InvalidError{Field: "body.minDecryptableVersion", Reason: fmt.Sprintf("must be at most the active version (%d)", st.ActiveVersion)}
	case min < st.MinDecryptableVersion:
		return &ConflictError{Reason: fmt.Sprintf("retiring is one way: the minimum decryptable version is %d and cannot be lowered", st.MinDecryptableVersion)}
	}
	var below int64
	var versions []string
	for _, v := range st.Versions {
		if v.Version < min && v.Items > 0 {
			below += v.Items
			versions = append(versions, strconv.Itoa(v.Version))
		}
	}
	if below > 0 {
		return &ConflictError{Reason: fmt.Sprintf("%d records are still under key versions %s, below %d: rewrap them first (sealstore keys rewrap), or force to make them unreadable", below, strings.Join(versions, ", "), min)}
	}
	if st.OtherItems > 0 && min > 1 {
		return &ConflictError{Reason: fmt.Sprintf("%d records are under no known version of this collection's key; retiring would make them unreadable: force to proceed", st.OtherItems)}
	}
	return nil
}

// ShredKeys destroys every version of collection coll's branch key and its
// beacon key: afterwards no record of the collection can be decrypted or
// searched, here or by any reader of the store. confirm must repeat the
// collection's name. The reference collection cannot be shredded.
func (s *Service) ShredKeys(ctx context.Context, coll, confirm string) (ShredReceipt, error) {
	if confirm != coll {
		return ShredReceipt{}, &InvalidError{Field: "query.confirm", Reason: "must repeat the collection's name: shredding destroys every record of it for good"}
	}
	if coll == ItemsCollection {
		return ShredReceipt{}, &ConflictError{Reason: "the reference collection \"items\" cannot be shredded: its routes must keep working; delete its records instead"}
	}
	ctx = context.WithoutCancel(ctx) // once begun, a shred finishes
	e, err := s.updateKeys(ctx, coll, func(e *entry) error {
		if e.keys.Shredded == nil {
			e.keys.Shredding = true
		}
		return nil
	})
	if err != nil {
		return ShredReceipt{}, err
	}
	if e.keys.Shredded != nil {
		// Again: destroy again what may have been written since (a
		// rotation racing the shred), and answer the same receipt.
		if err := s.keys.Destroy(ctx, e.branchKeyID, e.keys.allIDs()); err != nil {
			return ShredReceipt{}, fmt.Errorf("records: shred: %w", err)
		}
		return *e.keys.Shredded, nil
	}
	c, err := s.install(e, s.cached(coll))
	if err != nil {
		return ShredReceipt{}, err
	}
	c.kr.Forget(true)
	_, items, err := s.count(ctx, c, nil)
	if err != nil {
		return ShredReceipt{}, err
	}
	if err := s.keys.Destroy(ctx, e.branchKeyID, e.keys.allIDs()); err != nil {
		return ShredReceipt{}, fmt.Errorf("records: shred: %w", err)
	}
	versions := 0 // those that can have existed: not abandoned
	for _, v := range e.keys.Versions {
		if !v.Abandoned {
			versions++
		}
	}
	c.kr.Forget(true)
	r := ShredReceipt{Time: s.now().UTC().Truncate(time.Second), BranchKeyID: e.branchKeyID, Versions: versions, BeaconKey: true, Items: items}
	e, err = s.updateKeys(ctx, coll, func(e *entry) error {
		e.keys.Shredding, e.keys.Shredded = false, &r
		return nil
	})
	if err != nil {
		return ShredReceipt{}, err
	}
	return r, nil
}

// DueRotation is an automatic rotation RotateDue attempted.
type DueRotation struct {
	Collection string
	// Version is the version made active; set when Err is nil.
	Version KeyVersion
	// Err says why the rotation failed (the next attempt waits).
	Err error
}

// RotateDue rotates the key of every collection whose automatic rotation
// period has passed since its active version was activated, and returns
// each rotation it attempted, done or failed; a collection another server
// rotated first is not among them. The error is the catalog's, when the
// collections cannot be listed.
func (s *Service) RotateDue(ctx context.Context) ([]DueRotation, error) {
	es, err := s.cat.list(ctx)
	if err != nil {
		return nil, err
	}
	var done []DueRotation
	for _, e := range es {
		if ctx.Err() != nil { // stopping: rotations not begun are not attempts
			return done, nil
		}
		if !s.due(e) {
			continue
		}
		v, err := s.rotate(ctx, e.info.Name, true)
		var conflict *ConflictError
		switch {
		case errors.Is(err, errNotDue), errors.As(err, &conflict): // another server rotated it
			continue
		case errors.Is(err, ErrGone): // shredded since it was listed
			continue
		case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()): // stopped before it began
			continue
		}
		done = append(done, DueRotation{Collection: e.info.Name, Version: v, Err: err})
	}
	return done, nil
}
