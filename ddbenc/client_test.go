package ddbenc_test

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
)

// The SDK's paginators take the encrypting client.
var (
	_ dynamodb.QueryAPIClient = (*ddbenc.Client)(nil)
	_ dynamodb.ScanAPIClient  = (*ddbenc.Client)(nil)
)

// TestPutGet checks the basic round trip and what is stored: every
// encrypted attribute is ciphertext, the signed ones are as written, the
// header, footer, beacon and version tag are there, and none of them comes
// back.
func TestPutGet(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	want := customer("c1", "ann@example.com")
	in := &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: maps.Clone(want)}
	if _, err := f.client.PutItem(ctx, in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Item, want) {
		t.Error("PutItem changed its input")
	}
	stored := f.db.raw("customers", key("c1"))
	for _, secret := range []string{"ann@example.com", "Name of c1", "4111-c1"} {
		if holds(stored, secret) {
			t.Errorf("stored item holds %q", secret)
		}
	}
	for _, a := range []string{"aws_dbe_head", "aws_dbe_foot", "aws_dbe_b_email", ddbenc.VersionTag} {
		if _, ok := stored[a]; !ok {
			t.Errorf("stored item has no %s", a)
		}
	}
	if !reflect.DeepEqual(stored["country"], s("NZ")) || !reflect.DeepEqual(stored["u_note"], s("unsigned c1")) {
		t.Error("signed or unsigned attributes were not stored as written")
	}
	out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: key("c1")})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Item, want) {
		t.Errorf("GetItem = %v, want %v", out.Item, want)
	}
	missing, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: key("nobody")})
	if err != nil || missing.Item != nil {
		t.Errorf("missing item: %v, %v", missing.Item, err)
	}
}

// TestReturnValues checks that old and new items returned by writes are
// decrypted.
func TestReturnValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	first := customer("c1", "a@example.com")
	put := func(it map[string]types.AttributeValue) *dynamodb.PutItemOutput {
		out, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it, ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := put(first); out.Attributes != nil {
		t.Errorf("first put returned %v", out.Attributes)
	}
	if out := put(customer("c1", "b@example.com")); !reflect.DeepEqual(out.Attributes, first) {
		t.Errorf("PutItem ALL_OLD = %v, want %v", out.Attributes, first)
	}
	out, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("customers"), Key: key("c1"), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Attributes, customer("c1", "b@example.com")) {
		t.Errorf("DeleteItem ALL_OLD = %v", out.Attributes)
	}
}

// TestUpdateUnsigned checks that an update of unsigned attributes passes,
// and how what UpdateItem returns is handled.
func TestUpdateUnsigned(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String("customers"), Key: key("c1"),
		UpdateExpression:          aws.String("SET u_note = :n, #c = if_not_exists(#c, :z) ADD u_count :one"),
		ConditionExpression:       aws.String("attribute_exists(id) AND country = :nz"),
		ExpressionAttributeNames:  map[string]string{"#c": "u_created"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": s("x"), ":z": n("0"), ":one": n("1"), ":nz": s("NZ")},
		ReturnValues:              types.ReturnValueUpdatedNew,
	}
	f.db.update = &dynamodb.UpdateItemOutput{Attributes: map[string]types.AttributeValue{"u_note": s("x")}}
	if _, err := f.client.UpdateItem(ctx, in); err != nil {
		t.Fatalf("unsigned update refused: %v", err)
	}
	if got := f.db.last.(*dynamodb.UpdateItemInput); got != in {
		t.Error("the update was not sent as given")
	}
	f.db.update = &dynamodb.UpdateItemOutput{Attributes: map[string]types.AttributeValue{"country": s("FR")}}
	before := f.db.callCount()
	_, err := f.client.UpdateItem(ctx, in)
	if err == nil || !strings.Contains(err.Error(), `signed attribute "country"`) {
		t.Errorf("UPDATED_NEW returning a signed attribute: %v", err)
	}
	if f.db.callCount() != before+1 {
		t.Error("the update was not sent")
	}
}

// TestBatchAndTransactions round-trips items through BatchWriteItem,
// BatchGetItem, TransactWriteItems and TransactGetItems, mixing an
// encrypted and an unconfigured table.
func TestBatchAndTransactions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	open := map[string]types.AttributeValue{"id": s("o1"), "free": s("text")}
	_, err := f.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"customers": {{PutRequest: &types.PutRequest{Item: customer("c1", "a@x")}}, {PutRequest: &types.PutRequest{Item: customer("c2", "b@x")}}},
		"open":      {{PutRequest: &types.PutRequest{Item: open}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if holds(f.db.raw("customers", key("c2")), "b@x") {
		t.Error("BatchWriteItem stored plaintext")
	}
	if !reflect.DeepEqual(f.db.raw("open", key("o1")), open) {
		t.Error("the unconfigured table's item was changed")
	}
	_, err = f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("customers"), Item: customer("c3", "c@x"), ConditionExpression: aws.String("attribute_not_exists(id)")}},
		{Delete: &types.Delete{TableName: aws.String("customers"), Key: key("c1")}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("customers"), Key: key("c2"), ConditionExpression: aws.String("country = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": s("NZ")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if holds(f.db.raw("customers", key("c3")), "c@x") {
		t.Error("TransactWriteItems stored plaintext")
	}
	bg, err := f.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		"customers": {Keys: []map[string]types.AttributeValue{key("c2"), key("c3"), key("c1")}},
		"open":      {Keys: []map[string]types.AttributeValue{key("o1")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]types.AttributeValue{}
	for _, it := range bg.Responses["customers"] {
		got[it["id"].(*types.AttributeValueMemberS).Value] = it
	}
	if len(got) != 2 || !reflect.DeepEqual(got["c2"], customer("c2", "b@x")) || !reflect.DeepEqual(got["c3"], customer("c3", "c@x")) {
		t.Errorf("BatchGetItem = %v", bg.Responses["customers"])
	}
	if !reflect.DeepEqual(bg.Responses["open"], []map[string]types.AttributeValue{open}) {
		t.Errorf("BatchGetItem on the open table = %v", bg.Responses["open"])
	}
	tg, err := f.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("open"), Key: key("o1")}},
		{Get: &types.Get{TableName: aws.String("customers"), Key: key("c3")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tg.Responses[0].Item, open) || !reflect.DeepEqual(tg.Responses[1].Item, customer("c3", "c@x")) {
		t.Errorf("TransactGetItems = %v", tg.Responses)
	}
}

// TestUnprocessedItemsAreTheCallersOwn checks that puts DynamoDB did not
// process come back as the caller's plaintext requests, which can be sent
// again.
func TestUnprocessedItemsAreTheCallersOwn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.db.hold = 1
	ctx := t.Context()
	reqs := map[string][]types.WriteRequest{"customers": {
		{PutRequest: &types.PutRequest{Item: customer("c1", "a@x")}},
		{DeleteRequest: &types.DeleteRequest{Key: key("c9")}},
	}}
	out, err := f.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: reqs})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.UnprocessedItems["customers"], reqs["customers"][:1]) {
		t.Fatalf("UnprocessedItems = %v", out.UnprocessedItems)
	}
	f.db.hold = 0
	if _, err := f.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: out.UnprocessedItems}); err != nil {
		t.Fatalf("sending the unprocessed items again: %v", err)
	}
	got, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: key("c1")})
	if err != nil || !reflect.DeepEqual(got.Item, customer("c1", "a@x")) {
		t.Errorf("after the retry: %v, %v", got.Item, err)
	}
}

// TestPassThrough checks that a table without a config is neither
// encrypted nor checked, and that a table ARN names its table.
func TestPassThrough(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	in := &dynamodb.PutItemInput{TableName: aws.String("open"), Item: map[string]types.AttributeValue{"id": s("o"), "aws_dbe_x": s("y")},
		ConditionExpression: aws.String("attribute_not_exists(email)")}
	if _, err := f.client.PutItem(ctx, in); err != nil {
		t.Fatal(err)
	}
	if f.db.last.(*dynamodb.PutItemInput) != in {
		t.Error("a request on an unconfigured table was not sent as given")
	}
	arn := "arn:aws:dynamodb:us-east-1:111122223333:table/customers"
	f.db.table(arn, "id")
	if _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(arn), Item: customer("c1", "a@x")}); err != nil {
		t.Fatal(err)
	}
	if holds(f.db.raw(arn, key("c1")), "a@x") {
		t.Error("a put through the table's ARN was not encrypted")
	}
}

// TestRequireTableConfig checks that, when required, a table without a
// config is refused on every operation.
func TestRequireTableConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *ddbenc.Config) { c.RequireTableConfig = true })
	ctx := t.Context()
	open := aws.String("open")
	const rule = "the client requires one for every table"
	calls := map[string]func() error{
		"PutItem": func() error { _, err := f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: open}); return err },
		"GetItem": func() error { _, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: open}); return err },
		"DeleteItem": func() error {
			_, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: open})
			return err
		},
		"UpdateItem": func() error {
			_, err := f.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: open})
			return err
		},
		"Query": func() error { _, err := f.client.Query(ctx, &dynamodb.QueryInput{TableName: open}); return err },
		"Scan":  func() error { _, err := f.client.Scan(ctx, &dynamodb.ScanInput{}); return err },
		"BatchWriteItem": func() error {
			_, err := f.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"open": nil}})
			return err
		},
		"BatchGetItem": func() error {
			_, err := f.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"open": {}}})
			return err
		},
		"TransactWriteItems": func() error {
			_, err := f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Delete: &types.Delete{TableName: open}}}})
			return err
		},
		"TransactGetItems": func() error {
			_, err := f.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{{Get: &types.Get{TableName: open}}}})
			return err
		},
	}
	for op, call := range calls {
		before := f.db.callCount()
		err := call()
		mustRefuse(t, f.db, before, err, rule)
		if !strings.Contains(err.Error(), op) {
			t.Errorf("%s: error %q does not name the operation", op, err)
		}
	}
}

// TestUnparsableARNRefused checks that a TableName that looks like an ARN
// but names no table is refused rather than passed through.
func TestUnparsableARNRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, name := range []string{"arn:aws:dynamodb:us-east-1:1:customers", "arn:aws:s3:::bucket", "arn:aws:dynamodb:r:a:table/"} {
		_, err := f.client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(name), Key: key("c1")})
		mustRefuse(t, f.db, 0, err, "cannot tell which table")
	}
}

// TestEncryptFailureSendsNothing checks that an item the engine cannot
// encrypt stops a batch and a transaction before anything is sent.
func TestEncryptFailureSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	bad := map[string]types.AttributeValue{"id": s("x"), "unconfigured": s("y")}
	_, err := f.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"customers": {{PutRequest: &types.PutRequest{Item: customer("c1", "a")}}, {PutRequest: &types.PutRequest{Item: bad}}}}})
	if !errors.Is(err, item.ErrInvalidItem) {
		t.Errorf("BatchWriteItem: %v, want ErrInvalidItem", err)
	}
	_, err = f.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("customers"), Item: customer("c1", "a")}},
		{Put: &types.Put{TableName: aws.String("customers"), Item: map[string]types.AttributeValue{"id": s("x"), "aws_dbe_head": b(nil)}}}}})
	if !errors.Is(err, item.ErrInvalidItem) || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("TransactWriteItems: %v, want a reserved-name ErrInvalidItem", err)
	}
	if f.db.callCount() != 0 {
		t.Errorf("%d requests sent", f.db.callCount())
	}
}
