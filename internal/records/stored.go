package records

import (
	"context"
	"fmt"
)

// StoredRecord is a record as the store holds it, read without
// decrypting: its collection, key and entity tag.
type StoredRecord struct {
	Collection string
	Key        Key
	ETag       string
}

// EachStored calls fn with every stored record of every collection (the
// reference collection's too), collection by collection: what the audit
// trail's record check compares with the writes it recorded. An item
// whose key attributes are not a record key of its collection is passed
// with the key its store names (or, if none, an empty Key).
func (s *Service) EachStored(ctx context.Context, fn func(StoredRecord) error) error {
	es, err := s.cat.list(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		c, err := s.install(e, s.cached(e.info.Name))
		if err != nil {
			return err
		}
		if err := s.eachIn(ctx, c, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) eachIn(ctx context.Context, c *collection, fn func(StoredRecord) error) error {
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, c.table, cursor, 0)
		if err != nil {
			return fmt.Errorf("records: scan %s: %w", c.info.Name, err)
		}
		for i, it := range page.Items {
			key := it
			if page.Keys != nil {
				key = page.Keys[i]
			}
			r := StoredRecord{Collection: c.info.Name, ETag: etagOf(it)}
			if k, err := c.keyOfStored(key); err == nil {
				r.Key = c.keyFrom(k)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		cursor = page.Next
	}
}
