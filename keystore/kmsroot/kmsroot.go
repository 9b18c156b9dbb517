// Package kmsroot is the production root key: a keystore.Root backed by an
// AWS KMS symmetric encryption key, for the AWS Material Providers Library
// (MPL) branch key store layout that package keystore writes.
//
// It makes three KMS calls, as the MPL key store does, always naming the
// configured key by its full ARN (the ARN the key store records in kms-arn,
// so that the other MPL implementations can read the table):
//
//   - NewKey: GenerateDataKeyWithoutPlaintext, 32 bytes, bound to the
//     item's encryption context (the version and beacon keys of a new
//     branch key).
//   - Rewrap: ReEncrypt from one encryption context to another under the
//     same key (the ACTIVE item made from a version item).
//   - Unwrap: Decrypt, with the key pinned, so a ciphertext made under any
//     other key is refused.
//
// A branch key leaves KMS unwrapped only as the result of Unwrap, into a
// secret.Bytes in memory; the plaintext slice the SDK returned is zeroed.
// Every response is checked: it must name the configured key, and Decrypt
// must return exactly 32 bytes.
//
// Errors fall into two classes. A wrapped key that does not authenticate
// under its encryption context or belongs to another key (KMS
// InvalidCiphertextException or IncorrectKeyException, a response naming
// another key, a plaintext of the wrong length, a ciphertext KMS could not
// accept, a ValidationException on Decrypt or ReEncrypt) wraps
// keystore.ErrUnwrap: the stored key is forged or damaged,
// and retrying will not help. Every other failure (network, throttling,
// KMSInternalException, a disabled, missing or inaccessible key, a
// canceled context) wraps materials.ErrUnavailable: try later. Error
// messages name the operation and the KMS error; they never hold key bytes
// or ciphertext.
package kmsroot

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/secret"
)

// API is the part of AWS KMS the root key calls; *kms.Client implements it.
// Implementations must be safe for concurrent use.
type API interface {
	GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	ReEncrypt(ctx context.Context, in *kms.ReEncryptInput, optFns ...func(*kms.Options)) (*kms.ReEncryptOutput, error)
}

// The operation names passed to an observer (see Observe).
const (
	OpGenerateDataKeyWithoutPlaintext = "GenerateDataKeyWithoutPlaintext"
	OpDecrypt                         = "Decrypt"
	OpReEncrypt                       = "ReEncrypt"
)

// maxCiphertextLen is the largest CiphertextBlob KMS accepts.
const maxCiphertextLen = 6144

var (
	_ keystore.Root = (*Root)(nil)
	_ API           = (*kms.Client)(nil)
)

// Root is a root key held in AWS KMS. It is safe for concurrent use once
// configured.
type Root struct {
	api     API
	arn     string
	observe func(operation string, err error)
}

// New returns the root key keyARN, reached through api. keyARN must be the
// full ARN of a KMS key, arn:<partition>:kms:<region>:<account>:key/<id>:
// aliases and bare key ids are refused, because the key store records the
// ARN for other SDKs to use.
func New(api API, keyARN string) (*Root, error) {
	if api == nil {
		return nil, errors.New("kmsroot: no KMS client")
	}
	if err := checkKeyARN(keyARN); err != nil {
		return nil, err
	}
	return &Root{api: api, arn: keyARN}, nil
}

// NewClient returns a KMS client for cfg. A non-empty endpoint replaces the
// SDK's default endpoint (BaseEndpoint); which endpoints are acceptable is
// the caller's policy.
func NewClient(cfg aws.Config, endpoint string) *kms.Client {
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Observe makes r call fn once after every KMS call, with the operation
// name (OpDecrypt, …) and the error r returns for it (nil on success), so
// a server can count calls without this package knowing its metrics. Call
// it before r is used; fn must be safe for concurrent use.
func (r *Root) Observe(fn func(operation string, err error)) { r.observe = fn }

// ID returns the key's ARN.
func (r *Root) ID() string { return r.arn }

// String names the root key by its ARN.
func (r *Root) String() string { return "kmsroot.Root(" + r.arn + ")" }

// NewKey returns a fresh 256-bit key wrapped by KMS under ec
// (GenerateDataKeyWithoutPlaintext); its plaintext is never seen here.
func (r *Root) NewKey(ctx context.Context, ec map[string]string) ([]byte, error) {
	var blob []byte
	err := r.call(OpGenerateDataKeyWithoutPlaintext, func() error {
		out, err := r.api.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
			KeyId:             aws.String(r.arn),
			NumberOfBytes:     aws.Int32(keystore.KeyLen),
			EncryptionContext: ec,
		})
		if err != nil {
			return err
		}
		if out == nil {
			return errNoResponse
		}
		if err := r.checkKeyID("KeyId", out.KeyId); err != nil {
			return err
		}
		blob = out.CiphertextBlob
		return checkBlob(blob)
	})
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// Unwrap returns the key wrapped under ec (Decrypt with the key pinned).
func (r *Root) Unwrap(ctx context.Context, wrapped []byte, ec map[string]string) (secret.Bytes, error) {
	if err := checkBlob(wrapped); err != nil {
		return secret.Bytes{}, fmt.Errorf("kmsroot: %s: %w", OpDecrypt, err)
	}
	var key secret.Bytes
	err := r.call(OpDecrypt, func() error {
		out, err := r.api.Decrypt(ctx, &kms.DecryptInput{
			KeyId:             aws.String(r.arn),
			CiphertextBlob:    wrapped,
			EncryptionContext: ec,
		})
		if out != nil {
			defer clear(out.Plaintext)
		}
		if err != nil {
			return err
		}
		if out == nil {
			return errNoResponse
		}
		if err := r.checkKeyID("KeyId", out.KeyId); err != nil {
			return err
		}
		if len(out.Plaintext) != keystore.KeyLen {
			return fmt.Errorf("%w: KMS returned %d bytes, not %d", keystore.ErrUnwrap, len(out.Plaintext), keystore.KeyLen)
		}
		key = secret.Copy(out.Plaintext)
		return nil
	})
	if err != nil {
		return secret.Bytes{}, err
	}
	return key, nil
}

// Rewrap moves a wrapped key from one encryption context to another inside
// KMS (ReEncrypt, source and destination the configured key).
func (r *Root) Rewrap(ctx context.Context, wrapped []byte, from, to map[string]string) ([]byte, error) {
	if err := checkBlob(wrapped); err != nil {
		return nil, fmt.Errorf("kmsroot: %s: %w", OpReEncrypt, err)
	}
	var blob []byte
	err := r.call(OpReEncrypt, func() error {
		out, err := r.api.ReEncrypt(ctx, &kms.ReEncryptInput{
			CiphertextBlob:               wrapped,
			SourceKeyId:                  aws.String(r.arn),
			SourceEncryptionContext:      from,
			DestinationKeyId:             aws.String(r.arn),
			DestinationEncryptionContext: to,
		})
		if err != nil {
			return err
		}
		if out == nil {
			return errNoResponse
		}
		if err := r.checkKeyID("SourceKeyId", out.SourceKeyId); err != nil {
			return err
		}
		if err := r.checkKeyID("KeyId", out.KeyId); err != nil {
			return err
		}
		blob = out.CiphertextBlob
		return checkBlob(blob)
	})
	if err != nil {
		return nil, err
	}
	return blob, nil
}

// call runs one KMS call, classifies its error, and reports it to the
// observer.
func (r *Root) call(op string, fn func() error) error {
	err := fn()
	if err != nil {
		err = classify(op, err)
	}
	if r.observe != nil {
		r.observe(op, err)
	}
	return err
}

// checkKeyID refuses a response that does not name the configured key (a
// missing KeyId included).
func (r *Root) checkKeyID(field string, got *string) error {
	if got == nil {
		return fmt.Errorf("%w: KMS response has no %s", keystore.ErrUnwrap, field)
	}
	if *got != r.arn {
		return fmt.Errorf("%w: KMS response %s is %q, not the configured key", keystore.ErrUnwrap, field, *got)
	}
	return nil
}

// checkBlob refuses a ciphertext KMS would reject as invalid input, so
// that a damaged stored key is a wrong key rather than a KMS error (and its
// bytes never reach a KMS error message).
func checkBlob(b []byte) error {
	if len(b) == 0 || len(b) > maxCiphertextLen {
		return fmt.Errorf("%w: ciphertext is %d bytes; KMS takes 1 to %d", keystore.ErrUnwrap, len(b), maxCiphertextLen)
	}
	return nil
}
