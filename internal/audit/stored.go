package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// The tables: batches of entries by chain and batch number, and one row per
// chain so that chains are listed without reading the batches.
var (
	batchTable = store.Table{
		Name: "sealstore_audit", PartitionKey: attrChain, SortKey: attrSeq, SortType: store.KeyN,
	}
	chainTable = store.Table{Name: "sealstore_audit_chains", PartitionKey: attrChain}
)

// Tables returns the tables the audit log uses, for 'sealstore init' to
// create.
func Tables() []store.Table { return []store.Table{batchTable, chainTable} }

// Attribute names of stored items.
const (
	attrChain   = "chain"
	attrSeq     = "seq" // a batch's number; an entry's position in its chain
	attrEntries = "entries"
	attrMAC     = "mac"
	attrStarted = "started"

	attrTime       = "time"
	attrToken      = "token"
	attrAction     = "action"
	attrCollection = "collection"
	attrRecord     = "record"
	attrOutcome    = "outcome"
	attrDetail     = "detail"
	// Since format 2: the record's entity tag, the request id and the
	// client's address, and the format itself.
	attrETag    = "etag"
	attrRequest = "request"
	attrClient  = "client"
	attrFormat  = "v"
)

// Entry formats. Format 1 (no attrFormat) is what releases before the
// ETag wrote; its MAC covers fewer fields. Both verify; new entries are
// format 2.
const (
	format1 = 1
	format2 = 2
)

// Sizes, as store.ItemSize counts them, that keep a batch well under
// store.MaxItemSize: entryOverhead bounds what an entry adds beyond its
// strings, batchOverhead what a batch adds beyond its entries.
const (
	entryOverhead = 160
	batchOverhead = 256
	batchBudget   = 256 << 10
)

// sealed is an entry as stored, its fields exactly as its MAC covers them.
type sealed struct {
	format                                                   int
	seq                                                      uint64
	time, token, action, collection, record, outcome, detail string
	etag, request, client                                    string // format 2
	mac                                                      []byte
}

func sealEntry(e *Entry) sealed {
	return sealed{
		format: format2, time: e.Time.UTC().Format(time.RFC3339Nano), token: e.Token, action: e.Action,
		collection: e.Collection, record: e.Record, outcome: e.Outcome, detail: e.Detail,
		etag: e.ETag, request: e.RequestID, client: e.Client,
	}
}

// size bounds what s adds to a batch item.
func (s *sealed) size() int {
	return entryOverhead + len(s.time) + len(s.token) + len(s.action) +
		len(s.collection) + len(s.record) + len(s.outcome) + len(s.detail) +
		len(s.etag) + len(s.request) + len(s.client)
}

func (s *sealed) value() attr.M {
	m := attr.M{
		attrSeq: number(s.seq), attrTime: attr.S(s.time), attrToken: attr.S(s.token),
		attrAction: attr.S(s.action), attrCollection: attr.S(s.collection),
		attrRecord: attr.S(s.record), attrOutcome: attr.S(s.outcome), attrDetail: attr.S(s.detail), attrMAC: attr.B(s.mac),
	}
	if s.format == format2 {
		m[attrFormat] = number(format2)
		m[attrETag], m[attrRequest], m[attrClient] = attr.S(s.etag), attr.S(s.request), attr.S(s.client)
	}
	return m
}

// entry returns s as an Entry of chain.
func (s *sealed) entry(chain string) (Entry, error) {
	t, err := time.Parse(time.RFC3339Nano, s.time)
	if err != nil {
		return Entry{}, errMalformed
	}
	return Entry{
		Time: t.UTC(), Token: s.token, Action: s.action, Collection: s.collection,
		Record: s.record, Outcome: s.outcome, Detail: s.detail, ETag: s.etag, RequestID: s.request, Client: s.client,
		Chain: chain, Seq: s.seq,
	}, nil
}

// errMalformed: a stored item is not in the shape this package writes.
var errMalformed = errors.New("malformed")

func number(n uint64) attr.N { return attr.N(strconv.FormatUint(n, 10)) }

func parseNumber(v attr.Value) (uint64, error) {
	n, ok := v.(attr.N)
	if !ok {
		return 0, errMalformed
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return 0, errMalformed
	}
	return u, nil
}

func parseSealed(v attr.Value) (sealed, error) {
	m, ok := v.(attr.M)
	if !ok {
		return sealed{}, errMalformed
	}
	s := sealed{format: format1}
	var err error
	if s.seq, err = parseNumber(m[attrSeq]); err != nil {
		return sealed{}, err
	}
	strs := []struct {
		name string
		dst  *string
	}{
		{attrTime, &s.time}, {attrToken, &s.token}, {attrAction, &s.action},
		{attrCollection, &s.collection}, {attrRecord, &s.record}, {attrOutcome, &s.outcome},
		{attrDetail, &s.detail},
	}
	if v, ok := m[attrFormat]; ok {
		if f, err := parseNumber(v); err != nil || f != format2 {
			return sealed{}, errMalformed
		}
		s.format = format2
		strs = append(strs, []struct {
			name string
			dst  *string
		}{{attrETag, &s.etag}, {attrRequest, &s.request}, {attrClient, &s.client}}...)
	}
	for _, f := range strs {
		v, ok := m[f.name].(attr.S)
		if !ok {
			return sealed{}, errMalformed
		}
		*f.dst = string(v)
	}
	mac, ok := m[attrMAC].(attr.B)
	if !ok {
		return sealed{}, errMalformed
	}
	s.mac = mac
	return s, nil
}

// batch is one stored batch item.
type batch struct {
	chain   string
	n       uint64
	entries []sealed
	mac     []byte
}

func (b *batch) item() attr.Item {
	list := make(attr.L, len(b.entries))
	for i := range b.entries {
		list[i] = b.entries[i].value()
	}
	return attr.Item{
		attrChain: attr.S(b.chain), attrSeq: number(b.n), attrEntries: list, attrMAC: attr.B(b.mac),
	}
}

// parseBatch reads a batch item. It refuses an item with no entries.
func parseBatch(it attr.Item) (batch, error) {
	chain, ok := it[attrChain].(attr.S)
	list, lok := it[attrEntries].(attr.L)
	mac, mok := it[attrMAC].(attr.B)
	if !ok || !lok || !mok || len(list) == 0 {
		return batch{}, errMalformed
	}
	n, err := parseNumber(it[attrSeq])
	if err != nil {
		return batch{}, err
	}
	b := batch{chain: string(chain), n: n, mac: mac, entries: make([]sealed, len(list))}
	for i, v := range list {
		if b.entries[i], err = parseSealed(v); err != nil {
			return batch{}, err
		}
	}
	return b, nil
}

func batchKey(chain string, n uint64) attr.Item {
	return attr.Item{attrChain: attr.S(chain), attrSeq: number(n)}
}

// getBatch reads batch n of chain: store.ErrNotFound if there is none,
// an error matching errMalformed if it is not a batch.
func getBatch(ctx context.Context, db Backend, chain string, n uint64) (batch, error) {
	it, err := db.Get(ctx, batchTable, batchKey(chain, n))
	if err != nil {
		return batch{}, err
	}
	return parseBatch(it)
}

func chainRow(id string, started time.Time) attr.Item {
	return attr.Item{attrChain: attr.S(id), attrStarted: attr.S(started.UTC().Format(time.RFC3339Nano))}
}

// scanPage is the page size of Scans; batch items run to a few hundred KB.
const scanPage = 16

// scan calls fn with every item of t.
func scan(ctx context.Context, db Backend, t store.Table, fn func(attr.Item) error) error {
	var cursor []byte
	for {
		p, err := db.Scan(ctx, t, cursor, scanPage)
		if err != nil {
			return fmt.Errorf("audit: scan %s: %w", t.Name, err)
		}
		for _, it := range p.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if p.Next == nil {
			return nil
		}
		cursor = p.Next
	}
}

// listChains returns the ids in the chains table, oldest first (an id
// starts with its chain's start time).
func listChains(ctx context.Context, db Backend) ([]string, error) {
	var ids []string
	err := scan(ctx, db, chainTable, func(it attr.Item) error {
		id, ok := it[attrChain].(attr.S)
		if !ok {
			return fmt.Errorf("audit: chains table: %w row", errMalformed)
		}
		ids = append(ids, string(id))
		return nil
	})
	slices.Sort(ids)
	return ids, err
}
