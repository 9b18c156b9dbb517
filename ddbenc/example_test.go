package ddbenc_test

// The examples that talk to DynamoDB and KMS are compiled but not run (they
// have no Output comment): an Example cannot skip when no DynamoDB is
// there, and the emulators need a private network namespace that a plain
// "go test" does not have. The same flows run as tests on dynalite and
// local-kms: TestEmulatorRoundTrip (put/get, hierarchical keyring over a
// KMS-rooted key store), TestEmulatorBeaconLengths (searchable
// encryption), TestEmulatorPlaintextMigration. The last example needs no
// DynamoDB and runs.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/rawaes"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/store/dynamo"
)

// Put and get an item with the hierarchical keyring: branch keys live in
// a DynamoDB branch key store, wrapped by a KMS key; KMS is called only
// when a branch key enters the keyring's cache.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	root, err := kmsroot.New(kms.NewFromConfig(cfg), "arn:aws:kms:eu-west-1:111122223333:key/0f7ea9ab-1234-4c3d-9e5f-6a7b8c9d0e1f")
	if err != nil {
		log.Fatal(err)
	}
	keys := keystore.New("my-key-store", "branch_keys", dynamo.New(ddb, ""), root)
	branchKeyID := "b5e7e1c4-4b0e-4d7a-9d43-0c3f3f6a2b11" // made once with keys.Create
	keyring, err := hierarchy.New(branchKeyID, keys, hierarchy.NewCache(hierarchy.DefaultTTL, 1000, nil))
	if err != nil {
		log.Fatal(err)
	}
	client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
		"customers": {
			PartitionKey: "id",
			Actions: map[string]item.Action{
				"id":      item.SignOnly,
				"country": item.SignOnly,
				"email":   item.EncryptAndSign,
			},
			Keyring: keyring,
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("customers"),
		Item: map[string]types.AttributeValue{
			"id":      &types.AttributeValueMemberS{Value: "c1"},
			"country": &types.AttributeValueMemberS{Value: "NZ"},
			"email":   &types.AttributeValueMemberS{Value: "ann@example.com"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("customers"),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c1"}},
	})
	if err != nil {
		log.Fatal(err) // a forged or damaged item: errors.Is(err, item.ErrDecrypt)
	}
	fmt.Println(out.Item["email"].(*types.AttributeValueMemberS).Value)
}

// Search an encrypted attribute: the email's beacon, a 16-bit truncated
// HMAC, is stored as aws_dbe_b_email and indexed by a global secondary
// index; the client turns "email = :e" into a condition on it and drops
// the items that matched only by a beacon collision.
func Example_searchableEncryption() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	root, err := kmsroot.New(kms.NewFromConfig(cfg), "arn:aws:kms:eu-west-1:111122223333:key/0f7ea9ab-1234-4c3d-9e5f-6a7b8c9d0e1f")
	if err != nil {
		log.Fatal(err)
	}
	keys := keystore.New("my-key-store", "branch_keys", dynamo.New(ddb, ""), root)
	branchKeyID := "b5e7e1c4-4b0e-4d7a-9d43-0c3f3f6a2b11"
	keyring, err := hierarchy.New(branchKeyID, keys, hierarchy.NewCache(hierarchy.DefaultTTL, 1000, nil))
	if err != nil {
		log.Fatal(err)
	}
	raw, err := keys.BeaconKey(ctx, branchKeyID) // the key store's beacon key for that branch key
	if err != nil {
		log.Fatal(err)
	}
	beaconKey, err := beacon.NewKey(raw.InsecureBytes())
	if err != nil {
		log.Fatal(err)
	}
	client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
		"customers": {
			PartitionKey: "id",
			Actions:      map[string]item.Action{"id": item.SignOnly, "email": item.EncryptAndSign},
			Keyring:      keyring,
			Search: &ddbenc.Search{
				Key:     beaconKey,
				Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 16}},
			},
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String("customers"),
		IndexName:                 aws.String("by_email"), // hash key aws_dbe_b_email (S), projecting ALL
		KeyConditionExpression:    aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "ann@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.Items), "customers with that email")
}

// Move a plaintext table to encryption without downtime, one deployment
// per step. Each step's client reads what the previous one wrote.
func Example_plaintextMigration() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg)
	keyring, err := rawaes.New("my-app", "table-key-1", loadWrappingKey())
	if err != nil {
		log.Fatal(err)
	}
	clientFor := func(policy ddbenc.PlaintextPolicy) *ddbenc.Client {
		c, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
			"customers": {
				PartitionKey: "id",
				Actions:      map[string]item.Action{"id": item.SignOnly, "email": item.EncryptAndSign},
				Keyring:      keyring,
				Plaintext:    policy,
			},
		}})
		if err != nil {
			log.Fatal(err)
		}
		return c
	}
	// Step 1, deployed everywhere: writes stay plaintext, but every
	// instance can already read encrypted items.
	_ = clientFor(ddbenc.ForcePlaintextWriteAllowPlaintextRead)
	// Step 2, deployed everywhere: writes are encrypted, old items still
	// read. Then rewrite every item once, which encrypts the rest.
	step2 := clientFor(ddbenc.ForbidPlaintextWriteAllowPlaintextRead)
	pages := dynamodb.NewScanPaginator(step2, &dynamodb.ScanInput{TableName: aws.String("customers")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, it := range page.Items {
			if _, err := step2.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("customers"), Item: it}); err != nil {
				log.Fatal(err)
			}
		}
	}
	// Step 3: the default policy; a plaintext item now fails to read, as
	// a forged one would.
	_ = clientFor(ddbenc.ForbidPlaintextWriteForbidPlaintextRead)
}

func loadWrappingKey() []byte {
	key := make([]byte, 32) // from a secret manager in production
	rand.Read(key)
	return key
}

// memTable stands in for DynamoDB in a unit test: it implements the two
// calls the test makes (the embedded nil API would panic on any other).
type memTable struct {
	ddbenc.API
	items map[string]map[string]types.AttributeValue
}

func (m *memTable) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.items[in.Item["id"].(*types.AttributeValueMemberS).Value] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: m.items[in.Key["id"].(*types.AttributeValueMemberS).Value]}, nil
}

// In unit tests, a raw AES keyring needs no key store, no KMS and no
// network; with a stand-in for DynamoDB the client runs in memory.
func Example_rawAESForTests() {
	keyring, err := rawaes.New("tests", "test-key", make([]byte, 32)) // a fixed test key: never in production
	if err != nil {
		log.Fatal(err)
	}
	db := &memTable{items: map[string]map[string]types.AttributeValue{}}
	client, err := ddbenc.New(db, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
		"customers": {
			PartitionKey: "id",
			Actions:      map[string]item.Action{"id": item.SignOnly, "email": item.EncryptAndSign},
			Keyring:      keyring,
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("customers"),
		Item: map[string]types.AttributeValue{
			"id":    &types.AttributeValueMemberS{Value: "c1"},
			"email": &types.AttributeValueMemberS{Value: "ann@example.com"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	stored := db.items["c1"]
	email, isBinary := stored["email"].(*types.AttributeValueMemberB)
	fmt.Println("stored email is ciphertext:", isBinary && !bytes.Contains(email.Value, []byte("ann@")))
	fmt.Println("stored attributes:", len(stored)) // id, email, aws_dbe_head, aws_dbe_foot

	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("customers"),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c1"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read back:", out.Item["email"].(*types.AttributeValueMemberS).Value)
	// Output:
	// stored email is ciphertext: true
	// stored attributes: 4
	// read back: ann@example.com
}
