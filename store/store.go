// Package store is sealstore's storage contract: tables of DynamoDB items
// addressed by a partition key and an optional sort key, with conditional
// writes. Backends (store/bolt, and DynamoDB) implement Store; the shared
// suite in store/storetest checks that they behave alike.
//
// A Store only ever sees items that are already encrypted and signed: it
// never holds a readable secret and never needs a key.
package store

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
)

// Errors a Store returns; callers branch on them with errors.Is.
var (
	// ErrNotFound: no item has the key.
	ErrNotFound = errors.New("store: item not found")
	// ErrConflict: a write's condition did not hold; nothing was written.
	ErrConflict = errors.New("store: condition failed")
	// ErrTooLarge: the item is over MaxItemSize; nothing was written.
	ErrTooLarge = errors.New("store: item too large")
	// ErrUnavailable: the backend cannot be reached or is failing; the
	// operation may be retried later.
	ErrUnavailable = errors.New("store: unavailable")
)

// MaxItemSize is DynamoDB's item size limit, which every backend applies so
// that an item accepted by one store fits in the other.
const MaxItemSize = 400 * 1024

// DynamoDB's key length limits, which every backend applies.
const (
	maxPartitionKeyLen = 2048
	maxSortKeyLen      = 1024
)

// KeyType is the DynamoDB type of a key attribute: S, N or B.
type KeyType string

// Key types. The zero KeyType means KeyS.
const (
	KeyS KeyType = "S"
	KeyN KeyType = "N"
	KeyB KeyType = "B"
)

// Table names a table, its key schema and its indexes.
type Table struct {
	Name         string
	PartitionKey string
	SortKey      string // empty when the table has no sort key
	// PartitionType and SortType are the key attributes' types; the zero
	// value is KeyS.
	PartitionType, SortType KeyType
	// Indexes are secondary indexes that Query reads.
	Indexes []Index
}

// Index is a secondary index over one attribute of type S (a DynamoDB
// global secondary index projecting every attribute). An item without the
// attribute is not in the index.
type Index struct {
	Name string
	Attr string
}

// Index returns the index of t named name.
func (t Table) Index(name string) (Index, bool) {
	for _, ix := range t.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return Index{}, false
}

// Validate checks the table's description.
func (t Table) Validate() error {
	if t.Name == "" || t.PartitionKey == "" {
		return errors.New("store: a table needs a name and a partition key")
	}
	if t.SortKey == t.PartitionKey {
		return fmt.Errorf("store: table %s: the sort key must differ from the partition key", t.Name)
	}
	for _, k := range []KeyType{t.PartitionType, t.SortType} {
		if k := k.Type(); k != KeyS && k != KeyN && k != KeyB {
			return fmt.Errorf("store: table %s: key type %q is not S, N or B", t.Name, k)
		}
	}
	seen := map[string]bool{}
	for _, ix := range t.Indexes {
		if ix.Name == "" || ix.Attr == "" || seen[ix.Name] {
			return fmt.Errorf("store: table %s: every index needs a unique name and an attribute", t.Name)
		}
		if ix.Attr == t.PartitionKey || ix.Attr == t.SortKey {
			return fmt.Errorf("store: table %s: index %s is over a key attribute", t.Name, ix.Name)
		}
		seen[ix.Name] = true
	}
	return nil
}

// MaxIndexValueLen is DynamoDB's limit on an index key value.
const MaxIndexValueLen = 2048

// IndexValues returns the values of it's indexed attributes, by index name,
// or an error if one is not a non-empty S of at most MaxIndexValueLen bytes
// (DynamoDB refuses such items). Items lacking an attribute are simply not
// in its index.
func IndexValues(t Table, it attr.Item) (map[string]string, error) {
	var out map[string]string
	for _, ix := range t.Indexes {
		v, ok := it[ix.Attr]
		if !ok {
			continue
		}
		s, ok := v.(attr.S)
		if !ok || len(s) == 0 || len(s) > MaxIndexValueLen || !utf8.ValidString(string(s)) {
			return nil, fmt.Errorf("store: table %s: indexed attribute %q must be a string of 1 to %d bytes", t.Name, ix.Attr, MaxIndexValueLen)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[ix.Name] = string(s)
	}
	return out, nil
}

// Type returns k, or KeyS for the zero KeyType.
func (k KeyType) Type() KeyType {
	if k == "" {
		return KeyS
	}
	return k
}

// Cond is a write condition. The zero Cond always holds.
type Cond struct {
	// Absent requires that no item with the key exists.
	Absent bool
	// If Attr is set, the stored item must exist and its attribute Attr
	// must equal Equals, which must be an S, N or B value.
	Attr   string
	Equals attr.Value
}

// Page is one page of a Scan.
type Page struct {
	Items []attr.Item
	// Keys, when not nil, holds the key each item is stored under
	// (Keys[i] for Items[i]), read from where the backend keeps it: a
	// caller that trusts an item only at its key must check that the item
	// is the one its key names, since the backend's file may have been
	// edited. Nil: each item is stored under its own key attributes, as in
	// DynamoDB, where nothing else names it. Otherwise as long as Items.
	Keys []attr.Item
	// Next is an opaque cursor for the following page, nil after the last.
	Next []byte
}

// Store is the storage contract. Implementations are safe for concurrent
// use; a nil error from Put or Delete means the change is durable.
type Store interface {
	// CreateTable creates t if it does not exist; creating an existing table
	// with the same key schema is not an error.
	CreateTable(ctx context.Context, t Table) error
	// Get returns the item with the key attributes of key, or ErrNotFound.
	Get(ctx context.Context, t Table, key attr.Item) (attr.Item, error)
	// Put writes it, replacing any item with the same key, if c holds;
	// otherwise ErrConflict. Over MaxItemSize: ErrTooLarge.
	Put(ctx context.Context, t Table, it attr.Item, c Cond) error
	// Delete removes the item with the key of key if c holds; otherwise
	// ErrConflict. Deleting a missing item with the zero Cond is not an
	// error.
	Delete(ctx context.Context, t Table, key attr.Item, c Cond) error
	// Scan returns up to limit items (limit <= 0: a backend default)
	// starting at cursor (nil: the start of the table), in no particular
	// order. A cursor from one table is not valid for another.
	Scan(ctx context.Context, t Table, cursor []byte, limit int) (Page, error)
	// Query returns up to limit items whose attribute indexed by index
	// equals value, starting at cursor, like Scan. Index reads may lag
	// behind writes (DynamoDB's global secondary indexes are eventually
	// consistent): callers re-check what they read.
	Query(ctx context.Context, t Table, index string, value string, cursor []byte, limit int) (Page, error)
}

// KeyOf returns the key attributes of it under t's key schema, or an error
// naming the missing key attribute. Key values must be S, N or B, as in
// DynamoDB.
func KeyOf(t Table, it attr.Item) (attr.Item, error) {
	key := attr.Item{}
	for _, name := range []string{t.PartitionKey, t.SortKey} {
		if name == "" {
			continue
		}
		v, ok := it[name]
		if !ok {
			return nil, fmt.Errorf("store: table %s: item has no key attribute %q", t.Name, name)
		}
		limit := maxPartitionKeyLen
		if name == t.SortKey {
			limit = maxSortKeyLen
		}
		want := t.PartitionType.Type()
		if name == t.SortKey {
			want = t.SortType.Type()
		}
		if typeOf(v) != want {
			return nil, fmt.Errorf("store: table %s: key attribute %q must be of type %s", t.Name, name, want)
		}
		n := 1 // a number's length is checked when it is parsed
		switch v := v.(type) {
		case attr.S:
			if !utf8.ValidString(string(v)) {
				return nil, fmt.Errorf("store: table %s: key attribute %q is not valid UTF-8", t.Name, name)
			}
			n = len(v)
		case attr.B:
			n = len(v)
		}
		if n == 0 || n > limit {
			return nil, fmt.Errorf("store: table %s: key attribute %q must be 1 to %d bytes", t.Name, name, limit)
		}
		key[name] = v
	}
	return key, nil
}

func typeOf(v attr.Value) KeyType {
	switch v.(type) {
	case attr.S:
		return KeyS
	case attr.N:
		return KeyN
	case attr.B:
		return KeyB
	}
	return ""
}

// Check returns an error if c cannot be evaluated.
func (c Cond) Check() error {
	if c.Absent && c.Attr != "" {
		return errors.New("store: condition asks for an absent item and an attribute value")
	}
	if (c.Attr == "") != (c.Equals == nil) {
		return errors.New("store: a condition needs both an attribute name and a value")
	}
	if c.Equals != nil && typeOf(c.Equals) == "" {
		return errors.New("store: a condition compares an S, N or B value")
	}
	return nil
}

// Holds reports whether c holds for the stored item cur (nil: no item).
func (c Cond) Holds(cur attr.Item) bool {
	switch {
	case c.Absent:
		return cur == nil
	case c.Attr != "":
		v, ok := cur[c.Attr]
		return ok && attr.Equal(v, c.Equals)
	}
	return true
}
