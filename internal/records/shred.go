package records

import (
	"context"
	"fmt"
	"time"
)

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
	return fmt.Sprintf("destroyed branch key %s: %s and its beacon key; %s made unreadable", r.BranchKeyID,
		counted(r.Versions, "version", "versions"), counted(r.Items, "record", "records"))
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
