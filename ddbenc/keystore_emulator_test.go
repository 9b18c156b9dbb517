package ddbenc_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
)

// TestEmulatorKeyStoreLifecycle is a library user's key store on dynalite
// and local-kms, in the MPL layout: create a branch key, encrypt under
// it, version it, encrypt under the new version, and read both items; the
// old version and the beacon key stay readable, and the table holds the
// MPL's items (branch:ACTIVE, branch:version:<v> for each version,
// beacon:ACTIVE).
func TestEmulatorKeyStoreLifecycle(t *testing.T) {
	e := newEmulator(t)
	ctx := emuContext(t)
	ks, id := e.keyStore(t)
	first, err := ks.ActiveKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	beaconBefore, err := ks.BeaconKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	table := e.createTable(t, "ks_items", "id", "")
	clientNow := func() *ddbenc.Client { // a new keyring: no cached active key
		kr, err := hierarchy.New(id, ks, hierarchy.NewCache(hierarchy.DefaultTTL, 10, nil))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ddbenc.New(e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{table: {
			PartitionKey: "id", Actions: map[string]item.Action{"id": item.SignOnly, "secret": item.EncryptAndSign}, Keyring: kr}}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	put(t, clientNow(), table, "before", "s1")

	second, err := ks.Version(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	active, err := ks.ActiveKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	old, err := ks.KeyVersion(ctx, id, first.Version)
	if err != nil {
		t.Fatal(err)
	}
	beaconAfter, err := ks.BeaconKey(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case second == first.Version || active.Version != second:
		t.Fatalf("Version made %s; active is %s, first was %s", second, active.Version, first.Version)
	case active.Key.Equal(first.Key):
		t.Fatal("the new version has the old version's key")
	case !old.Key.Equal(first.Key):
		t.Fatal("the old version reads back with another key")
	case !beaconAfter.Equal(beaconBefore):
		t.Fatal("versioning changed the beacon key")
	}
	c := clientNow()
	put(t, c, table, "after", "s2")
	for id, want := range map[string]string{"before": "s1", "after": "s2"} {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": s(id)}})
		if err != nil {
			t.Fatalf("GetItem %s: %v", id, err)
		}
		if got := out.Item["secret"].(*types.AttributeValueMemberS).Value; got != want {
			t.Fatalf("%s reads %q; want %q", id, got, want)
		}
	}
	checkKeyStoreLayout(t, e, ks, id, []string{first.Version, second})
}

func put(t *testing.T, c *ddbenc.Client, table, id, secret string) {
	t.Helper()
	if _, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table),
		Item: map[string]types.AttributeValue{"id": s(id), "secret": s(secret)}}); err != nil {
		t.Fatal(err)
	}
}

// checkKeyStoreLayout reads the key store's table with the bare SDK: the
// MPL's items for branch key id, and its versions.
func checkKeyStoreLayout(t *testing.T, e *emulator, ks *keystore.Store, id string, versions []string) {
	t.Helper()
	out, err := e.ddb.Query(emuContext(t), &dynamodb.QueryInput{
		TableName:                 aws.String(e.prefix + "keys"),
		KeyConditionExpression:    aws.String("#id = :id"),
		ExpressionAttributeNames:  map[string]string{"#id": "branch-key-id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": s(id)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var types_ []string
	for _, it := range out.Items {
		types_ = append(types_, it["type"].(*types.AttributeValueMemberS).Value)
		if _, ok := it["enc"].(*types.AttributeValueMemberB); !ok {
			t.Errorf("key store item %v has no wrapped key (enc)", it["type"])
		}
	}
	want := []string{"beacon:ACTIVE", "branch:ACTIVE"}
	for _, v := range versions {
		want = append(want, "branch:version:"+v)
	}
	slices.Sort(types_)
	slices.Sort(want)
	if !slices.Equal(types_, want) {
		t.Fatalf("key store %s holds %v for %s; want %v", ks.Name(), types_, id, want)
	}
}
