package ddbenc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// API is the part of *dynamodb.Client the encrypting client calls.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	ExecuteStatement(ctx context.Context, in *dynamodb.ExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ExecuteStatementOutput, error)
	BatchExecuteStatement(ctx context.Context, in *dynamodb.BatchExecuteStatementInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchExecuteStatementOutput, error)
	ExecuteTransaction(ctx context.Context, in *dynamodb.ExecuteTransactionInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ExecuteTransactionOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// ErrRefused is wrapped by the error of every request the client refuses
// before sending it, whose text names the operation, the table and the
// rule broken.
var ErrRefused = errors.New("ddbenc: refused by client-side encryption")

// errNoOutput is a DynamoDB client that returned neither output nor error.
var errNoOutput = errors.New("ddbenc: the DynamoDB client returned no output")

// Client is an encrypting DynamoDB client: its methods have the signatures
// of *dynamodb.Client's and encrypt, decrypt, or refuse as the package
// comment says. It is safe for concurrent use.
type Client struct {
	api     API
	tables  map[string]*table
	require bool
}

// New validates cfg and returns a client that sends requests through api
// (a *dynamodb.Client in production). The configs are copied: changing
// cfg afterwards changes nothing.
func New(api API, cfg Config) (*Client, error) {
	if api == nil {
		return nil, errors.New("ddbenc: no DynamoDB client")
	}
	tables, err := cfg.build()
	if err != nil {
		return nil, err
	}
	return &Client{api: api, tables: tables, require: cfg.RequireTableConfig}, nil
}

// tableFor returns the configuration of the table a request names, nil
// for a table without one (passed through), or a refusal when every table
// must have one. A table ARN stands for its table name.
func (c *Client) tableFor(op string, tableName *string) (*table, error) {
	name := ""
	if tableName != nil {
		name = *tableName
	}
	resolved, ok := tableNameOf(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s: cannot tell which table %q names", ErrRefused, op, name)
	}
	if t := c.tables[resolved]; t != nil {
		return t, nil
	}
	if c.require {
		return nil, fmt.Errorf("%w: %s on table %q: the table has no encryption config, and the client requires one for every table", ErrRefused, op, name)
	}
	return nil, nil
}

// tableNameOf returns the table name a TableName parameter stands for:
// itself, or the name in a table ARN (arn:PARTITION:dynamodb:REGION:ACCOUNT:table/NAME).
// An ARN it cannot read is not ok.
func tableNameOf(s string) (string, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return s, true
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "dynamodb" {
		return "", false
	}
	name, ok := strings.CutPrefix(parts[5], "table/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// refuse returns the error for a request on t that breaks a rule.
func (t *table) refuse(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s on table %q: "+format, append([]any{ErrRefused, op, t.name}, args...)...)
}

// failed wraps an error of the engine (a decryption failure stays
// item.ErrDecrypt, an unreachable key source materials.ErrUnavailable)
// with the operation and the table.
func (t *table) failed(op string, err error) error {
	return fmt.Errorf("ddbenc: %s on table %q: %w", op, t.name, err)
}

// legacy refuses the parameters that predate expressions, which the
// client cannot check (ddb-sdk-integration.md).
func (t *table) legacy(op string, params map[string]bool) error {
	for _, name := range []string{"AttributesToGet", "AttributeUpdates", "ConditionalOperator", "Expected", "KeyConditions", "QueryFilter", "ScanFilter"} {
		if params[name] {
			return t.refuse(op, "the legacy parameter %s is not supported on an encrypted table; use expressions", name)
		}
	}
	return nil
}

// checkProjection refuses reading part of an item: the signature covers
// every signed attribute, so a partial item cannot be verified.
func (t *table) checkProjection(op string, projection *string, attributesToGet []string) error {
	if projection != nil || attributesToGet != nil {
		return t.refuse(op, "a projection returns part of an item, which cannot be verified: read whole items")
	}
	return nil
}

// refused returns the error for a request that breaks a rule, on no one
// table.
func refused(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrRefused, op}, args...)...)
}
