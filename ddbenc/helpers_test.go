package ddbenc_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/rawaes"
	"github.com/sealstore/sealstore/materials"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func b(v []byte) types.AttributeValue { return &types.AttributeValueMemberB{Value: v} }

func randomBytes(size int) []byte {
	out := make([]byte, size)
	rand.Read(out)
	return out
}

func rawKeyring(t testing.TB) materials.Keyring {
	t.Helper()
	k, err := rawaes.New("ddbenc-test", "key-1", randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func beaconKey(t testing.TB) beacon.Key {
	t.Helper()
	k, err := beacon.NewKey(randomBytes(beacon.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// customersConfig is the table the unit tests use: id and country signed,
// name, email and card encrypted, u_* unsigned, a short beacon on email
// (so that collisions are common).
func customersConfig(t testing.TB, kr materials.Keyring) ddbenc.TableConfig {
	t.Helper()
	return ddbenc.TableConfig{
		PartitionKey: "id",
		Actions: map[string]item.Action{
			"id": item.SignOnly, "country": item.SignOnly,
			"name": item.EncryptAndSign, "email": item.EncryptAndSign, "card": item.EncryptAndSign,
		},
		AllowedUnsignedPrefix: "u_",
		Keyring:               kr,
		Search:                &ddbenc.Search{Key: beaconKey(t), Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 4}}},
	}
}

// fixture is a client on a memDB with the customers table configured and
// an "open" table that is not.
type fixture struct {
	db     *memDB
	client *ddbenc.Client
	cfg    ddbenc.TableConfig
}

func newFixture(t testing.TB, mutate ...func(*ddbenc.Config)) *fixture {
	t.Helper()
	db := newMemDB()
	db.table("customers", "id")
	db.table("open", "id")
	cfg := ddbenc.Config{Tables: map[string]ddbenc.TableConfig{"customers": customersConfig(t, rawKeyring(t))}}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := ddbenc.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, client: c, cfg: cfg.Tables["customers"]}
}

func customer(id, email string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"id": s(id), "country": s("NZ"), "name": s("Name of " + id), "email": s(email),
		"card": s("4111-" + id), "u_note": s("unsigned " + id),
	}
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": s(id)}
}

// mustRefuse checks that err is a refusal naming want, and that no request
// was sent.
func mustRefuse(t testing.TB, db *memDB, before int, err error, want string) {
	t.Helper()
	if !errors.Is(err, ddbenc.ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if got := db.callCount(); got != before {
		t.Errorf("%d requests sent for a refused one", got-before)
	}
}

// mustBeOpaque checks that err is the engine's decryption failure, and
// that its text says no more than that.
func mustBeOpaque(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if !errors.Is(err, item.ErrDecrypt) {
		t.Fatalf("err = %v, want item.ErrDecrypt", err)
	}
	text := fmt.Sprintf("%v %+v", err, err)
	if !strings.HasSuffix(err.Error(), item.ErrDecrypt.Error()) {
		t.Errorf("error %q says more than %q", err, item.ErrDecrypt)
	}
	if r := item.Reason(err); r != "" && strings.Contains(err.Error(), r) {
		t.Errorf("error %q gives its reason %q", err, r)
	}
	for _, sec := range secrets {
		if strings.Contains(text, sec) {
			t.Errorf("error %q holds %q", text, sec)
		}
	}
}

// holds reports whether any value of the stored item contains plain.
func holds(stored map[string]types.AttributeValue, plain string) bool {
	for _, v := range stored {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			if strings.Contains(v.Value, plain) {
				return true
			}
		case *types.AttributeValueMemberB:
			if bytes.Contains(v.Value, []byte(plain)) {
				return true
			}
		}
	}
	return false
}

func str(p *string) string { return aws.ToString(p) }

func putInput(it map[string]types.AttributeValue) *dynamodb.PutItemInput {
	return &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it}
}
