package dynamo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/store"
)

// Tables sealstore does not own (the source of an import) are read with
// Scan and Get like any other, once KeySchema has said how they are
// keyed, and their items are deleted only with DeleteUnchanged.

// KeySchema returns how the existing table name (after the prefix) is
// keyed: a store.Table with its key attributes and their types, and no
// indexes. A missing table is store.ErrNotFound.
func (s *Store) KeySchema(ctx context.Context, name string) (store.Table, error) {
	t := store.Table{Name: name}
	desc, err := s.describe(ctx, t)
	if err != nil {
		return store.Table{}, err
	}
	if desc == nil {
		return store.Table{}, fmt.Errorf("dynamo: table %s: %w", s.TableName(t), store.ErrNotFound)
	}
	kinds := map[string]store.KeyType{}
	for _, d := range desc.AttributeDefinitions {
		kinds[aws.ToString(d.AttributeName)] = store.KeyType(d.AttributeType)
	}
	for _, k := range desc.KeySchema {
		name := aws.ToString(k.AttributeName)
		switch k.KeyType {
		case "HASH":
			t.PartitionKey, t.PartitionType = name, kinds[name]
		case "RANGE":
			t.SortKey, t.SortType = name, kinds[name]
		}
	}
	if err := t.Validate(); err != nil {
		return store.Table{}, fmt.Errorf("dynamo: table %s: unexpected key schema: %w", s.TableName(t), err)
	}
	return t, nil
}

// maxConditionLen is DynamoDB's limit on an expression's length.
const maxConditionLen = 4096

// DeleteUnchanged deletes the item stored under the key of it (t's key
// schema) if every attribute of it is still stored with the value it has
// in it: otherwise, or if the item is gone, store.ErrConflict and nothing
// is deleted. An attribute added to the stored item since it was read is
// not seen (a condition checks only the attributes it names).
func (s *Store) DeleteUnchanged(ctx context.Context, t store.Table, it attr.Item) error {
	k, err := s.key(t, it)
	if err != nil {
		return err
	}
	expr, names, values, err := unchangedCondition(t, it)
	if err != nil {
		return err
	}
	_, err = s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.TableName(t)), Key: k,
		ConditionExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	return s.fail(t, "DeleteItem", err)
}

// unchangedCondition is the condition "the item exists and every
// non-key attribute of it has its value in it". Lists and maps are
// compared element by element (their type, their size, then each element
// or member), which DynamoDB and its emulators evaluate alike.
func unchangedCondition(t store.Table, it attr.Item) (string, map[string]string, map[string]types.AttributeValue, error) {
	c := &condBuilder{names: map[string]string{"#k": t.PartitionKey}, values: map[string]types.AttributeValue{}}
	c.b.WriteString("attribute_exists(#k)")
	attrs := make([]string, 0, len(it))
	for name := range it {
		if name != t.PartitionKey && name != t.SortKey {
			attrs = append(attrs, name)
		}
	}
	sort.Strings(attrs)
	for _, name := range attrs {
		if err := c.equal(c.name(name), it[name]); err != nil {
			return "", nil, nil, err
		}
	}
	if c.b.Len() > maxConditionLen {
		return "", nil, nil, fmt.Errorf("dynamo: table %s: an item this large cannot be compared in one condition", t.Name)
	}
	if len(c.values) == 0 {
		c.values = nil
	}
	return c.b.String(), c.names, c.values, nil
}

// condBuilder builds a condition expression.
type condBuilder struct {
	b      strings.Builder
	names  map[string]string
	values map[string]types.AttributeValue
}

// name returns the placeholder of an attribute or member name.
func (c *condBuilder) name(n string) string {
	p := "#n" + strconv.Itoa(len(c.names))
	c.names[p] = n
	return p
}

// value returns the placeholder of v.
func (c *condBuilder) value(v types.AttributeValue) string {
	p := ":v" + strconv.Itoa(len(c.values))
	c.values[p] = v
	return p
}

// equal adds "the value at path is v".
func (c *condBuilder) equal(path string, v attr.Value) error {
	if c.b.Len() > maxConditionLen {
		return nil // too long already: the caller refuses it
	}
	switch v := v.(type) {
	case attr.L:
		c.shape(path, "L", len(v))
		for i, e := range v {
			if err := c.equal(path+"["+strconv.Itoa(i)+"]", e); err != nil {
				return err
			}
		}
		return nil
	case attr.M:
		c.shape(path, "M", len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := c.equal(path+"."+c.name(k), v[k]); err != nil {
				return err
			}
		}
		return nil
	}
	av, err := ddbav.To(v)
	if err != nil {
		return err
	}
	c.b.WriteString(" AND " + path + " = " + c.value(av))
	return nil
}

// shape adds "the value at path is a list (or map) of n elements".
func (c *condBuilder) shape(path, typ string, n int) {
	c.b.WriteString(" AND attribute_type(" + path + ", " + c.value(&types.AttributeValueMemberS{Value: typ}) + ")")
	c.b.WriteString(" AND size(" + path + ") = " + c.value(&types.AttributeValueMemberN{Value: strconv.Itoa(n)}))
}
