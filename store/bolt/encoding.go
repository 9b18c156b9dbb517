package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// errNoTable is returned for a table that CreateTable never made.
var errNoTable = errors.New("bolt: no such table")

func bucketName(table string) []byte { return []byte("t/" + table) }

func bucket(tx *bbolt.Tx, t store.Table) (*bbolt.Bucket, error) {
	b := tx.Bucket(bucketName(t.Name))
	if b == nil {
		return nil, fmt.Errorf("%w: %s", errNoTable, t.Name)
	}
	return b, nil
}

// encodeKey builds the bucket key of an item: the length of the typed
// partition key value (2 bytes), that value, then the typed sort key value.
func encodeKey(t store.Table, it attr.Item) ([]byte, error) {
	key, err := store.KeyOf(t, it)
	if err != nil {
		return nil, err
	}
	pk, err := attr.MarshalTyped(key[t.PartitionKey])
	if err != nil {
		return nil, err
	}
	if len(pk) > 0xFFFF {
		return nil, fmt.Errorf("bolt: table %s: partition key too long", t.Name)
	}
	k := binary.BigEndian.AppendUint16(nil, uint16(len(pk)))
	k = append(k, pk...)
	if t.SortKey != "" {
		sk, err := attr.MarshalTyped(key[t.SortKey])
		if err != nil {
			return nil, err
		}
		k = append(k, sk...)
	}
	if len(k) > bbolt.MaxKeySize {
		return nil, fmt.Errorf("bolt: table %s: key too long", t.Name)
	}
	return k, nil
}

// decodeKey is the key item of a key encodeKey made for t.
func decodeKey(t store.Table, k []byte) (attr.Item, error) {
	if len(k) < 2 || int(binary.BigEndian.Uint16(k)) > len(k)-2 {
		return nil, fmt.Errorf("bolt: table %s: malformed key", t.Name)
	}
	n := int(binary.BigEndian.Uint16(k))
	pk, err := attr.UnmarshalTyped(k[2 : 2+n])
	if err != nil {
		return nil, fmt.Errorf("bolt: table %s: malformed key: %w", t.Name, err)
	}
	key := attr.Item{t.PartitionKey: pk}
	if t.SortKey != "" {
		sk, err := attr.UnmarshalTyped(k[2+n:])
		if err != nil {
			return nil, fmt.Errorf("bolt: table %s: malformed key: %w", t.Name, err)
		}
		key[t.SortKey] = sk
	} else if len(k) != 2+n {
		return nil, fmt.Errorf("bolt: table %s: malformed key", t.Name)
	}
	return key, nil
}

func load(b *bbolt.Bucket, k []byte) (attr.Item, error) {
	v := b.Get(k)
	if v == nil {
		return nil, nil
	}
	return decode(v)
}

func decode(v []byte) (attr.Item, error) {
	val, err := attr.UnmarshalTyped(v)
	if err != nil {
		return nil, fmt.Errorf("bolt: stored item unreadable: %w", err)
	}
	m, ok := val.(attr.M)
	if !ok {
		return nil, errors.New("bolt: stored item is not a map")
	}
	return attr.Item(m), nil
}
