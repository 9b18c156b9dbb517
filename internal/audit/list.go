package audit

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/store"
)

// Filter selects entries. Each set field must equal the entry's; zero
// fields match every entry.
type Filter struct {
	Token, Action, Collection string
	Record                    string // a RecordID
	Outcome                   string
	Since, Until              time.Time // Since <= Time < Until
}

func (f *Filter) match(e *Entry) bool {
	return eqOrAny(f.Token, e.Token) && eqOrAny(f.Action, e.Action) &&
		eqOrAny(f.Collection, e.Collection) && eqOrAny(f.Record, e.Record) &&
		eqOrAny(f.Outcome, e.Outcome) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}

func eqOrAny(want, got string) bool { return want == "" || want == got }

// Bounds of List.
const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxListBatches is the most batches one List reads: a selective
	// filter returns early, with a cursor, rather than read the whole log.
	maxListBatches = 64
)

// List returns up to limit entries (default 100, at most 1000) that match
// f, from the oldest chain to the newest and in order within a chain,
// starting at cursor ("" for the start), and the cursor of the rest ("" when
// the log has no more). It reads at most 64 batches per call, so it may
// return fewer entries than limit, none even, with a cursor to go on from;
// a full page may be followed by an empty last one. A cursor not returned
// by List fails with an error matching ErrBadCursor. List does not check
// MACs: Verify does.
func (l *Log) List(ctx context.Context, f Filter, cursor string, limit int) ([]Entry, string, error) {
	pos, err := parseCursor(cursor)
	if err != nil {
		return nil, "", &fault.FieldError{Field: "query.cursor", Reason: "is not one returned by this endpoint", Err: err}
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	chains, err := listChains(ctx, l.db)
	if err != nil {
		return nil, "", err
	}
	ls := lister{db: l.db, chains: chains, f: &f, limit: limit}
	return ls.run(ctx, pos)
}

// lister is one List call.
type lister struct {
	db     Backend
	chains []string // sorted
	f      *Filter
	limit  int
	out    []Entry
}

// run reads entries from pos on.
func (ls *lister) run(ctx context.Context, pos position) ([]Entry, string, error) {
	i, found := slices.BinarySearch(ls.chains, pos.chain)
	if !found && i < len(ls.chains) {
		pos = position{chain: ls.chains[i]}
	}
	for reads := 0; i < len(ls.chains); reads++ {
		if reads == maxListBatches {
			return ls.out, pos.cursor(), nil
		}
		b, err := getBatch(ctx, ls.db, pos.chain, pos.batch)
		if errors.Is(err, store.ErrNotFound) {
			if i++; i < len(ls.chains) {
				pos = position{chain: ls.chains[i]}
			}
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("audit: chain %s batch %d: %w", pos.chain, pos.batch, err)
		}
		full, err := ls.collect(&b, &pos)
		if err != nil {
			return nil, "", err
		}
		if full {
			return ls.out, pos.cursor(), nil
		}
	}
	return ls.out, "", nil
}

// collect adds the matching entries of b from pos on, advancing pos, and
// reports whether the page is full.
func (ls *lister) collect(b *batch, pos *position) (bool, error) {
	for ; pos.index < uint64(len(b.entries)); pos.index++ {
		e, err := b.entries[pos.index].entry(b.chain)
		if err != nil {
			return false, fmt.Errorf("audit: chain %s batch %d: %w", b.chain, b.n, err)
		}
		if !ls.f.match(&e) {
			continue
		}
		ls.out = append(ls.out, e)
		if len(ls.out) == ls.limit {
			pos.index++
			return true, nil
		}
	}
	pos.batch++
	pos.index = 0
	return false, nil
}

// position is where List goes on: entry index of batch batch of chain.
type position struct {
	chain string
	batch uint64
	index uint64
}

// Cursor layout: a version byte, the chain id's length and bytes, the batch
// and the index, as unsigned varints; base64url without padding.
const (
	cursorVersion = 1
	maxCursorID   = 256
	maxCursorIdx  = 1 << 16
)

func (p position) cursor() string {
	b := []byte{cursorVersion}
	b = binary.AppendUvarint(b, uint64(len(p.chain)))
	b = append(b, p.chain...)
	b = binary.AppendUvarint(b, p.batch)
	b = binary.AppendUvarint(b, p.index)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseCursor accepts "" and what position.cursor returns, nothing else.
func parseCursor(s string) (position, error) {
	if s == "" {
		return position{}, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != cursorVersion {
		return position{}, ErrBadCursor
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxCursorID || uint64(len(b)-k) < n {
		return position{}, ErrBadCursor
	}
	p := position{chain: string(b[k : k+int(n)])}
	b = b[k+int(n):]
	if p.batch, k = binary.Uvarint(b); k <= 0 {
		return position{}, ErrBadCursor
	}
	b = b[k:]
	if p.index, k = binary.Uvarint(b); k <= 0 || k != len(b) || p.index >= maxCursorIdx {
		return position{}, ErrBadCursor
	}
	if !utf8.ValidString(p.chain) || p.cursor() != s {
		return position{}, ErrBadCursor
	}
	return p, nil
}
