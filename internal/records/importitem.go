package records

import (
	"bytes"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/store"
)

// decode turns a source item into a record document of the job's layout.
func (r *importRun) decode(ctx context.Context, c *collection, it attr.Item) (decoded, error) {
	if len(r.bySource) == 0 {
		return decodeReference(ctx, r.src, it)
	}
	return decodePlain(c, r.bySource, it), nil
}

// rowFor is a fresh ledger row of a source item.
func (r *importRun) rowFor(it attr.Item) ledgerRow {
	item, key := sourceKeyOf(r.table, it)
	return ledgerRow{item: item, key: key, digest: r.keys.digest(it)}
}

// countsOf is what an item whose row is row counts in the import pass.
func countsOf(row ledgerRow) importCounts {
	switch row.state {
	case stateImported:
		c := importCounts{imported: 1}
		if row.recognised {
			c.recognised = 1
		}
		return c
	case stateConflict:
		return importCounts{conflicts: 1}
	}
	return importCounts{failed: 1}
}

// importItem imports one source item: decoded (one KMS Decrypt, for the
// reference layout), then written on condition that no record has its
// key. A record already there is kept; if it is the same record (this
// import wrote it before an interruption, or someone did), the item
// counts as imported. After a resumption, an item the ledger already
// holds unchanged is counted as it was, without decrypting it again.
func (r *importRun) importItem(ctx context.Context, c *collection, it attr.Item) (importCounts, error) {
	row := r.rowFor(it)
	if r.reusing() {
		prev, err := r.s.getLedger(ctx, r.keys.job, row.item)
		if err != nil {
			return importCounts{}, err
		}
		if prev != nil && bytes.Equal(prev.digest, row.digest) {
			return countsOf(*prev), nil
		}
	}
	dec, err := r.decode(ctx, c, it)
	counts := importCounts{kms: dec.kms}
	if err != nil {
		return counts, err
	}
	if dec.reason == "" {
		row, err = r.write(ctx, c, row, dec.doc)
		if err != nil {
			return counts, err
		}
	} else {
		row.state, row.phase, row.reason = stateFailed, phaseImporting, dec.reason
	}
	counts.add(countsOf(row))
	return counts, r.s.putLedger(ctx, r.keys.job, row)
}

func (r *importRun) reusing() bool {
	r.j.mu.Lock()
	defer r.j.mu.Unlock()
	return r.j.reuse
}

// write stores doc as its record unless a record has its key, and says
// in row what became of it. A record written, or found identical, is told
// to Options.Imported (the audit trail) before it is counted.
func (r *importRun) write(ctx context.Context, c *collection, row ledgerRow, doc attr.Item) (ledgerRow, error) {
	k := c.keyFrom(doc)
	row.id, row.sort = k.ID, k.Sort
	etag, recognised, reason, err := r.s.createRecord(ctx, c, k, doc)
	if err != nil {
		return row, err
	}
	switch reason {
	case "":
	case reasonConflict, reasonConflictUnreadable:
		row.state, row.phase, row.reason = stateConflict, phaseImporting, reason
		return row, nil
	default:
		row.state, row.phase, row.reason = stateFailed, phaseImporting, reason
		return row, nil
	}
	if err := r.s.imported(context.WithoutCancel(ctx), c.info.Name, k, etag); err != nil {
		return row, fmt.Errorf("records: record the import: %w", err)
	}
	row.state, row.recognised, row.etag, row.mac = stateImported, recognised, etag, r.keys.mac(row.item, doc)
	return row, nil
}

// createRecord writes doc as the record at k of c on condition that no
// record is there, and returns its entity tag; a record already there is
// never overwritten: if it holds doc it is recognised (and its entity tag
// returned), otherwise the reason is a conflict. A record doc cannot
// become is a reason too; outages are errors.
func (s *Service) createRecord(ctx context.Context, c *collection, k Key, doc attr.Item) (etag string, recognised bool, reason string, err error) {
	key, err := c.keyItem(k)
	if err != nil {
		return "", false, reasonBadID, nil
	}
	sealed, err := s.seal(ctx, c, doc)
	if err != nil {
		if reason := storeReason(err); reason != "" {
			return "", false, reason, nil
		}
		return "", false, "", err
	}
	for range 3 {
		err := s.db.Put(ctx, c.table, sealed, store.Cond{Absent: true})
		switch {
		case err == nil:
			return etagOf(sealed), false, "", nil
		case storeReason(err) != "":
			return "", false, storeReason(err), nil
		case !errors.Is(err, store.ErrConflict):
			return "", false, "", fmt.Errorf("records: put: %w", err)
		}
		cur, err := s.db.Get(ctx, c.table, key)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile: try again
		}
		if err != nil {
			return "", false, "", fmt.Errorf("records: get: %w", err)
		}
		rec, err := c.decryptAt(ctx, cur, key)
		switch {
		case err != nil && (fault.KindOf(err) == fault.Decrypt || fault.KindOf(err) == fault.Gone):
			return "", false, reasonConflictUnreadable, nil
		case err != nil:
			return "", false, "", err
		case attr.Equal(attr.M(rec.Doc), attr.M(doc)):
			return rec.ETag, true, "", nil
		}
		return "", false, reasonConflict, nil
	}
	return "", false, reasonConflict, nil
}

// storeReason is the reason a record cannot be stored, for the errors of
// sealing and writing it that are the record's alone; "" for the others,
// which stop the job (outages, a shredded collection).
func storeReason(err error) string {
	switch fault.KindOf(err) {
	case fault.Invalid:
		return reasonInvalid
	case fault.TooLarge:
		return reasonTooLarge
	}
	return ""
}

// verifyItem compares one source item with its record read back through
// sealstore: the MAC of the record's document must equal the MAC of the
// source's. If the source item is unchanged since it was imported (its
// digest), the MAC recorded then is the source's, and nothing is
// decrypted; otherwise the item is decoded again (a KMS Decrypt, for the
// reference layout).
func (r *importRun) verifyItem(ctx context.Context, c *collection, it attr.Item) (importCounts, error) {
	fresh := r.rowFor(it)
	row, err := r.s.getLedger(ctx, r.keys.job, fresh.item)
	switch {
	case err != nil:
		return importCounts{}, err
	case row == nil:
		fresh.state = stateAbsent
		return importCounts{unverified: 1}, r.s.putLedger(ctx, r.keys.job, fresh.problem(phaseVerifying, reasonNotImported))
	case row.state != stateImported:
		return importCounts{unverified: 1}, nil // reported by the import pass
	}
	want, counts := row.mac, importCounts{}
	changed := !bytes.Equal(fresh.digest, row.digest)
	if changed {
		dec, err := r.decode(ctx, c, it)
		if counts.kms = dec.kms; err != nil {
			return counts, err
		}
		want = nil
		if dec.reason == "" {
			want = r.keys.mac(row.item, dec.doc)
		}
	}
	reason, err := r.matches(ctx, c, *row, want)
	if err != nil {
		return counts, err
	}
	if reason == reasonDiffers && changed {
		reason = reasonSourceChanged
	}
	if reason != "" {
		counts.unverified = 1
		return counts, r.s.putLedger(ctx, r.keys.job, row.problem(phaseVerifying, reason))
	}
	counts.verified = 1
	if changed || row.reason != "" {
		row.digest = fresh.digest // the delete pass compares with this
		return counts, r.s.putLedger(ctx, r.keys.job, row.problem("", ""))
	}
	return counts, nil
}

// matches reads row's record through sealstore and returns why it does
// not hold the document whose MAC is want ("" if it does).
func (r *importRun) matches(ctx context.Context, c *collection, row ledgerRow, want []byte) (string, error) {
	k := Key{ID: row.id, Sort: row.sort}
	key, err := c.keyItem(k)
	if err != nil {
		return reasonMissing, nil
	}
	stored, err := r.s.db.Get(ctx, c.table, key)
	if errors.Is(err, store.ErrNotFound) {
		return reasonMissing, nil
	}
	if err != nil {
		return "", fmt.Errorf("records: get: %w", err)
	}
	rec, err := c.decryptAt(ctx, stored, key)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Decrypt || k == fault.Gone {
			return reasonUnreadable, nil
		}
		return "", err
	}
	if want == nil || !hmac.Equal(r.keys.mac(row.item, rec.Doc), want) {
		return reasonDiffers, nil
	}
	return "", nil
}

// deleteItem deletes one source item after a clean verify: only if it is
// unchanged since the verify pass (its digest) and its record in
// sealstore still holds it, then on condition that every attribute of it
// is unchanged.
func (r *importRun) deleteItem(ctx context.Context, c *collection, it attr.Item) (importCounts, error) {
	fresh := r.rowFor(it)
	row, err := r.s.getLedger(ctx, r.keys.job, fresh.item)
	switch {
	case err != nil:
		return importCounts{}, err
	case row == nil:
		fresh.state = stateAbsent
		return importCounts{kept: 1}, r.s.putLedger(ctx, r.keys.job, fresh.problem(phaseDeleting, reasonNotImported))
	case row.state != stateImported || !bytes.Equal(fresh.digest, row.digest):
		return importCounts{kept: 1}, r.s.putLedger(ctx, r.keys.job, row.problem(phaseDeleting, reasonChangedSinceVerify))
	}
	if reason, err := r.matches(ctx, c, *row, row.mac); err != nil || reason != "" {
		if err != nil {
			return importCounts{}, err
		}
		return importCounts{kept: 1}, r.s.putLedger(ctx, r.keys.job, row.problem(phaseDeleting, reasonChangedSinceVerify))
	}
	err = r.src.DeleteUnchanged(ctx, r.table, it)
	if err == nil {
		return importCounts{deleted: 1}, nil
	}
	if k := fault.KindOf(err); k == fault.Unavailable || k == fault.Canceled {
		return importCounts{}, fmt.Errorf("records: delete from the source: %w", err)
	}
	return importCounts{kept: 1}, r.s.putLedger(ctx, r.keys.job, row.problem(phaseDeleting, reasonDeleteRefused))
}
