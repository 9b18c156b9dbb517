// Package dynamo is the production store: a store.Store over Amazon
// DynamoDB (aws-sdk-go-v2, confined to this package, internal/awsconf and
// attr/ddbav, which converts item values).
//
// Each store.Table is one DynamoDB table named by a prefix and the table's
// name, billed on demand, with a global secondary index (projecting every
// attribute) per store.Index. Reads are strongly consistent; Query reads an
// index and may lag behind writes, as the contract allows. Conditional
// writes are DynamoDB condition expressions, so concurrent writers never
// lose an update. Items over store.MaxItemSize are refused before anything
// is sent. No transactions are used. Tables sealstore does not own (the
// source of an import) are read with KeySchema, Scan and Get, and their
// items deleted only with DeleteUnchanged.
//
// Errors: a failed condition is store.ErrConflict; throttling that
// outlasts the SDK's retries, network failures, a service error or a
// missing table are store.ErrUnavailable (a missing table names 'sealstore
// init'); anything DynamoDB refuses as invalid is a plain error. Error
// texts carry DynamoDB's error code, never an item's values.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/internal/awsconf"
	"github.com/sealstore/sealstore/store"
)

// API is the part of the DynamoDB client this package uses;
// *dynamodb.Client implements it.
type API interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DefaultScanLimit is the page size of a Scan or Query that asks for none.
const DefaultScanLimit = 100

// Config selects a DynamoDB endpoint and the tables sealstore owns there.
type Config struct {
	// Region; empty: from the environment.
	Region string
	// Endpoint overrides the SDK's endpoint (for an emulator or a VPC
	// endpoint); empty: the SDK's default. The caller vets it.
	Endpoint string
	// TablePrefix is put before every table name.
	TablePrefix string
}

// Store is a store.Store over DynamoDB.
type Store struct {
	api    API
	prefix string
}

var _ store.Store = (*Store)(nil)

// validPrefix matches the table prefixes DynamoDB can accept: table names are 3 to 255 of
// [A-Za-z0-9_.-].
var validPrefix = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,200}$`)

// CheckPrefix reports whether DynamoDB accepts table names starting with
// prefix.
func CheckPrefix(prefix string) error {
	if !validPrefix.MatchString(prefix) {
		return errors.New("a table prefix may hold only letters, digits, '_', '-' and '.', at most 200")
	}
	return nil
}

// Open connects to DynamoDB as cfg says. It makes no request.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := CheckPrefix(cfg.TablePrefix); err != nil {
		return nil, fmt.Errorf("dynamo: %w", err)
	}
	awsCfg, err := awsconf.Load(ctx, cfg.Region)
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	if err := awsconf.CheckResolved("dynamodb", client.Options().BaseEndpoint); err != nil {
		return nil, err
	}
	return New(client, cfg.TablePrefix), nil
}

// New returns a Store over api whose table names start with prefix.
func New(api API, prefix string) *Store {
	return &Store{api: api, prefix: prefix}
}

// TableName returns the DynamoDB table name of t.
func (s *Store) TableName(t store.Table) string { return s.prefix + t.Name }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	k, err := s.key(t, key)
	if err != nil {
		return nil, err
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.TableName(t)), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, s.fail(t, "GetItem", err)
	}
	if out.Item == nil {
		return nil, store.ErrNotFound
	}
	return s.item(t, out.Item)
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	if err := c.Check(); err != nil {
		return err
	}
	if store.ItemSize(it) > store.MaxItemSize {
		return store.ErrTooLarge
	}
	if _, err := store.KeyOf(t, it); err != nil {
		return err
	}
	if _, err := store.IndexValues(t, it); err != nil {
		return err
	}
	if err := store.CheckItem(it); err != nil {
		return err
	}
	av, err := ddbav.ToItem(it)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.TableName(t)), Item: av}
	in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, err = condition(t, c)
	if err != nil {
		return err
	}
	_, err = s.api.PutItem(ctx, in)
	return s.fail(t, "PutItem", err)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, t store.Table, key attr.Item, c store.Cond) error {
	if err := c.Check(); err != nil {
		return err
	}
	k, err := s.key(t, key)
	if err != nil {
		return err
	}
	in := &dynamodb.DeleteItemInput{TableName: aws.String(s.TableName(t)), Key: k}
	in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, err = condition(t, c)
	if err != nil {
		return err
	}
	_, err = s.api.DeleteItem(ctx, in)
	return s.fail(t, "DeleteItem", err)
}

// Scan implements store.Store. The cursor is DynamoDB's last evaluated key.
func (s *Store) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	start, err := decodeCursor(t, cursor, "")
	if err != nil {
		return store.Page{}, err
	}
	out, err := s.api.Scan(ctx, &dynamodb.ScanInput{
		TableName: aws.String(s.TableName(t)), ConsistentRead: aws.Bool(true),
		Limit: aws.Int32(pageSize(limit)), ExclusiveStartKey: start,
	})
	if err != nil {
		return store.Page{}, s.fail(t, "Scan", err)
	}
	return s.page(t, out.Items, out.LastEvaluatedKey)
}

// Query implements store.Store.
func (s *Store) Query(ctx context.Context, t store.Table, index, value string, cursor []byte, limit int) (store.Page, error) {
	ix, ok := t.Index(index)
	if !ok {
		return store.Page{}, fmt.Errorf("dynamo: table %s has no index %q", t.Name, index)
	}
	if err := store.CheckIndexValue(t, value); err != nil {
		return store.Page{}, err
	}
	start, err := decodeCursor(t, cursor, ix.Attr)
	if err != nil {
		return store.Page{}, err
	}
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.TableName(t)),
		IndexName:                 aws.String(ix.Name),
		KeyConditionExpression:    aws.String("#a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": ix.Attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: value}},
		Limit:                     aws.Int32(pageSize(limit)),
		ExclusiveStartKey:         start,
	})
	if err != nil {
		return store.Page{}, s.fail(t, "Query", err)
	}
	return s.page(t, out.Items, out.LastEvaluatedKey)
}

func pageSize(limit int) int32 {
	if limit <= 0 {
		return DefaultScanLimit
	}
	return int32(min(limit, 1<<20))
}

func (s *Store) page(t store.Table, items []map[string]types.AttributeValue, last map[string]types.AttributeValue) (store.Page, error) {
	var page store.Page
	for _, av := range items {
		it, err := s.item(t, av)
		if err != nil {
			return store.Page{}, err
		}
		page.Items = append(page.Items, it)
	}
	if last != nil {
		next, err := encodeCursor(last)
		if err != nil {
			return store.Page{}, err
		}
		page.Next = next
	}
	return page, nil
}

// key returns the DynamoDB key of key's key attributes under t.
func (s *Store) key(t store.Table, key attr.Item) (map[string]types.AttributeValue, error) {
	k, err := store.KeyOf(t, key)
	if err != nil {
		return nil, err
	}
	return ddbav.ToItem(k)
}

func (s *Store) item(t store.Table, av map[string]types.AttributeValue) (attr.Item, error) {
	it, err := ddbav.FromItem(av)
	if err != nil {
		return nil, fmt.Errorf("dynamo: table %s: %w", t.Name, err)
	}
	return it, nil
}

// condition returns the condition expression of c.
func condition(t store.Table, c store.Cond) (*string, map[string]string, map[string]types.AttributeValue, error) {
	switch {
	case c.Absent:
		return aws.String("attribute_not_exists(#k)"), map[string]string{"#k": t.PartitionKey}, nil, nil
	case c.Attr != "":
		v, err := ddbav.To(c.Equals)
		if err != nil {
			return nil, nil, nil, err
		}
		return aws.String("#c = :c"), map[string]string{"#c": c.Attr}, map[string]types.AttributeValue{":c": v}, nil
	}
	return nil, nil, nil, nil
}
