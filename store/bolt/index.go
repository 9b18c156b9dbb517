package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// Secondary indexes. Each index of a table is a bucket whose keys are the
// indexed value (2-byte length, then the bytes) followed by the item's
// bucket key; the value is empty. The indexes of each table are recorded in
// indexesBucket (table name → JSON list) and are maintained in the same
// transaction as the item, whatever Table value a caller passes to Put.

var indexesBucket = []byte("sealstore/indexes")

func indexBucketName(table, index string) []byte {
	return []byte("i/" + table + "\x00" + index)
}

// tableIndexes returns the indexes recorded for table.
func tableIndexes(tx *bbolt.Tx, table string) ([]store.Index, error) {
	b := tx.Bucket(indexesBucket)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(table))
	if v == nil {
		return nil, nil
	}
	var ixs []store.Index
	if err := json.Unmarshal(v, &ixs); err != nil {
		return nil, fmt.Errorf("bolt: table %s: index list unreadable: %w", table, err)
	}
	return ixs, nil
}

// addIndexes records and fills the indexes of t that the table lacks. An
// index that exists over another attribute is an error.
func addIndexes(tx *bbolt.Tx, t store.Table) error {
	cur, err := tableIndexes(tx, t.Name)
	if err != nil {
		return err
	}
	added := false
	for _, ix := range t.Indexes {
		i := slices.IndexFunc(cur, func(c store.Index) bool { return c.Name == ix.Name })
		if i >= 0 {
			if cur[i].Attr != ix.Attr {
				return fmt.Errorf("bolt: table %s: index %s exists over another attribute", t.Name, ix.Name)
			}
			continue
		}
		if err := fillIndex(tx, t, ix); err != nil {
			return err
		}
		cur = append(cur, ix)
		added = true
	}
	if !added {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(indexesBucket)
	if err != nil {
		return err
	}
	v, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	return b.Put([]byte(t.Name), v)
}

// fillIndex creates index ix of t over the items already stored.
func fillIndex(tx *bbolt.Tx, t store.Table, ix store.Index) error {
	ib, err := tx.CreateBucketIfNotExists(indexBucketName(t.Name, ix.Name))
	if err != nil {
		return err
	}
	b, err := bucket(tx, t)
	if err != nil {
		return err
	}
	one := store.Table{Name: t.Name, Indexes: []store.Index{ix}}
	return b.ForEach(func(k, v []byte) error {
		it, err := decode(v)
		if err != nil {
			return err
		}
		vals, err := store.IndexValues(one, it)
		if err != nil || vals == nil {
			return nil // DynamoDB leaves such items out of a new index too
		}
		return ib.Put(indexKey(vals[ix.Name], k), nil)
	})
}

func indexPrefix(value string) []byte {
	p := binary.BigEndian.AppendUint16(nil, uint16(len(value)))
	return append(p, value...)
}

func indexKey(value string, k []byte) []byte {
	return append(indexPrefix(value), k...)
}

// reindex moves the index entries of the item at key k from the values of
// old to those of new (either may be nil).
func reindex(tx *bbolt.Tx, table string, ixs []store.Index, k []byte, old, new map[string]string) error {
	for _, ix := range ixs {
		ov, hadOld := old[ix.Name]
		nv, hasNew := new[ix.Name]
		if hadOld == hasNew && ov == nv {
			continue
		}
		ib := tx.Bucket(indexBucketName(table, ix.Name))
		if ib == nil {
			return fmt.Errorf("bolt: table %s: index %s missing", table, ix.Name)
		}
		if hadOld {
			if err := ib.Delete(indexKey(ov, k)); err != nil {
				return err
			}
		}
		if hasNew {
			if err := ib.Put(indexKey(nv, k), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// queryIndex reads up to limit items of index ix with value after cursor.
func queryIndex(tx *bbolt.Tx, t store.Table, ix store.Index, value string, cursor []byte, limit int) (store.Page, error) {
	var page store.Page
	b, err := bucket(tx, t)
	if err != nil {
		return page, err
	}
	ib := tx.Bucket(indexBucketName(t.Name, ix.Name))
	if ib == nil {
		return page, fmt.Errorf("bolt: table %s: index %s missing", t.Name, ix.Name)
	}
	prefix := indexPrefix(value)
	c := ib.Cursor()
	k, _ := c.Seek(prefix)
	if cursor != nil {
		if !bytes.HasPrefix(cursor, prefix) {
			return page, fmt.Errorf("bolt: table %s: the cursor is not from this query", t.Name)
		}
		k, _ = c.Seek(cursor)
		if bytes.Equal(k, cursor) {
			k, _ = c.Next()
		}
	}
	var last []byte
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(page.Items) == limit {
			page.Next = bytes.Clone(last)
			break
		}
		it, err := load(b, k[len(prefix):])
		if err != nil {
			return page, err
		}
		if it == nil {
			return page, fmt.Errorf("bolt: table %s: index %s points at a missing item", t.Name, ix.Name)
		}
		key, err := decodeKey(t, k[len(prefix):])
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, it)
		page.Keys = append(page.Keys, key)
		last = k
	}
	return page, nil
}

// indexValuesOf returns the values under which a stored item is indexed,
// by index. Each index is judged alone: an attribute that an index added
// later could not take (a number, say) keeps the item out of that index
// only, as fillIndex left it.
func indexValuesOf(ixs []store.Index, it attr.Item) map[string]string {
	if it == nil {
		return nil
	}
	vals := map[string]string{}
	for _, ix := range ixs {
		v, err := store.IndexValues(store.Table{Indexes: []store.Index{ix}}, it)
		if err == nil && v != nil {
			vals[ix.Name] = v[ix.Name]
		}
	}
	return vals
}
