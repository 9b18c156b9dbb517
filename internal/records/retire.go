package records

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

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
		return &ConflictError{Reason: fmt.Sprintf("%s still under key %s %s, below %d: rewrap %s first (sealstore keys rewrap), or force to make %s unreadable",
			counted(below, "record is", "records are"), agree(len(versions), "version", "versions"), strings.Join(versions, ", "), min, agree(below, "it", "them"), agree(below, "it", "them"))}
	}
	if st.OtherItems > 0 && min > 1 {
		return &ConflictError{Reason: fmt.Sprintf("%s under no known version of this collection's key; retiring would make %s unreadable: force to proceed",
			counted(st.OtherItems, "record is", "records are"), agree(st.OtherItems, "it", "them"))}
	}
	return nil
}
