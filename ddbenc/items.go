package ddbenc

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// PutItem encrypts and signs in.Item (and adds its beacons) before it is
// sent, and decrypts the old item returned with ReturnValues ALL_OLD. A
// condition may not name an encrypted attribute. The input is not
// modified.
func (c *Client) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if in == nil {
		in = &dynamodb.PutItemInput{}
	}
	const op = "PutItem"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.PutItemOutput, error) { return c.api.PutItem(ctx, in, optFns...) })
	}
	if err := t.legacy(op, map[string]bool{"Expected": in.Expected != nil, "ConditionalOperator": in.ConditionalOperator != ""}); err != nil {
		return nil, err
	}
	if err := t.checkCondition(op, in.ConditionExpression, in.ExpressionAttributeNames); err != nil {
		return nil, err
	}
	stored, err := t.writeItem(ctx, in.Item)
	if err != nil {
		return nil, t.failed(op, err)
	}
	req := *in
	req.Item = stored
	out, err := c.api.PutItem(ctx, &req, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if out.Attributes, err = t.readItem(ctx, out.Attributes); err != nil {
		return nil, t.failed(op, err)
	}
	return out, nil
}

// GetItem verifies and decrypts the item read. A projection is refused.
func (c *Client) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if in == nil {
		in = &dynamodb.GetItemInput{}
	}
	const op = "GetItem"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.GetItemOutput, error) { return c.api.GetItem(ctx, in, optFns...) })
	}
	if err := t.checkProjection(op, in.ProjectionExpression, in.AttributesToGet); err != nil {
		return nil, err
	}
	out, err := c.api.GetItem(ctx, in, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if out.Item, err = t.readItem(ctx, out.Item); err != nil {
		return nil, t.failed(op, err)
	}
	return out, nil
}

// DeleteItem checks the condition (no encrypted attribute) and decrypts
// the item returned with ReturnValues ALL_OLD.
func (c *Client) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if in == nil {
		in = &dynamodb.DeleteItemInput{}
	}
	const op = "DeleteItem"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.DeleteItemOutput, error) { return c.api.DeleteItem(ctx, in, optFns...) })
	}
	if err := t.legacy(op, map[string]bool{"Expected": in.Expected != nil, "ConditionalOperator": in.ConditionalOperator != ""}); err != nil {
		return nil, err
	}
	if err := t.checkCondition(op, in.ConditionExpression, in.ExpressionAttributeNames); err != nil {
		return nil, err
	}
	out, err := c.api.DeleteItem(ctx, in, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if out.Attributes, err = t.readItem(ctx, out.Attributes); err != nil {
		return nil, t.failed(op, err)
	}
	return out, nil
}

// UpdateItem is allowed on an encrypted table only when its update
// expression touches nothing but allowed unsigned attributes and its
// condition names no encrypted attribute; whole items returned (ALL_OLD,
// ALL_NEW) are decrypted, and updated attributes returned (UPDATED_OLD,
// UPDATED_NEW) must all be unsigned.
func (c *Client) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if in == nil {
		in = &dynamodb.UpdateItemInput{}
	}
	const op = "UpdateItem"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.UpdateItemOutput, error) { return c.api.UpdateItem(ctx, in, optFns...) })
	}
	if err := t.checkUpdateInput(op, in); err != nil {
		return nil, err
	}
	out, err := c.api.UpdateItem(ctx, in, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	switch in.ReturnValues {
	case types.ReturnValueAllOld, types.ReturnValueAllNew:
		if out.Attributes, err = t.readItem(ctx, out.Attributes); err != nil {
			return nil, t.failed(op, err)
		}
	default:
		for name := range out.Attributes {
			if !t.unsigned(name) {
				return nil, t.refuse(op, "DynamoDB returned signed attribute %q as updated, which the update expression did not allow", name)
			}
		}
	}
	return out, nil
}

func (t *table) checkUpdateInput(op string, in *dynamodb.UpdateItemInput) error {
	legacy := map[string]bool{"Expected": in.Expected != nil, "AttributeUpdates": in.AttributeUpdates != nil,
		"ConditionalOperator": in.ConditionalOperator != ""}
	if err := t.legacy(op, legacy); err != nil {
		return err
	}
	if err := t.checkUpdate(op, in.UpdateExpression, in.ExpressionAttributeNames); err != nil {
		return err
	}
	return t.checkCondition(op, in.ConditionExpression, in.ExpressionAttributeNames)
}

// passThrough returns a refusal, or the result of the unmodified call.
func passThrough[T any](err error, call func() (*T, error)) (*T, error) {
	if err != nil {
		return nil, err
	}
	return call()
}

// orNoOutput is err, or errNoOutput when a client returned neither.
func orNoOutput(err error) error {
	if err == nil {
		return errNoOutput
	}
	return err
}
