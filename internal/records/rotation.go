package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sealstore/sealstore/keystore"
)

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
