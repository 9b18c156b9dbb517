package item_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/secret"
)

// Example encrypts an item with a hierarchical keyring over a static branch
// key, decrypts it, and shows that a changed key attribute is refused.
func Example() {
	ctx := context.Background()
	branchKey := hierarchy.BranchKey{
		ID:      "customers-branch-key",
		Version: "3f9a1c2e-7b4d-4e8f-9a6b-1c2d3e4f5a6b",
		Key:     secret.New(bytes.Repeat([]byte{0x5a}, 32)), // from a key store in production
	}
	source := hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey}}
	keyring, err := hierarchy.New(branchKey.ID, source, hierarchy.NewCache(hierarchy.DefaultTTL, 100, nil))
	if err != nil {
		log.Fatal(err)
	}
	enc, err := item.New(item.Config{
		TableName:    "customers",
		PartitionKey: "id",
		Actions: map[string]item.Action{
			"id":    item.SignOnly,
			"email": item.EncryptAndSign,
		},
		Keyring: keyring,
	})
	if err != nil {
		log.Fatal(err)
	}

	stored, err := enc.Encrypt(ctx, attr.Item{"id": attr.S("c-1"), "email": attr.S("ada@example.com")})
	if err != nil {
		log.Fatal(err)
	}
	_, encrypted := stored["email"].(attr.B)
	fmt.Println("email stored as binary:", encrypted)

	plain, err := enc.Decrypt(ctx, stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("email:", plain["email"])

	stored["id"] = attr.S("c-2")
	_, err = enc.Decrypt(ctx, stored)
	fmt.Println(errors.Is(err, item.ErrDecrypt), err)
	// Output:
	// email stored as binary: true
	// email: ada@example.com
	// true item: decryption failed
}
