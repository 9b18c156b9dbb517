package ddbenc_test

// These examples talk to DynamoDB and KMS as a program would: credentials,
// region and endpoints come from the environment (config.LoadDefaultConfig
// reads AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS), the KMS key
// that wraps branch keys from KMS_KEY_ARN. Under ./scripts/test, TestMain
// points them at dynalite and local-kms; without the emulators it skips
// them, saying so.

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/internal/emutest"
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
	root, err := kmsroot.New(kms.NewFromConfig(cfg), os.Getenv("KMS_KEY_ARN"))
	if err != nil {
		log.Fatal(err)
	}
	keys := keystore.New("my-key-store", "example_branch_keys", dynamo.New(ddb, ""), root)
	if err := keys.Init(ctx); err != nil { // creates the key store's table if it is missing
		log.Fatal(err)
	}
	branchKeyID := keystore.NewID() // made once, then kept in the application's configuration
	if _, err := keys.Create(ctx, branchKeyID); err != nil {
		log.Fatal(err)
	}
	keyring, err := hierarchy.New(branchKeyID, keys, hierarchy.NewCache(hierarchy.DefaultTTL, 1000, nil))
	if err != nil {
		log.Fatal(err)
	}
	table := createTable(ctx, ddb, "example_customers")
	defer deleteTable(ctx, ddb, table)

	client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
		table: {
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
		TableName: aws.String(table),
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
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c1"}},
	})
	if err != nil {
		log.Fatal(err) // a forged or damaged item: errors.Is(err, item.ErrDecrypt)
	}
	fmt.Println(out.Item["email"].(*types.AttributeValueMemberS).Value)
	// Output: ann@example.com
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
	root, err := kmsroot.New(kms.NewFromConfig(cfg), os.Getenv("KMS_KEY_ARN"))
	if err != nil {
		log.Fatal(err)
	}
	keys := keystore.New("my-key-store", "example_branch_keys", dynamo.New(ddb, ""), root)
	if err := keys.Init(ctx); err != nil {
		log.Fatal(err)
	}
	branchKeyID := keystore.NewID()
	if _, err := keys.Create(ctx, branchKeyID); err != nil {
		log.Fatal(err)
	}
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
	table := createTable(ctx, ddb, "example_people", beacon.AttributeName("email")) // index by_aws_dbe_b_email
	defer deleteTable(ctx, ddb, table)

	client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
		table: {
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
	for id, email := range map[string]string{"p1": "ann@example.com", "p2": "bob@example.com", "p3": "ann@example.com"} {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: id}, "email": &types.AttributeValueMemberS{Value: email}}})
		if err != nil {
			log.Fatal(err)
		}
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String("by_" + beacon.AttributeName("email")),
		KeyConditionExpression:    aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "ann@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.Items), "people with that email")
	// Output: 2 people with that email
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
	table := createTable(ctx, ddb, "example_accounts")
	defer deleteTable(ctx, ddb, table)
	clientFor := func(policy ddbenc.PlaintextPolicy) *ddbenc.Client {
		c, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{
			table: {
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
	put := func(c interface {
		PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	}, id, email string) {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: id}, "email": &types.AttributeValueMemberS{Value: email}}})
		if err != nil {
			log.Fatal(err)
		}
	}
	// Before: the application writes plaintext with the bare client.
	put(ddb, "a1", "ann@example.com")
	// Step 1, deployed everywhere: writes stay plaintext, but every
	// instance can already read encrypted items.
	put(clientFor(ddbenc.ForcePlaintextWriteAllowPlaintextRead), "a2", "bob@example.com")
	// Step 2, deployed everywhere: writes are encrypted, old items still
	// read. Then rewrite every item once, which encrypts the rest.
	step2 := clientFor(ddbenc.ForbidPlaintextWriteAllowPlaintextRead)
	put(step2, "a3", "cy@example.com")
	pages := dynamodb.NewScanPaginator(step2, &dynamodb.ScanInput{TableName: aws.String(table)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			log.Fatal(err)
		}
		for _, it := range page.Items {
			if _, err := step2.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
				log.Fatal(err)
			}
		}
	}
	// Step 3: the default policy; a plaintext item now fails to read, as
	// a forged one would. Every item reads, and none is stored readable.
	step3 := clientFor(ddbenc.ForbidPlaintextWriteForbidPlaintextRead)
	for _, id := range []string{"a1", "a2", "a3"} {
		key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
		out, err := step3.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
		if err != nil {
			log.Fatal(err)
		}
		stored, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
		if err != nil {
			log.Fatal(err)
		}
		_, encrypted := stored.Item["email"].(*types.AttributeValueMemberB)
		fmt.Println(id, out.Item["email"].(*types.AttributeValueMemberS).Value, "stored encrypted:", encrypted)
	}
	// Output:
	// a1 ann@example.com stored encrypted: true
	// a2 bob@example.com stored encrypted: true
	// a3 cy@example.com stored encrypted: true
}

func loadWrappingKey() []byte {
	key := make([]byte, 32) // from a secret manager in production
	rand.Read(key)
	return key
}

// createTable creates a table keyed by "id", with a global secondary
// index "by_<attribute>" on each of indexed, and waits
// until it is active.
func createTable(ctx context.Context, ddb *dynamodb.Client, name string, indexed ...string) string {
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
	}
	for _, a := range indexed {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String("by_" + a),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(a), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	if _, err := ddb.CreateTable(ctx, in); err != nil {
		log.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		log.Fatal(err)
	}
	return name
}

func deleteTable(ctx context.Context, ddb *dynamodb.Client, name string) {
	if _, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		log.Fatal(err)
	}
	w := dynamodb.NewTableNotExistsWaiter(ddb, func(o *dynamodb.TableNotExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		log.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	os.Exit(emutest.ExamplesMain(m, "Example", "Example_searchableEncryption", "Example_plaintextMigration"))
}
