package kmssdk_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/keyring/awskms"
	"github.com/sealstore/sealstore/keyring/awskms/kmssdk"
)

// The AWS KMS keyring on real KMS. It needs AWS credentials and a key, so
// it is compiled but not run.
func Example() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	client, err := kmssdk.New(kms.NewFromConfig(cfg), "optional-grant-token")
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := awskms.New("arn:aws:kms:eu-west-1:111122223333:key/0f7ea9ab-1234-4c3d-9e5f-6a7b8c9d0e1f", client)
	if err != nil {
		log.Fatal(err)
	}
	_ = keyring // a materials.Keyring: give it to item.Config or ddbenc.TableConfig
}
