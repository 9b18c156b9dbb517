package ddbenc_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
)

// TestEmulatorTamper stores, with the bare client, tampered copies of
// items the encrypting client wrote to dynalite (bit flips in the header,
// footer and an encrypted attribute, an attribute moved between items, an
// item copied under another key) and reads each through GetItem, Query
// and Scan: every read fails with the one opaque error. The exhaustive
// bit-by-bit version runs on the fake (TestBitFlips).
func TestEmulatorTamper(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	kr, bk := e.hierarchical(t)
	table := e.createTable(t, "tamper", "customer", "n", "aws_dbe_b_email")
	c, err := ddbenc.New(e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{table: ordersConfig(kr, bk, materials.SuiteSymSig)}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := c.PutItem(emuContext(t), putInto(table, order("t", i, fmt.Sprintf("t%d@example.com", i)))); err != nil {
			t.Fatal(err)
		}
	}
	a, other := e.rawGet(t, table, orderKey("t", 1)), e.rawGet(t, table, orderKey("t", 2))
	for name, bad := range emulatorTampers(a, other) {
		t.Run(name, func(t *testing.T) {
			ctx := emuContext(t)
			key := map[string]types.AttributeValue{"customer": bad["customer"], "n": bad["n"]}
			e.rawPut(t, table, bad)
			defer func() {
				if _, err := e.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key}); err != nil {
					t.Fatal(err)
				}
				e.rawPut(t, table, a)
			}()
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
			mustBeOpaque(t, err, "t1@example.com", "4111-t-")
			_, err = c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), KeyConditionExpression: aws.String("customer = :c"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": bad["customer"]}, ConsistentRead: aws.Bool(true)})
			mustBeOpaque(t, err, "t1@example.com", "4111-t-")
			_, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
			mustBeOpaque(t, err, "t1@example.com", "4111-t-")
		})
	}
	if _, err := c.GetItem(emuContext(t), &dynamodb.GetItemInput{TableName: aws.String(table), Key: orderKey("t", 1), ConsistentRead: aws.Bool(true)}); err != nil {
		t.Fatalf("the restored item does not read: %v", err)
	}
}

// emulatorTampers returns tampered copies of a, by name.
func emulatorTampers(a, other map[string]types.AttributeValue) map[string]map[string]types.AttributeValue {
	out := map[string]map[string]types.AttributeValue{}
	for _, name := range []string{"aws_dbe_head", "aws_dbe_foot", "card"} {
		v := a[name].(*types.AttributeValueMemberB).Value
		for _, bit := range []int{0, 7, len(v) * 4, len(v)*8 - 1} {
			bad := maps.Clone(a)
			bad[name] = b(keyringtest.FlipBit(v, bit))
			out[fmt.Sprintf("%s bit %d", name, bit)] = bad
		}
	}
	moved := maps.Clone(a)
	moved["card"] = other["card"]
	out["card moved from another item"] = moved
	copied := maps.Clone(a)
	copied["n"] = n("99")
	out["item copied under another key"] = copied
	return out
}
