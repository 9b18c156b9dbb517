package records

import (
	"context"
	"fmt"
	"time"
)

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
