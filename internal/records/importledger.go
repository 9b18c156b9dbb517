package records

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// ledgerTable holds, per import job, a row per source item the job has
// reached: what became of it, a keyed digest of the source item as it was
// imported, a MAC of the record it became and its problem if it has one
// (only those rows have the attribute "problem", so the index lists a
// job's problems alone). The verify and delete passes compare the source
// and sealstore against it, so that an item whose source is unchanged is
// verified without decrypting it again.
var ledgerTable = store.Table{Name: "sealstore_import_items", PartitionKey: "job", SortKey: "item",
	Indexes: []store.Index{{Name: "problems", Attr: "problem"}}}

// What became of a source item.
const (
	stateImported = "imported" // in sealstore: written, or found there identical
	stateConflict = "conflict" // another record is in sealstore under its key
	stateFailed   = "failed"   // it cannot be imported
	stateAbsent   = "absent"   // seen only after the import pass: not imported
)

// ledgerRow is what an import knows of one source item.
type ledgerRow struct {
	item       string // hex SHA-256 of the source key's serialization
	key        string // the source key as a JSON document
	id, sort   string // the record's key in sealstore
	state      string
	recognised bool   // found in sealstore identical, not written
	digest     []byte // of the source item as imported (or as last verified)
	mac        []byte // of the record document imported
	etag       string
	phase      string // of its problem, if any
	reason     string
}

func (r ledgerRow) encode(job string) attr.Item {
	it := attr.Item{"job": attr.S(job), "item": attr.S(r.item), "key": attr.S(r.key), "state": attr.S(r.state),
		"recognised": attr.Bool(r.recognised)}
	for name, v := range map[string]string{"rid": r.id, "rsort": r.sort, "etag": r.etag, "phase": r.phase, "reason": r.reason} {
		if v != "" {
			it[name] = attr.S(v)
		}
	}
	for name, v := range map[string][]byte{"digest": r.digest, "mac": r.mac} {
		if len(v) > 0 {
			it[name] = attr.B(v)
		}
	}
	if r.reason != "" {
		it["problem"] = attr.S(job)
	}
	return it
}

func decodeLedgerRow(it attr.Item) ledgerRow {
	str := func(name string) string { s, _ := it[name].(attr.S); return string(s) }
	bin := func(name string) []byte { b, _ := it[name].(attr.B); return b }
	rec, _ := it["recognised"].(attr.Bool)
	return ledgerRow{item: str("item"), key: str("key"), id: str("rid"), sort: str("rsort"), state: str("state"),
		recognised: bool(rec), digest: bin("digest"), mac: bin("mac"), etag: str("etag"), phase: str("phase"), reason: str("reason")}
}

// problem returns r with the problem reason of phase.
func (r ledgerRow) problem(phase, reason string) ledgerRow {
	r.phase, r.reason = phase, reason
	return r
}

func (s *Service) putLedger(ctx context.Context, job string, r ledgerRow) error {
	if err := s.db.Put(ctx, ledgerTable, r.encode(job), store.Cond{}); err != nil {
		return fmt.Errorf("records: import ledger: %w", err)
	}
	return nil
}

// getLedger returns the row of item in job's ledger, or nil.
func (s *Service) getLedger(ctx context.Context, job, item string) (*ledgerRow, error) {
	it, err := s.db.Get(ctx, ledgerTable, attr.Item{"job": attr.S(job), "item": attr.S(item)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: import ledger: %w", err)
	}
	r := decodeLedgerRow(it)
	return &r, nil
}

// ledgerKeys are an import's keyed digests, under a key derived from the
// collection's beacon key: the database alone can neither forge them nor
// test a guessed secret against them, and every digest is bound to its
// job and item, so that equal secrets do not show.
type ledgerKeys struct {
	key []byte
	job string
}

func (k ledgerKeys) sum(kind string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(kind + "\x00" + k.job))
	for _, p := range parts {
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(p))))
		m.Write(p)
	}
	return m.Sum(nil)
}

// digest is the digest of a source item, every attribute of it. An item
// that has no serialization (a number out of range, nesting too deep)
// gets a random digest, which matches nothing: it is decoded again
// wherever it is compared.
func (k ledgerKeys) digest(it attr.Item) []byte {
	b, err := attr.MarshalTyped(attr.M(it))
	if err != nil {
		return secret.Random(sha256.Size).InsecureBytes()
	}
	return k.sum("source item", b)
}

// mac is the MAC of the record document the source item item became.
func (k ledgerKeys) mac(item string, doc attr.Item) []byte {
	b, err := attr.MarshalTyped(attr.M(doc))
	if err != nil {
		return nil
	}
	defer clear(b)
	return k.sum("record", []byte(item), b)
}

// sourceKeyOf returns the key attributes of a source item, its ledger
// item id and its JSON form (the key attributes are always there: the
// source table is keyed by them).
func sourceKeyOf(t store.Table, it attr.Item) (item, display string) {
	key := attr.Item{}
	for _, name := range []string{t.PartitionKey, t.SortKey} {
		if v, ok := it[name]; ok && name != "" {
			key[name] = v
		}
	}
	b, _ := attr.MarshalTyped(attr.M(key))
	sum := sha256.Sum256(b)
	doc, _ := MarshalDocument(key)
	return hex.EncodeToString(sum[:]), string(doc)
}

// ImportProblem is a source item an import did not import, verify or
// delete, and why.
type ImportProblem struct {
	Key    json.RawMessage `json:"key" doc:"The source item's key attributes, as a JSON object (binary values as {\"B\": base64})."`
	ID     string          `json:"id,omitempty" doc:"The record id in sealstore, once known."`
	Sort   string          `json:"sort,omitempty" doc:"The record's sort key value, in collections with one."`
	Phase  string          `json:"phase" enum:"importing,verifying,deleting"`
	Reason string          `json:"reason" doc:"A code; reasons lists them all with their meaning."`
}

// ImportProblems is a page of a job's problems.
type ImportProblems struct {
	Job      string          `json:"job"`
	Problems []ImportProblem `json:"problems"`
	Cursor   string          `json:"cursor,omitempty" doc:"Cursor of the next page; absent after the last."`
}

// MaxProblemsPage is the most problems a page holds.
const MaxProblemsPage = 1000

// ImportProblems lists, a page at a time, the problems of collection
// coll's import (its current or last job). The list is read from an index
// that may lag its writes by a moment on DynamoDB.
func (s *Service) ImportProblems(ctx context.Context, coll, cursor string, limit int) (ImportProblems, error) {
	job, err := s.ImportStatus(ctx, coll)
	if err != nil || job.ID == "" {
		return ImportProblems{Problems: []ImportProblem{}}, err
	}
	if limit <= 0 || limit > MaxProblemsPage {
		limit = 100
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return ImportProblems{}, &InvalidError{Field: "query.cursor", Reason: "is not a cursor of this listing"}
	}
	if len(raw) == 0 {
		raw = nil
	}
	page, err := s.db.Query(ctx, ledgerTable, "problems", job.ID, raw, limit)
	if err != nil && raw != nil && fault.KindOf(err) == fault.Internal {
		return ImportProblems{}, &InvalidError{Field: "query.cursor", Reason: "is not a cursor of this listing"}
	}
	if err != nil {
		return ImportProblems{}, fmt.Errorf("records: import problems: %w", err)
	}
	out := ImportProblems{Job: job.ID, Problems: make([]ImportProblem, 0, len(page.Items))}
	for _, it := range page.Items {
		r := decodeLedgerRow(it)
		out.Problems = append(out.Problems, ImportProblem{Key: json.RawMessage(r.key), ID: r.id, Sort: r.sort, Phase: r.phase, Reason: r.reason})
	}
	if page.Next != nil {
		out.Cursor = base64.RawURLEncoding.EncodeToString(page.Next)
	}
	return out, nil
}
