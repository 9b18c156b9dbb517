package ddbenc

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Query translates equality conditions on searchable attributes, in the
// key condition and the filter, into conditions on their beacons (see
// search), then verifies and decrypts every item returned and keeps only
// exact matches; Count is then the number kept. Any other condition on an
// encrypted attribute, a projection, and the legacy parameters are
// refused. Limit counts items before that filtering, as in DynamoDB.
func (c *Client) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if in == nil {
		in = &dynamodb.QueryInput{}
	}
	const op = "Query"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.QueryOutput, error) { return c.api.Query(ctx, in, optFns...) })
	}
	legacy := map[string]bool{"AttributesToGet": in.AttributesToGet != nil, "KeyConditions": in.KeyConditions != nil,
		"QueryFilter": in.QueryFilter != nil, "ConditionalOperator": in.ConditionalOperator != ""}
	if err := t.checkRead(op, legacy, in.ProjectionExpression, in.Select); err != nil {
		return nil, err
	}
	s := t.newSearch(op, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	req := *in
	if req.KeyConditionExpression, err = s.expression("key condition", in.KeyConditionExpression); err != nil {
		return nil, err
	}
	if req.FilterExpression, err = s.expression("filter", in.FilterExpression); err != nil {
		return nil, err
	}
	if req.ExpressionAttributeNames, req.ExpressionAttributeValues, err = s.finish(); err != nil {
		return nil, err
	}
	if err := s.checkCount(in.Select); err != nil {
		return nil, err
	}
	out, err := c.api.Query(ctx, &req, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if out.Items, err = s.decrypt(ctx, out.Items); err != nil {
		return nil, err
	}
	if s.usesBeacons() {
		out.Count = int32(len(out.Items))
	}
	return out, nil
}

// Scan is Query's counterpart: the filter is translated and the result
// decrypted and filtered the same way.
func (c *Client) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	if in == nil {
		in = &dynamodb.ScanInput{}
	}
	const op = "Scan"
	t, err := c.tableFor(op, in.TableName)
	if t == nil || err != nil {
		return passThrough(err, func() (*dynamodb.ScanOutput, error) { return c.api.Scan(ctx, in, optFns...) })
	}
	legacy := map[string]bool{"AttributesToGet": in.AttributesToGet != nil, "ScanFilter": in.ScanFilter != nil,
		"ConditionalOperator": in.ConditionalOperator != ""}
	if err := t.checkRead(op, legacy, in.ProjectionExpression, in.Select); err != nil {
		return nil, err
	}
	s := t.newSearch(op, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	req := *in
	if req.FilterExpression, err = s.expression("filter", in.FilterExpression); err != nil {
		return nil, err
	}
	if req.ExpressionAttributeNames, req.ExpressionAttributeValues, err = s.finish(); err != nil {
		return nil, err
	}
	if err := s.checkCount(in.Select); err != nil {
		return nil, err
	}
	out, err := c.api.Scan(ctx, &req, optFns...)
	if err != nil || out == nil {
		return out, orNoOutput(err)
	}
	if out.Items, err = s.decrypt(ctx, out.Items); err != nil {
		return nil, err
	}
	if s.usesBeacons() {
		out.Count = int32(len(out.Items))
	}
	return out, nil
}

// checkRead refuses the legacy parameters and partial items.
func (t *table) checkRead(op string, legacy map[string]bool, projection *string, sel types.Select) error {
	if err := t.legacy(op, legacy); err != nil {
		return err
	}
	if sel == types.SelectSpecificAttributes {
		return t.refuse(op, "Select SPECIFIC_ATTRIBUTES returns part of an item, which cannot be verified: read whole items")
	}
	return t.checkProjection(op, projection, nil)
}

// checkCount refuses a count of items matched through beacons, which
// would count every beacon collision.
func (s *search) checkCount(sel types.Select) error {
	if sel == types.SelectCount && s.usesBeacons() {
		return s.t.refuse(s.op, "Select COUNT with a condition on a searchable attribute would count beacon collisions: read the items and count them")
	}
	return nil
}
