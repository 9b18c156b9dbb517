package journal

import (
	"strconv"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// A journal keeps in memory where each item is, and nothing else: about
// 16 bytes an item for keys whose numeric sort key counts up by one
// within its partition (the audit trail's batches), a map entry with the
// key for the others.

// slot is where an item is: the index of its segment in Journal.segs,
// its offset and its length (a segment is at most maxRecord bytes).
type slot struct{ seg, off, n uint32 }

// table is what the journal knows of one table.
type table struct {
	t     store.Table
	order []slot            // the items, in the order first written: Scan's order
	keys  map[string]uint32 // the index in order of each key outside a run
	runs  map[string]*run   // by partition key value
}

// run is a partition's items with sort keys first, first+1, …: at[i] is
// the index in order of the item with sort key first+i.
type run struct {
	first uint64
	at    []uint32
}

func newTable(t store.Table) *table {
	return &table{t: t, keys: map[string]uint32{}, runs: map[string]*run{}}
}

// runOf returns the partition and number of a key of two attributes, a
// string and a number that is a uint64 (a table's key schema need not be
// known: the journal indexes records before their table is named).
func runOf(key attr.Item) (string, uint64, bool) {
	if len(key) != 2 {
		return "", 0, false
	}
	var part string
	var num uint64
	var okS, okN bool
	for name, v := range key {
		switch v := v.(type) {
		case attr.S:
			part, okS = name+"\x00"+string(v), true
		case attr.N:
			n, err := strconv.ParseUint(string(v), 10, 64)
			num, okN = n, err == nil && strconv.FormatUint(n, 10) == string(v)
		}
	}
	return part, num, okS && okN
}

// lookup returns the index in order of key's item.
func (tb *table) lookup(key attr.Item) (uint32, bool, error) {
	if part, n, ok := runOf(key); ok {
		if r := tb.runs[part]; r != nil && n >= r.first && n-r.first < uint64(len(r.at)) {
			return r.at[n-r.first], true, nil
		}
	}
	if len(tb.keys) == 0 {
		return 0, false, nil
	}
	rk, err := rawKey(key)
	if err != nil {
		return 0, false, err
	}
	i, ok := tb.keys[rk]
	return i, ok, nil
}

// set records that key's item is at s: where it was first written, in
// Scan's order, if the key was held already.
func (tb *table) set(key attr.Item, s slot) error {
	i, held, err := tb.lookup(key)
	if err != nil {
		return err
	}
	if held {
		tb.order[i] = s
		return nil
	}
	i = uint32(len(tb.order))
	tb.order = append(tb.order, s)
	if part, n, ok := runOf(key); ok {
		r := tb.runs[part]
		if r == nil {
			r = &run{first: n}
			tb.runs[part] = r
		}
		if n == r.first+uint64(len(r.at)) {
			r.at = append(r.at, i)
			return nil
		}
	}
	rk, err := rawKey(key)
	if err != nil {
		return err
	}
	tb.keys[rk] = i
	return nil
}
