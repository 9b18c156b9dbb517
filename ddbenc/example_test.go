package ddbenc_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/rawaes"
)

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
