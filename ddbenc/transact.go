package ddbenc

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TransactWriteItems encrypts every Put on an encrypted table and checks
// every action's expressions as PutItem, UpdateItem and DeleteItem do; an
// entry with no action set is refused. If anything is refused or cannot be
// encrypted, nothing is sent.
func (c *Client) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if in == nil {
		in = &dynamodb.TransactWriteItemsInput{}
	}
	req := *in
	req.TransactItems = make([]types.TransactWriteItem, len(in.TransactItems))
	for i, twi := range in.TransactItems {
		var err error
		if req.TransactItems[i], err = c.transactWrite(ctx, twi); err != nil {
			return nil, err
		}
	}
	out, err := c.api.TransactWriteItems(ctx, &req, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	return out, nil
}

// transactWrite checks one entry and returns it as it is to be sent.
func (c *Client) transactWrite(ctx context.Context, twi types.TransactWriteItem) (types.TransactWriteItem, error) {
	const op = "TransactWriteItems"
	switch {
	case twi.Put != nil:
		return c.transactPut(ctx, twi)
	case twi.Update != nil:
		u := twi.Update
		t, err := c.tableFor(op, u.TableName)
		if t == nil || err != nil {
			return twi, err
		}
		if err := t.checkUpdate(op, u.UpdateExpression, u.ExpressionAttributeNames); err != nil {
			return twi, err
		}
		return twi, t.checkCondition(op, u.ConditionExpression, u.ExpressionAttributeNames)
	case twi.Delete != nil:
		return twi, c.transactCondition(op, twi.Delete.TableName, twi.Delete.ConditionExpression, twi.Delete.ExpressionAttributeNames)
	case twi.ConditionCheck != nil:
		cc := twi.ConditionCheck
		return twi, c.transactCondition(op, cc.TableName, cc.ConditionExpression, cc.ExpressionAttributeNames)
	}
	return twi, refused(op, "an entry sets none of Put, Update, Delete and ConditionCheck")
}

func (c *Client) transactPut(ctx context.Context, twi types.TransactWriteItem) (types.TransactWriteItem, error) {
	const op = "TransactWriteItems"
	p := twi.Put
	t, err := c.tableFor(op, p.TableName)
	if t == nil || err != nil {
		return twi, err
	}
	if err := t.checkCondition(op, p.ConditionExpression, p.ExpressionAttributeNames); err != nil {
		return twi, err
	}
	stored, err := t.writeItem(ctx, p.Item)
	if err != nil {
		return twi, t.failed(op, err)
	}
	put := *p
	put.Item = stored
	twi.Put = &put
	return twi, nil
}

func (c *Client) transactCondition(op string, tableName, cond *string, names map[string]string) error {
	t, err := c.tableFor(op, tableName)
	if t == nil || err != nil {
		return err
	}
	return t.checkCondition(op, cond, names)
}

// TransactGetItems verifies and decrypts every item read from an
// encrypted table; if one fails the call fails. Projections are refused.
func (c *Client) TransactGetItems(ctx context.Context, in *dynamodb.TransactGetItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactGetItemsOutput, error) {
	if in == nil {
		in = &dynamodb.TransactGetItemsInput{}
	}
	const op = "TransactGetItems"
	tables := make([]*table, len(in.TransactItems))
	for i, tgi := range in.TransactItems {
		if tgi.Get == nil {
			continue
		}
		t, err := c.tableFor(op, tgi.Get.TableName)
		if err != nil {
			return nil, err
		}
		if t != nil {
			if err := t.checkProjection(op, tgi.Get.ProjectionExpression, nil); err != nil {
				return nil, err
			}
		}
		tables[i] = t
	}
	out, err := c.api.TransactGetItems(ctx, in, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if len(out.Responses) > len(tables) {
		return nil, refused(op, "DynamoDB returned more responses than items asked for")
	}
	for i := range out.Responses {
		if t := tables[i]; t != nil {
			if out.Responses[i].Item, err = t.readItem(ctx, out.Responses[i].Item); err != nil {
				return nil, t.failed(op, err)
			}
		}
	}
	return out, nil
}
