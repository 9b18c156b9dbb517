package kmsroot_test

import (
	"context"
	"errors"
	"log"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store/bolt"
)

// A key store whose branch keys an AWS KMS key wraps. (It needs AWS
// credentials and the key, so it is compiled but not run.)
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-west-2"))
	if err != nil {
		log.Fatal(err)
	}
	root, err := kmsroot.New(kmsroot.NewClient(cfg, ""),
		"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	if err != nil {
		log.Fatal(err)
	}
	root.Observe(func(op string, err error) {
		log.Printf("KMS %s: unavailable %v", op, errors.Is(err, materials.ErrUnavailable))
	})

	db, err := bolt.Open(filepath.Join("data", "db"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ks := keystore.New("my-key-store", "branch_keys", db, root)
	if err := ks.Init(ctx); err != nil {
		log.Fatal(err)
	}
	id := keystore.NewID()
	if _, err := ks.Create(ctx, id); err != nil {
		log.Fatal(err)
	}
	k, err := ks.ActiveKey(ctx, id)
	switch {
	case errors.Is(err, materials.ErrUnavailable):
		log.Print("KMS unreachable: try later")
	case err != nil:
		log.Fatal(err)
	default:
		log.Printf("branch key %s version %s", k.ID, k.Version)
	}
}
