package ddbenc_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
)

// policyClients are clients on one memDB with the customers table (no beacons:
// they cannot be combined with a plaintext policy) under policy p, sharing
// one keyring with the other policies' clients.
type policyClients struct {
	db      *memDB
	clients map[ddbenc.PlaintextPolicy]*ddbenc.Client
}

func newPolicyClients(t *testing.T) *policyClients {
	t.Helper()
	db := newMemDB()
	db.table("customers", "id")
	kr := rawKeyring(t)
	pc := &policyClients{db: db, clients: map[ddbenc.PlaintextPolicy]*ddbenc.Client{}}
	for _, p := range []ddbenc.PlaintextPolicy{ddbenc.ForcePlaintextWriteAllowPlaintextRead,
		ddbenc.ForbidPlaintextWriteAllowPlaintextRead, ddbenc.ForbidPlaintextWriteForbidPlaintextRead} {
		tc := customersConfig(t, kr)
		tc.Search, tc.Plaintext = nil, p
		c, err := ddbenc.New(db, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{"customers": tc}})
		if err != nil {
			t.Fatal(err)
		}
		pc.clients[p] = c
	}
	return pc
}

// TestPlaintextPolicies checks, for each policy, what a write stores and
// which stored items (plaintext, encrypted) a read returns.
func TestPlaintextPolicies(t *testing.T) {
	t.Parallel()
	pc := newPolicyClients(t)
	ctx := t.Context()
	plain := customer("p", "p@example.com")
	pc.db.putRaw("customers", plain) // written before any client, as in a plaintext table
	enc := customer("e", "e@example.com")
	if _, err := pc.clients[ddbenc.ForbidPlaintextWriteForbidPlaintextRead].PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: enc}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy         ddbenc.PlaintextPolicy
		writesPlain    bool
		readsPlaintext bool
	}{
		{ddbenc.ForcePlaintextWriteAllowPlaintextRead, true, true},
		{ddbenc.ForbidPlaintextWriteAllowPlaintextRead, false, true},
		{ddbenc.ForbidPlaintextWriteForbidPlaintextRead, false, false},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			c := pc.clients[tc.policy]
			w := customer("w-"+tc.policy.String(), "w@example.com")
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: w}); err != nil {
				t.Fatal(err)
			}
			stored := pc.db.raw("customers", w)
			if got := reflect.DeepEqual(stored, w); got != tc.writesPlain {
				t.Errorf("stored as written: %v, want %v", got, tc.writesPlain)
			}
			if _, err := read(t, c, enc); err != nil {
				t.Errorf("encrypted item: %v", err)
			}
			got, err := read(t, c, plain)
			switch {
			case tc.readsPlaintext && (err != nil || !reflect.DeepEqual(got, plain)):
				t.Errorf("plaintext item: %v, %v", got, err)
			case !tc.readsPlaintext:
				mustBeOpaque(t, err)
			}
		})
	}
}

func read(t *testing.T, c *ddbenc.Client, it map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	t.Helper()
	out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("customers"), Key: map[string]types.AttributeValue{"id": it["id"]}})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// TestPlaintextReadIsNotAnyItem checks that "plaintext" means neither
// header nor footer: an item with one of them is still decrypted (and
// fails), and a plaintext item loses any aws_dbe_ attribute.
func TestPlaintextReadIsNotAnyItem(t *testing.T) {
	t.Parallel()
	pc := newPolicyClients(t)
	c := pc.clients[ddbenc.ForbidPlaintextWriteAllowPlaintextRead]
	halfway := customer("h", "h@example.com")
	halfway["aws_dbe_foot"] = b([]byte{1, 2, 3})
	pc.db.putRaw("customers", halfway)
	_, err := read(t, c, halfway)
	mustBeOpaque(t, err)
	withBeacon := customer("wb", "x@example.com")
	withBeacon["aws_dbe_b_email"] = s("1")
	pc.db.putRaw("customers", withBeacon)
	got, err := read(t, c, withBeacon)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["aws_dbe_b_email"]; ok || !reflect.DeepEqual(got, customer("wb", "x@example.com")) {
		t.Errorf("plaintext item read as %v", got)
	}
}

// TestForcePlaintextStillChecks checks that writing plaintext keeps the
// rules: reserved names, and conditions on encrypted attributes.
func TestForcePlaintextStillChecks(t *testing.T) {
	t.Parallel()
	pc := newPolicyClients(t)
	c := pc.clients[ddbenc.ForcePlaintextWriteAllowPlaintextRead]
	ctx := t.Context()
	it := customer("r", "r@example.com")
	it["aws_dbe_head"] = b([]byte{1})
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it})
	if !errors.Is(err, item.ErrInvalidItem) {
		t.Errorf("reserved name under force-plaintext: %v", err)
	}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: customer("r", "r"), ConditionExpression: aws.String("attribute_not_exists(email)")})
	mustRefuse(t, pc.db, 0, err, "encrypted attribute")
}

// TestPoliciesParse checks the DB-ESDK names.
func TestPoliciesParse(t *testing.T) {
	t.Parallel()
	for _, p := range []ddbenc.PlaintextPolicy{0, 1, 2} {
		got, err := ddbenc.ParsePlaintextPolicy(p.String())
		if err != nil || got != p {
			t.Errorf("%v: %v, %v", p, got, err)
		}
	}
	if _, err := ddbenc.ParsePlaintextPolicy("ALLOW_EVERYTHING"); err == nil {
		t.Error("unknown policy parsed")
	}
	if s := ddbenc.PlaintextPolicy(7).String(); !strings.Contains(s, "7") {
		t.Errorf("String of an unknown policy = %q", s)
	}
}
