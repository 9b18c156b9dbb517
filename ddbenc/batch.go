package ddbenc

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BatchWriteItem encrypts every PutRequest on an encrypted table; if one
// cannot be encrypted nothing is sent. UnprocessedItems come back as the
// caller's own requests (plaintext), so they can be sent again as they
// are.
func (c *Client) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if in == nil {
		in = &dynamodb.BatchWriteItemInput{}
	}
	const op = "BatchWriteItem"
	req := *in
	req.RequestItems = make(map[string][]types.WriteRequest, len(in.RequestItems))
	sent := map[string]map[string]types.WriteRequest{} // table → key → caller's request
	for name, wrs := range in.RequestItems {
		t, err := c.tableFor(op, &name)
		if err != nil {
			return nil, err
		}
		if t == nil {
			req.RequestItems[name] = wrs
			continue
		}
		if req.RequestItems[name], sent[name], err = t.encryptWrites(ctx, wrs); err != nil {
			return nil, t.failed(op, err)
		}
	}
	out, err := c.api.BatchWriteItem(ctx, &req, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	for name, wrs := range out.UnprocessedItems {
		if orig := sent[name]; orig != nil {
			if out.UnprocessedItems[name], err = c.tables[mustName(name)].unprocessed(wrs, orig); err != nil {
				return nil, fmt.Errorf("ddbenc: %s on table %q: %w", op, name, err)
			}
		}
	}
	return out, nil
}

// mustName resolves a table name already resolved once.
func mustName(s string) string {
	n, _ := tableNameOf(s)
	return n
}

// encryptWrites encrypts the puts of one table's write requests and
// returns, by primary key, the requests it replaced.
func (t *table) encryptWrites(ctx context.Context, wrs []types.WriteRequest) ([]types.WriteRequest, map[string]types.WriteRequest, error) {
	out := make([]types.WriteRequest, len(wrs))
	orig := map[string]types.WriteRequest{}
	for i, wr := range wrs {
		if wr.PutRequest == nil {
			out[i] = wr
			continue
		}
		stored, err := t.writeItem(ctx, wr.PutRequest.Item)
		if err != nil {
			return nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		key, err := t.keyOf(wr.PutRequest.Item)
		if err != nil {
			return nil, nil, fmt.Errorf("request %d: %w", i, err)
		}
		orig[key] = wr
		out[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: stored}}
	}
	return out, orig, nil
}

// unprocessed maps the encrypted puts DynamoDB did not process back to
// the caller's requests (one batch never holds two requests on one key).
func (t *table) unprocessed(wrs []types.WriteRequest, orig map[string]types.WriteRequest) ([]types.WriteRequest, error) {
	out := make([]types.WriteRequest, len(wrs))
	for i, wr := range wrs {
		if wr.PutRequest == nil {
			out[i] = wr
			continue
		}
		key, err := t.keyOf(wr.PutRequest.Item)
		if err != nil {
			return nil, err
		}
		o, ok := orig[key]
		if !ok {
			return nil, fmt.Errorf("DynamoDB returned an unprocessed put that was not sent")
		}
		out[i] = o
	}
	return out, nil
}

// BatchGetItem verifies and decrypts every item read from an encrypted
// table; if one fails the call fails. Projections are refused.
func (c *Client) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if in == nil {
		in = &dynamodb.BatchGetItemInput{}
	}
	const op = "BatchGetItem"
	for name, ka := range in.RequestItems {
		t, err := c.tableFor(op, &name)
		if err != nil {
			return nil, err
		}
		if t != nil {
			if err := t.checkProjection(op, ka.ProjectionExpression, ka.AttributesToGet); err != nil {
				return nil, err
			}
		}
	}
	out, err := c.api.BatchGetItem(ctx, in, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	for name, items := range out.Responses {
		t := c.tables[mustName(name)]
		if t == nil {
			continue
		}
		for i, it := range items {
			if items[i], err = t.readItem(ctx, it); err != nil {
				return nil, t.failed(op, err)
			}
		}
	}
	return out, nil
}
