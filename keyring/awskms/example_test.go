package awskms_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sealstore/sealstore/keyring/awskms"
	"github.com/sealstore/sealstore/keyring/awskms/kmstest"
	"github.com/sealstore/sealstore/materials"
)

func Example() {
	kms := kmstest.New() // production: kmssdk.New(kms.NewFromConfig(cfg))
	keyARN := kms.NewKey()
	keyring, err := awskms.New(keyARN, kms)
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
	fmt.Println("provider info is the key ARN:", string(edk.ProviderInfo) == keyARN)
	fmt.Println("same data key:", dec.DataKey.Equal(enc.DataKey))
	fmt.Println("KMS calls:", kms.Calls(kmstest.OpGenerateDataKey), kms.Calls(kmstest.OpDecrypt))
	// Output:
	// provider id: aws-kms
	// provider info is the key ARN: true
	// same data key: true
	// KMS calls: 1 1
}

// A multi-Region key replica decrypts what its sibling in another region
// wrapped.
func ExampleNewMRK() {
	west := "arn:aws:kms:us-west-2:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
	east := "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
	kms := kmstest.New()
	for _, arn := range []string{west, east} {
		if err := kms.AddKey(arn); err != nil {
			log.Fatal(err)
		}
	}
	writer, err := awskms.New(west, kms)
	if err != nil {
		log.Fatal(err)
	}
	reader, err := awskms.NewMRK(east, kms)
	if err != nil {
		log.Fatal(err)
	}
	suite, err := materials.SuiteByID(materials.SuiteSymSig)
	if err != nil {
		log.Fatal(err)
	}
	ec := materials.Context{"aws-crypto-table-name": "records"}
	enc := &materials.Encryption{Suite: suite, Context: ec}
	if err := writer.OnEncrypt(context.Background(), enc); err != nil {
		log.Fatal(err)
	}
	dec := &materials.Decryption{Suite: suite, Context: ec}
	err = reader.OnDecrypt(context.Background(), dec, enc.EDKs)
	fmt.Println(err == nil && dec.DataKey.Equal(enc.DataKey))
	// Output: true
}
