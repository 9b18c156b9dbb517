package ddbenc_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type refusalCase struct {
	name string
	call func(context.Context, *fixture) error
	want string
}

var (
	cust = aws.String("customers")
	vals = map[string]types.AttributeValue{":v": s("x"), ":w": s("y")}
)

// refusalCases are requests on the customers table that each break one
// rule, and words of that rule.
var refusalCases = []refusalCase{
	{"put condition on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: cust, Item: customer("c", "e"), ConditionExpression: aws.String("attribute_not_exists(email)")})
		return err
	}, `condition names encrypted attribute "email"`},
	{"put condition through a placeholder", func(ctx context.Context, f *fixture) error {
		_, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: cust, Item: customer("c", "e"),
			ConditionExpression: aws.String("#x.y = :v"), ExpressionAttributeNames: map[string]string{"#x": "card"}, ExpressionAttributeValues: vals})
		return err
	}, `encrypted attribute "card"`},
	{"put legacy Expected", func(ctx context.Context, f *fixture) error {
		_, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: cust, Item: customer("c", "e"), Expected: map[string]types.ExpectedAttributeValue{}})
		return err
	}, "legacy parameter Expected"},
	{"delete condition on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: cust, Key: key("c"), ConditionExpression: aws.String("name = :v"), ExpressionAttributeValues: vals})
		return err
	}, `encrypted attribute "name"`},
	{"update of a signed attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("SET country = :v"), ExpressionAttributeValues: vals})
		return err
	}, `names signed attribute "country"`},
	{"update of an encrypted attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("REMOVE #e"), ExpressionAttributeNames: map[string]string{"#e": "email"}})
		return err
	}, `names encrypted attribute "email"`},
	{"update reading a signed attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("SET u_copy = country")})
		return err
	}, `signed attribute "country"`},
	{"update of an unconfigured attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("SET other = :v"), ExpressionAttributeValues: vals})
		return err
	}, `signed attribute "other"`},
	{"update of a reserved attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("REMOVE aws_dbe_foot")})
		return err
	}, `"aws_dbe_foot"`},
	{"update with a condition on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("SET u_a = :v"),
			ConditionExpression: aws.String("begins_with(email, :w)"), ExpressionAttributeValues: vals})
		return err
	}, `encrypted attribute "email"`},
	{"update legacy AttributeUpdates", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), AttributeUpdates: map[string]types.AttributeValueUpdate{}})
		return err
	}, "AttributeUpdates"},
	{"unreadable update expression", func(ctx context.Context, f *fixture) error {
		_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: cust, Key: key("c"), UpdateExpression: aws.String("SET u_a == :v")})
		return err
	}, "cannot read the update expression"},
	{"undefined name placeholder", func(ctx context.Context, f *fixture) error {
		_, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: cust, Key: key("c"), ConditionExpression: aws.String("attribute_exists(#nope)")})
		return err
	}, "#nope is not defined"},
	{"get projection", func(ctx context.Context, f *fixture) error {
		_, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: cust, Key: key("c"), ProjectionExpression: aws.String("id")})
		return err
	}, "projection"},
	{"batch get projection", func(ctx context.Context, f *fixture) error {
		_, err := f.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"customers": {AttributesToGet: []string{"id"}}}})
		return err
	}, "projection"},
	{"transact get projection", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{{Get: &types.Get{TableName: cust, Key: key("c"), ProjectionExpression: aws.String("id")}}}})
		return err
	}, "projection"},
	{"transact update of a signed attribute", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: cust, Item: customer("c", "e")}},
			{Update: &types.Update{TableName: cust, Key: key("d"), UpdateExpression: aws.String("SET country = :v"), ExpressionAttributeValues: vals}}}})
		return err
	}, `signed attribute "country"`},
	{"transact condition check on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{TableName: cust, Key: key("d"), ConditionExpression: aws.String("card = :v"), ExpressionAttributeValues: vals}}}})
		return err
	}, `encrypted attribute "card"`},
	{"transact delete condition on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: cust, Key: key("d"), ConditionExpression: aws.String("attribute_exists(email)")}}}})
		return err
	}, `encrypted attribute "email"`},
	{"transact put condition on encrypted", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: cust, Item: customer("c", "e"), ConditionExpression: aws.String("attribute_not_exists(card)")}}}})
		return err
	}, `encrypted attribute "card"`},
	{"transact entry with no action", func(ctx context.Context, f *fixture) error {
		_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{}}})
		return err
	}, "sets none of Put, Update, Delete and ConditionCheck"},
	{"query legacy KeyConditions", func(ctx context.Context, f *fixture) error {
		_, err := f.client.Query(ctx, &dynamodb.QueryInput{TableName: cust, KeyConditions: map[string]types.Condition{}})
		return err
	}, "KeyConditions"},
	{"scan legacy ScanFilter", func(ctx context.Context, f *fixture) error {
		_, err := f.client.Scan(ctx, &dynamodb.ScanInput{TableName: cust, ScanFilter: map[string]types.Condition{}})
		return err
	}, "ScanFilter"},
	{"scan projection", func(ctx context.Context, f *fixture) error {
		_, err := f.client.Scan(ctx, &dynamodb.ScanInput{TableName: cust, ProjectionExpression: aws.String("id")})
		return err
	}, "projection"},
	{"query specific attributes", func(ctx context.Context, f *fixture) error {
		_, err := f.client.Query(ctx, &dynamodb.QueryInput{TableName: cust, Select: types.SelectSpecificAttributes})
		return err
	}, "SPECIFIC_ATTRIBUTES"},
}

// TestRefusals checks every rule the client enforces on an encrypted
// table: each request is refused with an error naming the rule, and
// nothing is sent.
func TestRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range refusalCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			mustRefuse(t, f.db, 0, tc.call(t.Context(), f), tc.want)
		})
	}
}

// TestAllowedConditions checks conditions the rules allow on an encrypted
// table: on signed and unsigned attributes, and on the key.
func TestAllowedConditions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	for _, cond := range []string{
		"attribute_not_exists(id)",
		"country = :v OR size(u_note) > :n",
		"NOT (country IN (:v, :w)) AND begins_with(#u, :v)",
	} {
		_, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: customer("c", "e"),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: map[string]string{"#u": "u_note"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("x"), ":w": s("y"), ":n": n("1")}})
		if err != nil {
			t.Errorf("%q refused: %v", cond, err)
		}
	}
}
