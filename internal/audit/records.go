package audit

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sealstore/sealstore/attr"
)

// Stored is a record as the store holds it: its collection, the string
// whose HMAC names it in the trail (audited.RecordName of its key), and
// its entity tag.
type Stored struct {
	Collection, Name, ETag string
}

// RecordProblem is a stored record that does not match its last audited
// write, named as the trail names records: by collection and HMAC.
type RecordProblem struct {
	Collection string
	Record     string // the record id's HMAC (Log.RecordID)
	Reason     string
}

// RecordsReport is the outcome of CheckRecords.
type RecordsReport struct {
	Records int // stored records compared
	// Unverifiable counts the records whose last audited write predates
	// the entries that carry an ETag (format 1): they cannot be compared.
	Unverifiable int
	// Changed counts the records written while the check ran: compared
	// with nothing.
	Changed  int
	Problems []RecordProblem
}

// writes is what the trail says of one record: its last audited write
// and the versions it had before.
type writes struct {
	last    Entry
	earlier map[string]bool // ETags of earlier versions
}

// recordWrites are the actions that leave a record at a new version (or
// deleted).
var recordWrites = map[string]bool{RecordPut: true, RecordPatch: true, RecordDelete: true, RecordRewrap: true, RecordImport: true}

// CheckRecords compares every stored record (from a scan of the store
// that began at scanned; read the store before calling) with the last
// write the trail recorded of it, and reports a record rolled back to an
// earlier version, written outside sealstore (a version, or a record, the
// trail never recorded), or deleted outside sealstore (the trail's last
// write left it, the store lacks it). Writes are ordered by entry time
// across chains. What it cannot see: a rollback of the database and its
// trail together, unless checkpoints kept outside show the trail's loss.
func CheckRecords(ctx context.Context, db Backend, keys Keys, stored []Stored, scanned time.Time) (RecordsReport, error) {
	ks, err := loadKeys(ctx, keys)
	if err != nil {
		return RecordsReport{}, err
	}
	byRecord, err := lastWrites(ctx, db)
	if err != nil {
		return RecordsReport{}, err
	}
	rep := RecordsReport{Records: len(stored)}
	seen := map[[2]string]bool{}
	for _, s := range stored {
		id := [2]string{s.Collection, ks.recordID(s.Collection, s.Name)}
		seen[id] = true
		if reason := compare(byRecord[id], s.ETag, scanned, &rep); reason != "" {
			rep.Problems = append(rep.Problems, RecordProblem{Collection: id[0], Record: id[1], Reason: reason})
		}
	}
	for id, w := range byRecord {
		if !seen[id] && w.last.Action != RecordDelete && w.last.Time.Before(scanned) {
			rep.Problems = append(rep.Problems, RecordProblem{Collection: id[0], Record: id[1],
				Reason: fmt.Sprintf("deleted outside sealstore: the trail's last write (%s, %s) left it stored", w.last.Action, w.last.Time.Format(time.RFC3339))})
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		return a.Collection < b.Collection || a.Collection == b.Collection && a.Record < b.Record
	})
	return rep, nil
}

// compare judges one stored record against what the trail says of it.
func compare(w *writes, etag string, scanned time.Time, rep *RecordsReport) string {
	switch {
	case w == nil:
		return "written outside sealstore: the trail records no write of it"
	case !w.last.Time.Before(scanned):
		rep.Changed++
		return ""
	case w.last.Action == RecordDelete && w.earlier[etag]:
		return "rolled back: an earlier version is stored again after its audited deletion"
	case w.last.Action == RecordDelete:
		return "written outside sealstore: stored again after its audited deletion"
	case w.last.ETag == "":
		rep.Unverifiable++
		return ""
	case w.last.ETag == etag:
		return ""
	case w.earlier[etag]:
		return "rolled back: the stored version is an earlier one than its last audited write"
	}
	return "written outside sealstore: the stored version is none the trail recorded"
}

// lastWrites reads every chain and keeps, per record, its last successful
// write and the versions before it.
func lastWrites(ctx context.Context, db Backend) (map[[2]string]*writes, error) {
	out := map[[2]string]*writes{}
	err := scan(ctx, db, batchTable, func(it attr.Item) error {
		b, err := parseBatch(it)
		if err != nil {
			return fmt.Errorf("audit: %s: %w", batchTable.Name, err)
		}
		for i := range b.entries {
			e, err := b.entries[i].entry(b.chain)
			if err != nil || e.Outcome != "ok" || !recordWrites[e.Action] || e.Record == "" {
				continue
			}
			noteWrite(out, e)
		}
		return nil
	})
	return out, err
}

func noteWrite(out map[[2]string]*writes, e Entry) {
	id := [2]string{e.Collection, e.Record}
	w := out[id]
	if w == nil {
		out[id] = &writes{last: e, earlier: map[string]bool{}}
		return
	}
	older, newer := w.last, e
	if e.Time.Before(w.last.Time) {
		older, newer = e, w.last
	}
	if older.ETag != "" {
		w.earlier[older.ETag] = true
	}
	w.last = newer
}
