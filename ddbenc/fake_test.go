package ddbenc_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// memDB is an in-memory stand-in for DynamoDB: items by table and primary
// key, no expressions evaluated (Query and Scan return every item of the
// table, so only the client's own filtering narrows them). It records the
// requests it got.
type memDB struct {
	mu     sync.Mutex
	keys   map[string][]string // table → key attribute names
	items  map[string]map[string]map[string]types.AttributeValue
	calls  []string
	last   any // the last request
	hold   int // BatchWriteItem leaves this many puts unprocessed
	update *dynamodb.UpdateItemOutput
}

func newMemDB() *memDB {
	return &memDB{keys: map[string][]string{}, items: map[string]map[string]map[string]types.AttributeValue{}}
}

// table declares a table and its key attributes.
func (m *memDB) table(name string, keys ...string) {
	m.keys[name] = keys
	m.items[name] = map[string]map[string]types.AttributeValue{}
}

func (m *memDB) record(op string, in any) {
	m.calls = append(m.calls, op)
	m.last = in
}

func (m *memDB) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

func (m *memDB) keyOf(table string, item map[string]types.AttributeValue) (string, error) {
	names, ok := m.keys[table]
	if !ok {
		return "", &types.ResourceNotFoundException{Message: aws.String("no table " + table)}
	}
	k := ""
	for _, n := range names {
		v, ok := item[n]
		if !ok {
			return "", errors.New("memdb: key attribute missing")
		}
		k += fmt.Sprintf("%#v|", v)
	}
	return k, nil
}

// raw returns a stored item as DynamoDB holds it.
func (m *memDB) raw(table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, _ := m.keyOf(table, key)
	return maps.Clone(m.items[table][k])
}

// putRaw stores an item as it is, bypassing any client.
func (m *memDB) putRaw(table string, item map[string]types.AttributeValue) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, err := m.keyOf(table, item)
	if err != nil {
		panic(err)
	}
	m.items[table][k] = maps.Clone(item)
}

func (m *memDB) put(table string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	k, err := m.keyOf(table, item)
	if err != nil {
		return nil, err
	}
	old := m.items[table][k]
	m.items[table][k] = maps.Clone(item)
	return old, nil
}

func (m *memDB) get(table string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	k, err := m.keyOf(table, key)
	if err != nil {
		return nil, err
	}
	return maps.Clone(m.items[table][k]), nil
}

func (m *memDB) all(table string) []map[string]types.AttributeValue {
	var ks []string
	for k := range m.items[table] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	out := make([]map[string]types.AttributeValue, 0, len(ks))
	for _, k := range ks {
		out = append(out, maps.Clone(m.items[table][k]))
	}
	return out
}

func (m *memDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("PutItem", in)
	old, err := m.put(*in.TableName, in.Item)
	if err != nil {
		return nil, err
	}
	out := &dynamodb.PutItemOutput{}
	if in.ReturnValues == types.ReturnValueAllOld {
		out.Attributes = old
	}
	return out, nil
}

func (m *memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("GetItem", in)
	it, err := m.get(*in.TableName, in.Key)
	return &dynamodb.GetItemOutput{Item: it}, err
}

func (m *memDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("DeleteItem", in)
	k, err := m.keyOf(*in.TableName, in.Key)
	if err != nil {
		return nil, err
	}
	out := &dynamodb.DeleteItemOutput{}
	if in.ReturnValues == types.ReturnValueAllOld {
		out.Attributes = m.items[*in.TableName][k]
	}
	delete(m.items[*in.TableName], k)
	return out, nil
}

func (m *memDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("UpdateItem", in)
	if m.update != nil {
		return m.update, nil
	}
	return &dynamodb.UpdateItemOutput{}, nil
}

func (m *memDB) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("BatchWriteItem", in)
	out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{}}
	held := 0
	for table, wrs := range in.RequestItems {
		for _, wr := range wrs {
			switch {
			case wr.PutRequest != nil && held < m.hold:
				out.UnprocessedItems[table] = append(out.UnprocessedItems[table], wr)
				held++
			case wr.PutRequest != nil:
				if _, err := m.put(table, wr.PutRequest.Item); err != nil {
					return nil, err
				}
			case wr.DeleteRequest != nil:
				k, _ := m.keyOf(table, wr.DeleteRequest.Key)
				delete(m.items[table], k)
			}
		}
	}
	return out, nil
}

func (m *memDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("BatchGetItem", in)
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, ka := range in.RequestItems {
		for _, key := range ka.Keys {
			it, err := m.get(table, key)
			if err != nil {
				return nil, err
			}
			if it != nil {
				out.Responses[table] = append(out.Responses[table], it)
			}
		}
	}
	return out, nil
}

func (m *memDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("TransactWriteItems", in)
	for _, twi := range in.TransactItems {
		switch {
		case twi.Put != nil:
			if _, err := m.put(*twi.Put.TableName, twi.Put.Item); err != nil {
				return nil, err
			}
		case twi.Delete != nil:
			k, _ := m.keyOf(*twi.Delete.TableName, twi.Delete.Key)
			delete(m.items[*twi.Delete.TableName], k)
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (m *memDB) TransactGetItems(_ context.Context, in *dynamodb.TransactGetItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("TransactGetItems", in)
	out := &dynamodb.TransactGetItemsOutput{}
	for _, tgi := range in.TransactItems {
		it, err := m.get(*tgi.Get.TableName, tgi.Get.Key)
		if err != nil {
			return nil, err
		}
		out.Responses = append(out.Responses, types.ItemResponse{Item: it})
	}
	return out, nil
}

func (m *memDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("Query", in)
	items := m.all(*in.TableName)
	return &dynamodb.QueryOutput{Items: items, Count: int32(len(items)), ScannedCount: int32(len(items))}, nil
}

func (m *memDB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("Scan", in)
	items := m.all(*in.TableName)
	return &dynamodb.ScanOutput{Items: items, Count: int32(len(items)), ScannedCount: int32(len(items))}, nil
}

func (m *memDB) ExecuteStatement(_ context.Context, in *dynamodb.ExecuteStatementInput, _ ...func(*dynamodb.Options)) (*dynamodb.ExecuteStatementOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("ExecuteStatement", in)
	return &dynamodb.ExecuteStatementOutput{}, nil
}

func (m *memDB) BatchExecuteStatement(_ context.Context, in *dynamodb.BatchExecuteStatementInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchExecuteStatementOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("BatchExecuteStatement", in)
	return &dynamodb.BatchExecuteStatementOutput{}, nil
}

func (m *memDB) ExecuteTransaction(_ context.Context, in *dynamodb.ExecuteTransactionInput, _ ...func(*dynamodb.Options)) (*dynamodb.ExecuteTransactionOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record("ExecuteTransaction", in)
	return &dynamodb.ExecuteTransactionOutput{}, nil
}
