package hierarchy_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

func Example() {
	branchKey := secret.Random(32) // from a key store in production
	source := hierarchy.Static{Keys: []hierarchy.BranchKey{{
		ID:      "tenant-1",
		Version: "e9ce18a3-edb5-4272-9f86-1cacb7997ff6",
		Key:     branchKey,
	}}}
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 1000, nil)
	keyring, err := hierarchy.New("tenant-1", source, cache)
	if err != nil {
		log.Fatal(err)
	}
	suite, err := materials.SuiteByID(materials.SuiteECDSA)
	if err != nil {
		log.Fatal(err)
	}
	ec := materials.Context{"aws-crypto-table-name": "records", "aws-crypto-partition-name": "id"}

	enc := &materials.Encryption{Suite: suite, Context: ec}
	if err := keyring.OnEncrypt(context.Background(), enc); err != nil {
		log.Fatal(err)
	}
	dec := &materials.Decryption{Suite: suite, Context: ec}
	if err := keyring.OnDecrypt(context.Background(), dec, enc.EDKs); err != nil {
		log.Fatal(err)
	}
	edk := enc.EDKs[0]
	fmt.Println("provider id:", edk.ProviderID)
	fmt.Println("provider info:", string(edk.ProviderInfo))
	fmt.Println("ciphertext bytes:", len(edk.Ciphertext))
	fmt.Println("same data key:", dec.DataKey.Equal(enc.DataKey))
	// Output:
	// provider id: aws-kms-hierarchy
	// provider info: tenant-1
	// ciphertext bytes: 140
	// same data key: true
}
