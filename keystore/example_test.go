package keystore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store/bolt"
)

// A key store over bolt, its branch keys wrapped by a local root key, is
// the branch key source of the hierarchical keyring that encrypts items.
func Example() {
	dir, _ := os.MkdirTemp("", "keystore-example")
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "db"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ks := keystore.New("example", "keys", db, localroot.Generate())
	if err := ks.Init(ctx); err != nil {
		log.Fatal(err)
	}
	id := keystore.NewID()
	if _, err := ks.Create(ctx, id); err != nil {
		log.Fatal(err)
	}
	kr, err := hierarchy.New(id, ks, hierarchy.NewCache(hierarchy.DefaultTTL, 100, time.Now))
	if err != nil {
		log.Fatal(err)
	}
	enc, err := item.New(item.Config{
		TableName:    "people",
		PartitionKey: "id",
		Actions:      map[string]item.Action{"id": item.SignOnly, "email": item.EncryptAndSign},
		Keyring:      kr,
	})
	if err != nil {
		log.Fatal(err)
	}
	stored, err := enc.Encrypt(ctx, attr.Item{"id": attr.S("p1"), "email": attr.S("ada@example.com")})
	if err != nil {
		log.Fatal(err)
	}
	plain, err := enc.Decrypt(ctx, stored)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plain["email"].(attr.S) == "ada@example.com", stored["email"].TypeID() == attr.TypeB)
	// Output: true true
}
