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

// Table names a table and its key schema.
type Table struct {
	Name         string
	PartitionKey string
	SortKey      string // empty when the table has no sort key
}

// Cond is a write condition. The zero Cond always holds.
type Cond struct {
	// Absent requires that no item with the key exists.
	Absent bool
	// If Attr is set, the stored item must exist and its attribute Attr
	// must equal Equals.
	Attr   string
	Equals attr.Value
}

// Page is one page of a Scan.
type Page struct {
	Items []attr.Item
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
		var n int
		switch v := v.(type) {
		case attr.S:
			n = len(v)
		case attr.B:
			n = len(v)
		case attr.N:
			n = 1
		default:
			return nil, fmt.Errorf("store: table %s: key attribute %q must be S, N or B", t.Name, name)
		}
		if n == 0 || n > limit {
			return nil, fmt.Errorf("store: table %s: key attribute %q must be 1 to %d bytes", t.Name, name, limit)
		}
		key[name] = v
	}
	return key, nil
}

// Check returns an error if c cannot be evaluated.
func (c Cond) Check() error {
	if c.Absent && c.Attr != "" {
		return errors.New("store: condition asks for an absent item and an attribute value")
	}
	if (c.Attr == "") != (c.Equals == nil) {
		return errors.New("store: a condition needs both an attribute name and a value")
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
