package rawaes_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/sealstore/sealstore/keyring/rawaes"
	"github.com/sealstore/sealstore/materials"
)

func Example() {
	wrappingKey := make([]byte, 32)
	rand.Read(wrappingKey)
	keyring, err := rawaes.New("sealstore", "local-key-1", wrappingKey)
	if err != nil {
		log.Fatal(err)
	}
	suite, err := materials.SuiteByID(materials.SuiteSymSig)
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
	fmt.Println("ciphertext bytes:", len(edk.Ciphertext))
	fmt.Println("same data key:", dec.DataKey.Equal(enc.DataKey))
	fmt.Println("keyring:", keyring)
	// Output:
	// provider id: sealstore
	// ciphertext bytes: 96
	// same data key: true
	// keyring: rawaes(sealstore/local-key-1)
}
