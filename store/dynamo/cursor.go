package dynamo

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/store"
)

// errCursor is returned for a cursor this table and query did not make.
var errCursor = errors.New("dynamo: the cursor is not from this table or query")

// encodeCursor serializes DynamoDB's last evaluated key.
func encodeCursor(last map[string]types.AttributeValue) ([]byte, error) {
	it, err := ddbav.FromItem(last)
	if err != nil {
		return nil, err
	}
	return attr.MarshalTyped(attr.M(it))
}

// decodeCursor parses a cursor into an exclusive start key, which must
// hold exactly t's key attributes (and indexAttr for a Query).
func decodeCursor(t store.Table, cursor []byte, indexAttr string) (map[string]types.AttributeValue, error) {
	if cursor == nil {
		return nil, nil
	}
	v, err := attr.UnmarshalTyped(cursor)
	if err != nil {
		return nil, errCursor
	}
	m, ok := v.(attr.M)
	if !ok {
		return nil, errCursor
	}
	it := attr.Item(m)
	key, err := store.KeyOf(t, it)
	if err != nil {
		return nil, errCursor
	}
	want := len(key)
	if indexAttr != "" {
		if _, ok := it[indexAttr].(attr.S); !ok {
			return nil, errCursor
		}
		want++
	}
	if len(it) != want {
		return nil, errCursor
	}
	return ddbav.ToItem(it)
}
