package kmssdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/keyring/awskms/kmssdk"
	"github.com/sealstore/sealstore/materials"
)

const keyARN = "arn:aws:kms:us-west-2:111122223333:key/4b4d9b67-1111-4ec0-a0b8-2f3f1a2b3c4d"

// fakeAPI answers like KMS and records the requests it got.
type fakeAPI struct {
	err error

	mu  sync.Mutex
	gen []*kms.GenerateDataKeyInput
	dec []*kms.DecryptInput
}

func (f *fakeAPI) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.mu.Lock()
	f.gen = append(f.gen, in)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &kms.GenerateDataKeyOutput{
		Plaintext: bytes.Repeat([]byte{7}, int(*in.NumberOfBytes)), CiphertextBlob: []byte("blob"), KeyId: aws.String(keyARN),
	}, nil
}

func (f *fakeAPI) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.mu.Lock()
	f.dec = append(f.dec, in)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &kms.DecryptOutput{Plaintext: []byte("plain"), KeyId: in.KeyId}, nil
}

func newClient(t *testing.T, api kmssdk.API, tokens ...string) *kmssdk.Client {
	t.Helper()
	c, err := kmssdk.New(api, tokens...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRequests checks that both calls send what the keyring asked for and
// the grant tokens, and return what KMS answered.
func TestRequests(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{}
	tokens := []string{"grant-1", "grant-2"}
	c := newClient(t, api, tokens...)
	tokens[0] = "changed after New"
	ec := map[string]string{"aws-crypto-table-name": "t"}
	pt, blob, id, err := c.GenerateDataKey(t.Context(), keyARN, 32, ec)
	if err != nil {
		t.Fatal(err)
	}
	if len(pt) != 32 || string(blob) != "blob" || id != keyARN {
		t.Errorf("GenerateDataKey = %d bytes, %q, %q", len(pt), blob, id)
	}
	pt, id, err = c.Decrypt(t.Context(), keyARN, []byte("ct"), ec)
	if err != nil || string(pt) != "plain" || id != keyARN {
		t.Errorf("Decrypt = %q, %q, %v", pt, id, err)
	}
	g, d := api.gen[0], api.dec[0]
	want := []string{"grant-1", "grant-2"}
	if *g.KeyId != keyARN || *g.NumberOfBytes != 32 || g.EncryptionContext["aws-crypto-table-name"] != "t" || !slices.Equal(g.GrantTokens, want) {
		t.Errorf("GenerateDataKey request = %+v", g)
	}
	if *d.KeyId != keyARN || string(d.CiphertextBlob) != "ct" || d.EncryptionContext["aws-crypto-table-name"] != "t" || !slices.Equal(d.GrantTokens, want) {
		t.Errorf("Decrypt request = %+v", d)
	}
}

func TestRefusesBadByteCounts(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{}
	c := newClient(t, api)
	for _, n := range []int{-1, 0, 1025, 1 << 40} {
		if _, _, _, err := c.GenerateDataKey(t.Context(), keyARN, n, nil); err == nil {
			t.Errorf("GenerateDataKey(%d bytes): no error", n)
		}
	}
	if len(api.gen) != 0 {
		t.Errorf("%d requests sent for refused byte counts", len(api.gen))
	}
	if _, err := kmssdk.New(nil); err == nil {
		t.Error("New(nil): no error")
	}
}

// TestClassification checks which failures are an outage to retry
// (materials.ErrUnavailable) and which say the ciphertext is refused.
func TestClassification(t *testing.T) {
	t.Parallel()
	apiErr := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for _, tc := range []struct {
		name        string
		err         error
		unavailable bool // for Decrypt; GenerateDataKey only refuses InvalidCiphertext/IncorrectKey
		genUnavail  bool
	}{
		{"invalid ciphertext", &types.InvalidCiphertextException{Message: aws.String("m")}, false, false},
		{"incorrect key", &types.IncorrectKeyException{Message: aws.String("m")}, false, false},
		{"validation", apiErr("ValidationException"), false, true},
		{"throttled", apiErr("ThrottlingException"), true, true},
		{"disabled key", &types.DisabledException{Message: aws.String("m")}, true, true},
		{"not found", &types.NotFoundException{Message: aws.String("m")}, true, true},
		{"internal", &types.KMSInternalException{Message: aws.String("m")}, true, true},
		{"canceled", context.Canceled, true, true},
		{"network", errors.New("dial tcp: connection refused"), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, &fakeAPI{err: fmt.Errorf("operation error: %w", tc.err)})
			_, _, err := c.Decrypt(t.Context(), keyARN, []byte("ct"), nil)
			if got := errors.Is(err, materials.ErrUnavailable); got != tc.unavailable {
				t.Errorf("Decrypt: unavailable = %v, want %v (%v)", got, tc.unavailable, err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("Decrypt error %v does not wrap the KMS error", err)
			}
			_, _, _, err = c.GenerateDataKey(t.Context(), keyARN, 32, nil)
			if got := errors.Is(err, materials.ErrUnavailable); got != tc.genUnavail {
				t.Errorf("GenerateDataKey: unavailable = %v, want %v (%v)", got, tc.genUnavail, err)
			}
		})
	}
}

// TestUnparsableResponseDropped checks that the raw body the SDK keeps
// from a response it could not parse, which may hold a plaintext key, is
// zeroed and not reachable from the error.
func TestUnparsableResponseDropped(t *testing.T) {
	t.Parallel()
	snapshot := []byte(`{"Plaintext":"c2VjcmV0LWtleS1ieXRlcw=="`)
	kept := snapshot
	de := &smithy.DeserializationError{Err: errors.New("unexpected EOF"), Snapshot: snapshot}
	c := newClient(t, &fakeAPI{err: de})
	_, _, err := c.Decrypt(t.Context(), keyARN, []byte("ct"), nil)
	if !errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("error %v is not unavailable", err)
	}
	if !bytes.Equal(kept, make([]byte, len(kept))) {
		t.Error("the response body was not zeroed")
	}
	if got, _ := errors.AsType[*smithy.DeserializationError](err); got == nil || got.Snapshot != nil {
		t.Error("the error still holds the response body")
	}
	if strings.Contains(fmt.Sprintf("%+v", err), "c2VjcmV0") {
		t.Errorf("error text %q holds the body", err)
	}
}
