package ddbenc_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// ordersConfig is the emulator tests' table: a partition and a sort key,
// every attribute type, two encrypted attributes of which one searchable.
func ordersConfig(kr materials.Keyring, bk beacon.Key, suite materials.SuiteID) ddbenc.TableConfig {
	return ddbenc.TableConfig{
		PartitionKey: "customer", SortKey: "n",
		Actions: map[string]item.Action{
			"customer": item.SignOnly, "n": item.SignOnly, "total": item.SignOnly, "blob": item.SignOnly,
			"email": item.EncryptAndSign, "card": item.EncryptAndSign, "tags": item.EncryptAndSign, "doc": item.EncryptAndSign,
		},
		AllowedUnsignedPrefix: "u_",
		Suite:                 suite,
		Keyring:               kr,
		Search:                &ddbenc.Search{Key: bk, Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 16}}},
	}
}

func order(customer string, i int, email string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"customer": s(customer), "n": n2(i), "total": n("12.50"), "blob": b([]byte{0, 1, 2}),
		"email": s(email), "card": s(fmt.Sprintf("4111-%s-%d", customer, i)),
		"tags": &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
		"doc": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), &types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberBOOL{Value: true}}},
			"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
			"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
			"deep": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": s("v")}}}},
		"u_note": s("free"),
	}
}

func n2(i int) types.AttributeValue { return n(fmt.Sprint(i)) }

func orderKey(customer string, i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"customer": s(customer), "n": n2(i)}
}

// emulatorKeyrings are the keyrings every round trip runs with.
func emulatorKeyrings(t *testing.T, e *emulator) map[string]func() (materials.Keyring, beacon.Key, materials.SuiteID) {
	return map[string]func() (materials.Keyring, beacon.Key, materials.SuiteID){
		"hierarchical over a KMS-rooted key store": func() (materials.Keyring, beacon.Key, materials.SuiteID) {
			kr, bk := e.hierarchical(t)
			return kr, bk, materials.SuiteSymSig
		},
		"hierarchical, suite 0x6701": func() (materials.Keyring, beacon.Key, materials.SuiteID) {
			kr, bk := e.hierarchical(t)
			return kr, bk, materials.SuiteECDSA
		},
		"AWS KMS": func() (materials.Keyring, beacon.Key, materials.SuiteID) {
			return e.awsKMS(t), beaconKey(t), materials.SuiteSymSig
		},
		"raw AES": func() (materials.Keyring, beacon.Key, materials.SuiteID) {
			return rawKeyring(t), beaconKey(t), materials.SuiteSymSig
		},
	}
}

// TestEmulatorRoundTrip writes through every write operation and reads
// through every read operation on dynalite, with each keyring, and checks
// that nothing readable is stored.
func TestEmulatorRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	for name, keyring := range emulatorKeyrings(t, e) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			kr, bk, suite := keyring()
			table := e.createTable(t, "orders_"+tableSafe(name), "customer", "n", "aws_dbe_b_email")
			c, err := ddbenc.New(e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{table: ordersConfig(kr, bk, suite)}})
			if err != nil {
				t.Fatal(err)
			}
			rt := roundTrip{t: t, e: e, c: c, table: aws.String(table)}
			rt.writes()
			rt.reads()
			rt.searches()
			rt.updatesAndDeletes()
		})
	}
}

type roundTrip struct {
	t     *testing.T
	e     *emulator
	c     *ddbenc.Client
	table *string
}

// want is every item the writes leave: customer "a" orders 1 to 4.
func (rt roundTrip) want(i int) map[string]types.AttributeValue {
	return order("a", i, fmt.Sprintf("a%d@example.com", i%2))
}

func (rt roundTrip) writes() {
	t, ctx := rt.t, emuContext(rt.t)
	if _, err := rt.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: rt.table, Item: rt.want(1), ConditionExpression: aws.String("attribute_not_exists(customer)")}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	if _, err := rt.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		*rt.table: {{PutRequest: &types.PutRequest{Item: rt.want(2)}}, {PutRequest: &types.PutRequest{Item: rt.want(3)}}}}}); err != nil {
		t.Fatalf("BatchWriteItem: %v", err)
	}
	_, err := rt.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: rt.table, Item: rt.want(4)}},
		{ConditionCheck: &types.ConditionCheck{TableName: rt.table, Key: orderKey("a", 1), ConditionExpression: aws.String("total = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": n("12.5")}}}}})
	if unsupported(t, "TransactWriteItems", err) {
		_, err = rt.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: rt.table, Item: rt.want(4)})
	}
	if err != nil {
		t.Fatalf("TransactWriteItems: %v", err)
	}
	for i := 1; i <= 4; i++ {
		stored := rt.e.rawGet(t, *rt.table, orderKey("a", i))
		for _, secret := range []string{fmt.Sprintf("a%d@example.com", i%2), fmt.Sprintf("4111-a-%d", i)} {
			if holds(stored, secret) {
				t.Errorf("order %d is stored with %q readable", i, secret)
			}
		}
		if _, ok := stored["aws_dbe_b_email"]; !ok {
			t.Errorf("order %d has no beacon", i)
		}
	}
}

func (rt roundTrip) reads() {
	t, ctx := rt.t, emuContext(rt.t)
	g, err := rt.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: rt.table, Key: orderKey("a", 1), ConsistentRead: aws.Bool(true)})
	if err != nil || !sameItem(g.Item, rt.want(1)) {
		t.Fatalf("GetItem = %v, %v", show(g.Item), err)
	}
	bg, err := rt.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		*rt.table: {Keys: []map[string]types.AttributeValue{orderKey("a", 2), orderKey("a", 3)}, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		t.Fatalf("BatchGetItem: %v", err)
	}
	rt.same("BatchGetItem", bg.Responses[*rt.table], 2, 3)
	tg, err := rt.c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: rt.table, Key: orderKey("a", 4)}}}})
	if !unsupported(t, "TransactGetItems", err) && (err != nil || !sameItem(tg.Responses[0].Item, rt.want(4))) {
		t.Fatalf("TransactGetItems = %v, %v", tg, err)
	}
	var pages []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(rt.c, &dynamodb.QueryInput{TableName: rt.table, KeyConditionExpression: aws.String("customer = :c AND n >= :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": s("a"), ":one": n("1")}, Limit: aws.Int32(3), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("Query page: %v", err)
		}
		pages = append(pages, out.Items...)
	}
	rt.same("Query", pages, 1, 2, 3, 4)
	sc, err := rt.c.Scan(ctx, &dynamodb.ScanInput{TableName: rt.table, FilterExpression: aws.String("n > :two"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":two": n("2")}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	rt.same("Scan", sc.Items, 3, 4)
}

// searches queries the beacon index and scans on the searchable attribute.
func (rt roundTrip) searches() {
	t, ctx := rt.t, emuContext(rt.t)
	q, err := rt.c.Query(ctx, &dynamodb.QueryInput{TableName: rt.table, IndexName: aws.String("by_aws_dbe_b_email"),
		KeyConditionExpression: aws.String("email = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": s("a1@example.com")}})
	if err != nil {
		t.Fatalf("Query on the beacon index: %v", err)
	}
	rt.same("Query on the beacon index", q.Items, 1, 3)
	sc, err := rt.c.Scan(ctx, &dynamodb.ScanInput{TableName: rt.table, FilterExpression: aws.String("#e = :e AND n < :four"),
		ExpressionAttributeNames: map[string]string{"#e": "email"}, ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": s("a0@example.com"), ":four": n("4")}})
	if err != nil {
		t.Fatalf("Scan on the searchable attribute: %v", err)
	}
	rt.same("Scan on the searchable attribute", sc.Items, 2)
}

func (rt roundTrip) updatesAndDeletes() {
	t, ctx := rt.t, emuContext(rt.t)
	up, err := rt.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: rt.table, Key: orderKey("a", 1),
		UpdateExpression: aws.String("SET u_note = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("changed")},
		ReturnValues: types.ReturnValueAllNew})
	if err != nil {
		t.Fatalf("UpdateItem: %v", err)
	}
	want := rt.want(1)
	want["u_note"] = s("changed")
	if !sameItem(up.Attributes, want) {
		t.Errorf("UpdateItem ALL_NEW = %v", show(up.Attributes))
	}
	old, err := rt.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: rt.table, Item: rt.want(1), ReturnValues: types.ReturnValueAllOld})
	if err != nil || !sameItem(old.Attributes, want) {
		t.Errorf("PutItem ALL_OLD = %v, %v", show(old.Attributes), err)
	}
	del, err := rt.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: rt.table, Key: orderKey("a", 4), ReturnValues: types.ReturnValueAllOld,
		ConditionExpression: aws.String("attribute_exists(customer)")})
	if err != nil || !sameItem(del.Attributes, rt.want(4)) {
		t.Errorf("DeleteItem ALL_OLD = %v, %v", show(del.Attributes), err)
	}
	_, err = rt.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: rt.table, Key: orderKey("a", 1),
		UpdateExpression: aws.String("SET total = :v"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("0")}})
	if err == nil {
		t.Error("an update of a signed attribute was sent")
	}
	if g, err := rt.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: rt.table, Key: orderKey("a", 1), ConsistentRead: aws.Bool(true)}); err != nil || !sameItem(g.Item, rt.want(1)) {
		t.Errorf("after the refused update: %v, %v", g, err)
	}
}

// same checks that items are exactly the orders numbered ns, in any order.
func (rt roundTrip) same(op string, items []map[string]types.AttributeValue, ns ...int) {
	rt.t.Helper()
	sort.Slice(items, func(i, j int) bool {
		return items[i]["n"].(*types.AttributeValueMemberN).Value < items[j]["n"].(*types.AttributeValueMemberN).Value
	})
	if len(items) != len(ns) {
		rt.t.Fatalf("%s returned %d items, want %d", op, len(items), len(ns))
	}
	for i, want := range ns {
		if !sameItem(items[i], rt.want(want)) {
			rt.t.Errorf("%s item %d = %v, want %v", op, i, show(items[i]), show(rt.want(want)))
		}
	}
}

// unsupported reports (and logs) that the emulator does not implement op:
// dynalite 4 has no transactions. The fake covers them (TestBatchAndTransactions).
func unsupported(t *testing.T, op string, err error) bool {
	t.Helper()
	if api, ok := errors.AsType[smithy.APIError](err); ok && api.ErrorCode() == "UnknownOperationException" {
		t.Logf("%s: the emulator does not implement it (dynalite 4 has no transactions); TestBatchAndTransactions covers it on the fake", op)
		return true
	}
	return false
}

// tableSafe turns a subtest name into table name characters.
func tableSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}
