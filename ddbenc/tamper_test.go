package ddbenc_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/keyring/keyringtest"
)

var secrets = []string{"a@example.com", "b@example.com", "4111-", "Name of"}

// tamperFixture stores two customers through the client and returns
// their stored forms.
func tamperFixture(t *testing.T) (*fixture, map[string]types.AttributeValue, map[string]types.AttributeValue) {
	t.Helper()
	f := newFixture(t)
	for _, it := range []map[string]types.AttributeValue{customer("a", "a@example.com"), customer("b", "b@example.com")} {
		if _, err := f.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	return f, f.db.raw("customers", key("a")), f.db.raw("customers", key("b"))
}

// readBack stores a tampered item and reads it through the client.
func (f *fixture) readBack(t *testing.T, stored map[string]types.AttributeValue) error {
	t.Helper()
	f.db.putRaw("customers", stored)
	id := stored["id"]
	_, err := f.client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: map[string]types.AttributeValue{"id": id}})
	return err
}

// TestBitFlips flips every bit of the header, the footer and each
// encrypted attribute: every one is refused with the one opaque error.
func TestBitFlips(t *testing.T) {
	t.Parallel()
	f, a, _ := tamperFixture(t)
	for _, name := range []string{"aws_dbe_head", "aws_dbe_foot", "email", "card", "name"} {
		value := a[name].(*types.AttributeValueMemberB).Value
		for i := range len(value) * 8 {
			bad := maps.Clone(a)
			bad[name] = b(keyringtest.FlipBit(value, i))
			err := f.readBack(t, bad)
			if err == nil {
				t.Fatalf("%s bit %d flipped: read back", name, i)
			}
			mustBeOpaque(t, err, secrets...)
		}
	}
	if err := f.readBack(t, a); err != nil {
		t.Fatalf("the untouched item no longer reads: %v", err)
	}
}

// itemChanges are what an attacker with write access to the table can do
// to the stored item a, given another stored item b.
var itemChanges = []struct {
	name   string
	change func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue
}{
	{"encrypted attribute moved from another item", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["card"] = b["card"]
		return a
	}},
	{"encrypted attributes swapped within the item", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["card"], a["email"] = a["email"], a["card"]
		return a
	}},
	{"item copied under another key", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["id"] = s("z")
		return a
	}},
	{"header and footer from another item", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["aws_dbe_head"], a["aws_dbe_foot"] = b["aws_dbe_head"], b["aws_dbe_foot"]
		return a
	}},
	{"signed attribute changed", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["country"] = s("FR")
		return a
	}},
	{"signed attribute removed", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		delete(a, "country")
		return a
	}},
	{"encrypted attribute removed", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		delete(a, "card")
		return a
	}},
	{"attribute added", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["admin"] = s("true")
		return a
	}},
	{"encrypted attribute replaced by plaintext", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		a["card"] = s("4111-forged")
		return a
	}},
	{"header removed", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		delete(a, "aws_dbe_head")
		return a
	}},
	{"footer truncated", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		foot := a["aws_dbe_foot"].(*types.AttributeValueMemberB).Value
		a["aws_dbe_foot"] = b(foot[:len(foot)-1])
		return a
	}},
	{"header and footer removed", func(a, _ map[string]types.AttributeValue) map[string]types.AttributeValue {
		delete(a, "aws_dbe_head")
		delete(a, "aws_dbe_foot")
		return a
	}},
}

// TestItemChanges checks the changes an attacker with write access to
// the table can make to whole attributes and items.
func TestItemChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range itemChanges {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, a, other := tamperFixture(t)
			bad := tc.change(maps.Clone(a), other)
			err := f.readBack(t, bad)
			if err == nil {
				t.Fatal("read back")
			}
			mustBeOpaque(t, err, secrets...)
			_, err = f.client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("customers")})
			mustBeOpaque(t, err, secrets...)
		})
	}
}

// TestUnsignedChangesPass checks the other side: what the signature does
// not cover may change.
func TestUnsignedChangesPass(t *testing.T) {
	t.Parallel()
	f, a, _ := tamperFixture(t)
	a["u_note"] = s("changed")
	a["u_new"] = s("added")
	if err := f.readBack(t, a); err != nil {
		t.Fatalf("an unsigned change failed to read: %v", err)
	}
}

// TestForgedBeacon checks that a beacon rewritten to match another value
// (beacons are outside the signature) does not make the item match a
// search for that value.
func TestForgedBeacon(t *testing.T) {
	t.Parallel()
	f, a, _ := tamperFixture(t)
	a["aws_dbe_b_email"] = s(f.beaconOf(t, "b@example.com"))
	f.db.putRaw("customers", a)
	out, err := f.client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("customers"), FilterExpression: aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": s("b@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 || !reflect.DeepEqual(out.Items[0]["id"], s("b")) {
		t.Errorf("search for b returned %v", out.Items)
	}
}
