// Package kmstest is an in-process fake of the AWS KMS calls that
// awskms.Client makes (plus Encrypt), for tests in any package.
//
// The fake promises what the keyrings rely on from real KMS: a ciphertext
// blob names the key that made it and is authenticated (AES-256-GCM) together
// with that key and the encryption context, so Decrypt fails with
// ErrInvalidCiphertext under any other context or after any change to the
// blob, and with ErrIncorrectKey when asked to use another key. Multi-Region
// key replicas (key ids starting "mrk-", same partition, account and id,
// another region) share key material, as in KMS. Responses name keys by ARN.
// It counts calls per operation and can be told to fail every call. Keys are
// addressed by ARN only; aliases and bare key ids are not resolved.
package kmstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sealstore/sealstore/secret"
)

// Errors the fake returns, named after the KMS exceptions they stand for.
var (
	ErrNotFound          = errors.New("kmstest: NotFoundException: no such key")
	ErrIncorrectKey      = errors.New("kmstest: IncorrectKeyException: ciphertext was made under another key")
	ErrInvalidCiphertext = errors.New("kmstest: InvalidCiphertextException")
	ErrValidation        = errors.New("kmstest: ValidationException")
)

// Op names a KMS operation for Calls.
type Op string

// The operations the fake serves.
const (
	OpGenerateDataKey Op = "GenerateDataKey"
	OpEncrypt         Op = "Encrypt"
	OpDecrypt         Op = "Decrypt"
)

// Region and Account are where NewKey creates keys.
const (
	Region  = "us-west-2"
	Account = "111122223333"
)

// KMS is the fake. It is safe for concurrent use.
type KMS struct {
	mu       sync.Mutex
	arns     map[string]string       // key ARN → key identity
	material map[string]secret.Bytes // key identity → AES-256 key
	calls    map[Op]int
	fail     error
}

// New returns a fake with no keys.
func New() *KMS {
	return &KMS{arns: map[string]string{}, material: map[string]secret.Bytes{}, calls: map[Op]int{}}
}

// NewKey creates a single-Region key in Region and Account and returns its
// ARN.
func (k *KMS) NewKey() string {
	arn := fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, randomUUID())
	if err := k.AddKey(arn); err != nil {
		panic(err) // the ARN built above is always valid
	}
	return arn
}

// AddKey creates the key named by a KMS key ARN, if it does not exist. A
// multi-Region key ARN in a new region becomes a replica sharing the
// material of the key with the same id in other regions.
func (k *KMS) AddKey(arn string) error {
	id, err := identity(arn)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.arns[arn] = id
	if k.material[id].IsZero() {
		k.material[id] = secret.Random(32)
	}
	return nil
}

// Calls returns how many times op was called, failed calls included.
func (k *KMS) Calls(op Op) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls[op]
}

// FailWith makes every later call fail with err; nil restores service.
func (k *KMS) FailWith(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = err
}

// begin counts a call and returns the injected failure or the context's
// error, if any.
func (k *KMS) begin(ctx context.Context, op Op) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls[op]++
	if k.fail != nil {
		return k.fail
	}
	return ctx.Err()
}

// key returns the identity and material of a registered key ARN.
func (k *KMS) key(arn string) (string, secret.Bytes, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, ok := k.arns[arn]
	if !ok {
		return "", secret.Bytes{}, fmt.Errorf("%w: %q", ErrNotFound, arn)
	}
	return id, k.material[id], nil
}

// identity is the ARN itself, or for a multi-Region key the ARN without its
// region, so that replicas share one identity.
func identity(arn string) (string, error) {
	p := strings.Split(arn, ":")
	if len(arn) > 2048 || len(p) != 6 || p[0] != "arn" || p[1] == "" || p[2] != "kms" || p[3] == "" || p[4] == "" ||
		!strings.HasPrefix(p[5], "key/") || len(p[5]) == len("key/") {
		return "", fmt.Errorf("%w: %q is not a KMS key ARN", ErrValidation, arn)
	}
	if strings.HasPrefix(p[5], "key/mrk-") {
		p[3] = ""
		return strings.Join(p, ":"), nil
	}
	return arn, nil
}

func randomUUID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
