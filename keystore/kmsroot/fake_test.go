package kmsroot_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/keyring/awskms/kmstest"
	"github.com/sealstore/sealstore/keystore/kmsroot"
)

// fakeKMS serves kmsroot.API from kmstest's in-memory KMS (AES-256-GCM
// blobs bound to their key and encryption context), translating its errors
// into the SDK's exception types as the real client would. It can be told
// to fail every call, or to answer with another key id or a plaintext of
// another length, and it keeps every plaintext slice it returns so tests
// can check that the caller zeroed them.
type fakeKMS struct {
	kms *kmstest.KMS

	mu         sync.Mutex
	calls      map[string]int
	fail       func(op string) error
	answerKey  string // if set, the KeyId (and SourceKeyId) of every response
	answerLen  int    // if set, Decrypt returns a plaintext of this length
	plaintexts [][]byte
	inputs     []any // every request, in order
}

var _ kmsroot.API = (*fakeKMS)(nil)

func newFakeKMS() *fakeKMS {
	return &fakeKMS{kms: kmstest.New(), calls: map[string]int{}}
}

// newKey creates a key and returns its ARN.
func (f *fakeKMS) newKey() string { return f.kms.NewKey() }

// failWith makes every later call fail with the error fail returns for
// its operation; nil restores service.
func (f *fakeKMS) failWith(fail func(op string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *fakeKMS) answerWith(keyID string, plaintextLen int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answerKey, f.answerLen = keyID, plaintextLen
}

func (f *fakeKMS) callsOf(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// returned is every Decrypt plaintext slice handed out so far.
func (f *fakeKMS) returned() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.plaintexts
}

// requests returns every request so far.
func (f *fakeKMS) requests() []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inputs
}

// begin records a call and returns the injected failure, if any.
func (f *fakeKMS) begin(op string, in any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	f.inputs = append(f.inputs, in)
	if f.fail == nil {
		return nil
	}
	return f.fail(op)
}

// keyID returns the key id a response reports for a call that used key.
func (f *fakeKMS) keyID(used string) *string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answerKey != "" {
		return aws.String(f.answerKey)
	}
	return aws.String(used)
}

func (f *fakeKMS) GenerateDataKeyWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyWithoutPlaintextInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	const op = "GenerateDataKeyWithoutPlaintext"
	if err := f.begin(op, in); err != nil {
		return nil, err
	}
	if in.NumberOfBytes == nil || in.KeySpec != "" {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "give NumberOfBytes"}
	}
	pt, blob, used, err := f.kms.GenerateDataKey(ctx, aws.ToString(in.KeyId), int(*in.NumberOfBytes), in.EncryptionContext)
	clear(pt)
	if err != nil {
		return nil, sdkError(op, err)
	}
	return &kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: blob, KeyId: f.keyID(used)}, nil
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	const op = "Decrypt"
	if err := f.begin(op, in); err != nil {
		return nil, err
	}
	pt, used, err := f.kms.Decrypt(ctx, aws.ToString(in.KeyId), in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, sdkError(op, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answerLen != 0 {
		other := make([]byte, f.answerLen)
		copy(other, pt)
		clear(pt)
		pt = other
	}
	f.plaintexts = append(f.plaintexts, pt)
	keyID := used
	if f.answerKey != "" {
		keyID = f.answerKey
	}
	return &kms.DecryptOutput{Plaintext: pt, KeyId: aws.String(keyID)}, nil
}

func (f *fakeKMS) ReEncrypt(ctx context.Context, in *kms.ReEncryptInput, _ ...func(*kms.Options)) (*kms.ReEncryptOutput, error) {
	const op = "ReEncrypt"
	if err := f.begin(op, in); err != nil {
		return nil, err
	}
	pt, source, err := f.kms.Decrypt(ctx, aws.ToString(in.SourceKeyId), in.CiphertextBlob, in.SourceEncryptionContext)
	if err != nil {
		return nil, sdkError(op, err)
	}
	defer clear(pt)
	blob, dest, err := f.kms.Encrypt(ctx, aws.ToString(in.DestinationKeyId), pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, sdkError(op, err)
	}
	return &kms.ReEncryptOutput{CiphertextBlob: blob, SourceKeyId: f.keyID(source), KeyId: f.keyID(dest)}, nil
}

// sdkError turns a kmstest error into what the SDK client returns: an
// OperationError around the modeled exception.
func sdkError(op string, err error) error {
	var apiErr error
	switch {
	case errors.Is(err, kmstest.ErrInvalidCiphertext):
		apiErr = &types.InvalidCiphertextException{}
	case errors.Is(err, kmstest.ErrIncorrectKey):
		apiErr = &types.IncorrectKeyException{Message: aws.String("The key ID in the request does not identify a CMK that can perform this operation.")}
	case errors.Is(err, kmstest.ErrNotFound):
		apiErr = &types.NotFoundException{Message: aws.String("key does not exist")}
	case errors.Is(err, kmstest.ErrValidation):
		apiErr = &smithy.GenericAPIError{Code: "ValidationException", Message: "validation error"}
	default:
		apiErr = err // a canceled context
	}
	return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: apiErr}
}

// Failures the fake can be told to return, as the SDK reports them.
func networkError(op string) error {
	return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED,
	}}
}

func throttlingError(op string) error {
	return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: &smithy.GenericAPIError{
		Code: "ThrottlingException", Message: "Rate exceeded", Fault: smithy.FaultClient,
	}}
}
