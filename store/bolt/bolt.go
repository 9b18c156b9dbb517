// Package bolt is the embedded store: a store.Store in one bbolt file.
//
// Each table is a bucket; an item is kept as its DB-ESDK typed
// serialization (a map value) under a key built from its key attributes.
// Writes are group-committed: concurrent Puts and Deletes share one
// transaction and one fsync, and each returns only after that fsync, so a
// nil error means the write survives a crash.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("bolt: database is in use by another process (is a sealstore server running on this data directory?)")

// DefaultScanLimit is the page size of a Scan that asks for none.
const DefaultScanLimit = 100

var tablesBucket = []byte("sealstore/tables")

// Store is a store.Store over one bbolt database.
type Store struct {
	db      *bbolt.DB
	batches *batcher
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database at path (mode 0600). It waits at most
// lockWait for another process to release the file, then fails with
// ErrLocked.
func Open(path string, lockWait time.Duration) (*Store, error) {
	if lockWait <= 0 {
		lockWait = time.Millisecond
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockWait})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(tablesBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db, batches: &batcher{db: db}}, nil
}

// Close waits for the commit in progress and closes the database; writes
// still queued then fail with store.ErrUnavailable.
func (s *Store) Close() error { return s.db.Close() }

// view runs a read transaction; a closed database is store.ErrUnavailable.
func (s *Store) view(fn func(*bbolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("bolt: %w: %w", store.ErrUnavailable, err)
	}
	return err
}

// Ping reports whether the database can be read.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.view(func(tx *bbolt.Tx) error {
		if tx.Bucket(tablesBucket) == nil {
			return fmt.Errorf("bolt: %w: table list missing", store.ErrUnavailable)
		}
		return nil
	})
}

// probeBucket holds the one item Ready writes to learn whether commits
// work again.
var probeBucket = []byte("sealstore/probe")

// Ready reports whether writes can be committed: nil unless the last
// commit failed (a full disk, say); then it commits a probe (a counter in
// a bucket of its own, through the same group commit), and is nil again
// once that works, without a reopen.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if s.batches.lastError() == nil {
		return nil
	}
	return s.batches.do(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(probeBucket)
		if err != nil {
			return err
		}
		return b.Put([]byte("probe"), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	})
}

// CreateTable implements store.Store. Indexes that an existing table
// lacks are added and filled from its items.
func (s *Store) CreateTable(ctx context.Context, t store.Table) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	schema := schemaOf(t)
	return s.batches.do(func(tx *bbolt.Tx) error {
		tables := tx.Bucket(tablesBucket)
		if cur := tables.Get([]byte(t.Name)); cur != nil {
			if !bytes.Equal(withKeyTypes(cur), schema) {
				return fmt.Errorf("bolt: table %s exists with another key schema", t.Name)
			}
			return addIndexes(tx, t)
		}
		if _, err := tx.CreateBucketIfNotExists(bucketName(t.Name)); err != nil {
			return err
		}
		if err := tables.Put([]byte(t.Name), schema); err != nil {
			return err
		}
		return addIndexes(tx, t)
	})
}

// schemaOf is how the tables bucket records t's key schema: the key
// attribute names and types.
func schemaOf(t store.Table) []byte {
	return []byte(t.PartitionKey + "\x00" + t.SortKey + "\x00" + string(t.PartitionType.Type()) + "\x00" + string(t.SortType.Type()))
}

// withKeyTypes completes a schema recorded before key types were (every
// such table had string keys).
func withKeyTypes(schema []byte) []byte {
	if bytes.Count(schema, []byte{0}) == 1 {
		return append(bytes.Clone(schema), "\x00S\x00S"...)
	}
	return schema
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := encodeKey(t, key)
	if err != nil {
		return nil, err
	}
	var it attr.Item
	err = s.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, t)
		if err != nil {
			return err
		}
		it, err = load(b, k)
		return err
	})
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, store.ErrNotFound
	}
	return it, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	if store.ItemSize(it) > store.MaxItemSize {
		return store.ErrTooLarge
	}
	if err := store.CheckItem(it); err != nil {
		return err
	}
	k, err := encodeKey(t, it)
	if err != nil {
		return err
	}
	v, err := attr.MarshalTyped(attr.M(it))
	if err != nil {
		return fmt.Errorf("bolt: table %s: %w", t.Name, err)
	}
	return s.write(t, k, c, it, v)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, t store.Table, key attr.Item, c store.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Check(); err != nil {
		return err
	}
	k, err := encodeKey(t, key)
	if err != nil {
		return err
	}
	return s.write(t, k, c, nil, nil)
}

// write puts it (encoded as v), or deletes the item when it is nil, at key
// k of t in the next group commit, if c holds there, and keeps the table's
// indexes in step. Every check comes before the first change, so a failed
// write changes nothing in the shared transaction.
func (s *Store) write(t store.Table, k []byte, c store.Cond, it attr.Item, v []byte) error {
	return s.batches.do(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, t)
		if err != nil {
			return err
		}
		ixs, err := tableIndexes(tx, t.Name)
		if err != nil {
			return err
		}
		var cur attr.Item
		if c != (store.Cond{}) || len(ixs) > 0 {
			if cur, err = load(b, k); err != nil {
				return err
			}
		}
		if !c.Holds(cur) {
			return store.ErrConflict
		}
		var vals map[string]string
		if it != nil {
			if vals, err = store.IndexValues(store.Table{Name: t.Name, Indexes: ixs}, it); err != nil {
				return err
			}
		}
		if err := reindex(tx, t.Name, ixs, k, indexValuesOf(ixs, cur), vals); err != nil {
			return err
		}
		if it == nil {
			return b.Delete(k)
		}
		return b.Put(k, v)
	})
}

// Scan implements store.Store. The cursor is the last key returned.
func (s *Store) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	var page store.Page
	err := s.view(func(tx *bbolt.Tx) error {
		b, err := bucket(tx, t)
		if err != nil {
			return err
		}
		c := b.Cursor()
		k, v := c.First()
		if cursor != nil {
			k, v = c.Seek(cursor)
			if bytes.Equal(k, cursor) {
				k, v = c.Next()
			}
		}
		var last []byte
		for ; k != nil; k, v = c.Next() {
			if len(page.Items) == limit {
				page.Next = bytes.Clone(last)
				break
			}
			it, err := decode(v)
			if err != nil {
				return err
			}
			key, err := decodeKey(t, k)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, it)
			page.Keys = append(page.Keys, key)
			last = k
		}
		return nil
	})
	return page, err
}

// Query implements store.Store. The cursor is the last index key returned.
func (s *Store) Query(ctx context.Context, t store.Table, index, value string, cursor []byte, limit int) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = DefaultScanLimit
	}
	if err := store.CheckIndexValue(t, value); err != nil {
		return store.Page{}, err
	}
	var page store.Page
	err := s.view(func(tx *bbolt.Tx) error {
		ixs, err := tableIndexes(tx, t.Name)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ixs, func(ix store.Index) bool { return ix.Name == index })
		if i < 0 {
			return fmt.Errorf("bolt: table %s has no index %q", t.Name, index)
		}
		page, err = queryIndex(tx, t, ixs[i], value, cursor, limit)
		return err
	})
	return page, err
}
