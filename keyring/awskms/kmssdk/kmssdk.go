// Package kmssdk is the awskms.Client of real AWS KMS: it maps the two
// calls the AWS KMS keyrings make onto the AWS SDK for Go v2
// (service/kms), so the keyring package itself stays free of the SDK.
//
// It promises:
//
//   - GenerateDataKey and Decrypt send exactly what the keyring asks for
//     (key id, byte count, ciphertext, encryption context) plus the grant
//     tokens given to New, on every call.
//   - A failure that says the stored ciphertext is not valid under the key
//     and context named (KMS InvalidCiphertextException,
//     IncorrectKeyException, or a ValidationException on Decrypt) is
//     returned as it is: the keyring reports it as an EDK it cannot
//     decrypt, and the item engine as its opaque decryption failure. Every
//     other failure (network, throttling past the SDK's retries, a
//     disabled, missing or inaccessible key, a KMS internal error, a
//     canceled context) wraps materials.ErrUnavailable: try again later;
//     it is not a forged item.
//   - No error holds key bytes: the raw response the SDK keeps when it
//     cannot parse one (which may hold a plaintext key) is zeroed and
//     dropped.
package kmssdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/keyring/awskms"
	"github.com/sealstore/sealstore/materials"
)

// API is the part of the KMS client the adapter calls; *kms.Client
// implements it. Implementations must be safe for concurrent use.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// maxDataKeyBytes is the largest NumberOfBytes KMS GenerateDataKey takes.
const maxDataKeyBytes = 1024

var (
	_ awskms.Client = (*Client)(nil)
	_ API           = (*kms.Client)(nil)
)

var errNoResponse = errors.New("KMS client returned no response")

// Client adapts an API to awskms.Client. It is safe for concurrent use.
type Client struct {
	api         API
	grantTokens []string
}

// New returns the adapter over api (a *kms.Client in production), sending
// grantTokens with every request.
func New(api API, grantTokens ...string) (*Client, error) {
	if api == nil {
		return nil, errors.New("kmssdk: no KMS client")
	}
	return &Client{api: api, grantTokens: append([]string(nil), grantTokens...)}, nil
}

// GenerateDataKey implements awskms.Client.
func (c *Client) GenerateDataKey(ctx context.Context, keyID string, numBytes int, ec map[string]string) ([]byte, []byte, string, error) {
	if numBytes < 1 || numBytes > maxDataKeyBytes {
		return nil, nil, "", fmt.Errorf("kmssdk: GenerateDataKey of %d bytes; KMS takes 1 to %d", numBytes, maxDataKeyBytes)
	}
	out, err := c.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(keyID),
		NumberOfBytes:     aws.Int32(int32(numBytes)),
		EncryptionContext: ec,
		GrantTokens:       c.grantTokens,
	})
	if err != nil {
		return nil, nil, "", classify("GenerateDataKey", err)
	}
	if out == nil {
		return nil, nil, "", classify("GenerateDataKey", errNoResponse)
	}
	return out.Plaintext, out.CiphertextBlob, aws.ToString(out.KeyId), nil
}

// Decrypt implements awskms.Client.
func (c *Client) Decrypt(ctx context.Context, keyID string, ciphertext []byte, ec map[string]string) ([]byte, string, error) {
	out, err := c.api.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(keyID),
		CiphertextBlob:    ciphertext,
		EncryptionContext: ec,
		GrantTokens:       c.grantTokens,
	})
	if err != nil {
		if out != nil {
			clear(out.Plaintext)
		}
		return nil, "", classify("Decrypt", err)
	}
	if out == nil {
		return nil, "", classify("Decrypt", errNoResponse)
	}
	return out.Plaintext, aws.ToString(out.KeyId), nil
}

// classify drops what an unparsable response kept and marks every failure
// but a refused ciphertext as materials.ErrUnavailable.
func classify(op string, err error) error {
	if de, ok := errors.AsType[*smithy.DeserializationError](err); ok {
		clear(de.Snapshot)
		de.Snapshot = nil
	}
	if refusedCiphertext(op, err) {
		return fmt.Errorf("kmssdk: KMS %s: %w", op, err)
	}
	return fmt.Errorf("kmssdk: KMS %s: %w: %w", op, materials.ErrUnavailable, err)
}

// refusedCiphertext reports a KMS answer that the ciphertext of an EDK
// does not decrypt under the key and context given: the stored item is at
// fault, and asking again will not help.
func refusedCiphertext(op string, err error) bool {
	if _, ok := errors.AsType[*types.InvalidCiphertextException](err); ok {
		return true
	}
	if _, ok := errors.AsType[*types.IncorrectKeyException](err); ok {
		return true
	}
	api, ok := errors.AsType[smithy.APIError](err)
	return ok && op == "Decrypt" && api.ErrorCode() == "ValidationException"
}
