package ddbenc_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
)

const beaconRecords = 48 // more than 2^5: every beacon of 5 bits or fewer collides

// beaconTable has 63 encrypted attributes e1..e63, attribute eL with an
// L-bit beacon, and beacon indexes for three lengths.
type beaconTable struct {
	e       *emulator
	table   string
	c       *ddbenc.Client
	beacons map[int]beacon.Standard
}

var indexedLengths = []int{1, 16, 63}

func newBeaconTable(t *testing.T, e *emulator) *beaconTable {
	t.Helper()
	bk := beaconKey(t)
	tc := ddbenc.TableConfig{PartitionKey: "id", Actions: map[string]item.Action{"id": item.SignOnly}, Keyring: rawKeyring(t),
		Search: &ddbenc.Search{Key: bk}}
	bt := &beaconTable{e: e, beacons: map[int]beacon.Standard{}}
	for l := beacon.MinLength; l <= beacon.MaxLength; l++ {
		name := fmt.Sprintf("e%d", l)
		tc.Actions[name] = item.EncryptAndSign
		tc.Search.Beacons = append(tc.Search.Beacons, ddbenc.StandardBeacon{Name: name, Length: l})
		st, err := bk.Standard(name, l)
		if err != nil {
			t.Fatal(err)
		}
		bt.beacons[l] = st
	}
	var gsis []string
	for _, l := range indexedLengths {
		gsis = append(gsis, fmt.Sprintf("aws_dbe_b_e%d", l))
	}
	bt.table = e.createTable(t, "beacons", "id", "", gsis...)
	c, err := ddbenc.New(e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{bt.table: tc}})
	if err != nil {
		t.Fatal(err)
	}
	bt.c = c
	return bt
}

func beaconRecord(i int) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{"id": s(fmt.Sprintf("r%d", i))}
	for l := beacon.MinLength; l <= beacon.MaxLength; l++ {
		it[fmt.Sprintf("e%d", l)] = s(fmt.Sprintf("value-%d", i))
	}
	return it
}

// hash is record i's beacon at length l, computed here.
func (bt *beaconTable) hash(t *testing.T, l, i int) string {
	t.Helper()
	h, err := bt.beacons[l].Hash([]byte(fmt.Sprintf("value-%d", i)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sharers returns, for length l, the records whose beacon is record i's.
func (bt *beaconTable) sharers(t *testing.T, l, i int) int {
	n := 0
	for j := range beaconRecords {
		if bt.hash(t, l, j) == bt.hash(t, l, i) {
			n++
		}
	}
	return n
}

// TestEmulatorBeaconLengths writes records whose beacons of 1 to 63 bits
// collide as often as their length makes them, and searches each length
// on dynalite: the server returns every record sharing the beacon (checked
// with the bare client and beacons computed here), the client only the
// exact match.
func TestEmulatorBeaconLengths(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	bt := newBeaconTable(t, e)
	ctx := emuContext(t)
	for i := range beaconRecords {
		if _, err := bt.c.PutItem(ctx, putInto(bt.table, beaconRecord(i))); err != nil {
			t.Fatal(err)
		}
	}
	collisions := 0
	for l := beacon.MinLength; l <= beacon.MaxLength; l++ {
		collided := false
		for _, i := range bt.probes(t, l) {
			shared := bt.sharers(t, l, i)
			collisions += shared - 1
			collided = collided || shared > 1
			bt.search(t, l, i, shared)
		}
		if l <= 5 && !collided {
			t.Fatalf("length %d: no record searched for shares its beacon", l)
		}
	}
	if collisions == 0 {
		t.Fatal("no beacon collided: the test proves nothing")
	}
}

// probes picks the records to search for at length l: a few spread out,
// and the first one whose beacon another record shares.
func (bt *beaconTable) probes(t *testing.T, l int) []int {
	out := []int{0, beaconRecords - 1}
	for i := range beaconRecords {
		if bt.sharers(t, l, i) > 1 {
			return append(out, i)
		}
	}
	return out
}

// search runs the searches for record i at length l.
func (bt *beaconTable) search(t *testing.T, l, i, shared int) {
	t.Helper()
	ctx := emuContext(t)
	name, value := fmt.Sprintf("e%d", l), s(fmt.Sprintf("value-%d", i))
	raw, err := bt.e.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(bt.table), FilterExpression: aws.String("#b = :h"),
		ExpressionAttributeNames:  map[string]string{"#b": "aws_dbe_b_" + name},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": s(bt.hash(t, l, i))}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if int(raw.Count) != shared {
		t.Fatalf("length %d: DynamoDB holds %d items with record %d's beacon, computed %d", l, raw.Count, i, shared)
	}
	sc, err := bt.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(bt.table), FilterExpression: aws.String(name + " = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": value}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	bt.exactly(t, "Scan", l, i, sc.Items)
	for _, indexed := range indexedLengths {
		if indexed != l {
			continue
		}
		q, err := bt.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(bt.table), IndexName: aws.String("by_aws_dbe_b_" + name),
			KeyConditionExpression: aws.String("#n = :v"), ExpressionAttributeNames: map[string]string{"#n": name},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": value}})
		if err != nil {
			t.Fatal(err)
		}
		bt.exactly(t, "Query", l, i, q.Items)
	}
}

func (bt *beaconTable) exactly(t *testing.T, op string, l, i int, items []map[string]types.AttributeValue) {
	t.Helper()
	if len(items) != 1 || !sameItem(items[0], beaconRecord(i)) {
		t.Fatalf("length %d: %s for record %d returned %d items", l, op, i, len(items))
	}
}
