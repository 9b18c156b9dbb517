package kmsroot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// sampleEC is an encryption context shaped like a key store item's.
func sampleEC() map[string]string {
	return map[string]string{
		"branch-key-id":     "b1",
		"type":              "branch:version:6f1c7a4e-0d2b-4b6e-9a51-3c8e2f7d9b10",
		"create-time":       "2026-01-02T03:04:05Z",
		"kms-arn":           "arn:aws:kms:us-west-2:111122223333:key/x",
		"hierarchy-version": "1",
		"tablename":         "store",
	}
}

// newRoot returns a fake KMS with one key and a Root for that key.
func newRoot(t *testing.T) (*fakeKMS, *kmsroot.Root) {
	t.Helper()
	f := newFakeKMS()
	r, err := kmsroot.New(f, f.newKey())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f, r
}

func newKey(t *testing.T, r *kmsroot.Root, ec map[string]string) []byte {
	t.Helper()
	w, err := r.NewKey(context.Background(), ec)
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	return w
}

func unwrap(t *testing.T, r *kmsroot.Root, w []byte, ec map[string]string) secret.Bytes {
	t.Helper()
	k, err := r.Unwrap(context.Background(), w, ec)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	return k
}

// wantUnwrapErr fails t unless err is a wrong-key error and no key came
// with it.
func wantUnwrapErr(t *testing.T, what string, key secret.Bytes, err error) {
	t.Helper()
	if !errors.Is(err, keystore.ErrUnwrap) || errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("%s: err %v, want keystore.ErrUnwrap (and not ErrUnavailable)", what, err)
	}
	if !key.IsZero() {
		t.Errorf("%s: a key came with the error", what)
	}
}

func TestNewKeyUnwrapRoundTrip(t *testing.T) {
	t.Parallel()
	_, r := newRoot(t)
	for _, ec := range []map[string]string{sampleEC(), {}, nil, {"k": strings.Repeat("v", 1000)}} {
		w := newKey(t, r, ec)
		k := unwrap(t, r, w, maps.Clone(ec))
		if k.Len() != keystore.KeyLen {
			t.Fatalf("unwrapped %d bytes, want %d", k.Len(), keystore.KeyLen)
		}
		if again := unwrap(t, r, w, ec); !again.Equal(k) {
			t.Fatal("two Unwraps of one wrapped key differ")
		}
	}
	ec := sampleEC()
	w1, w2 := newKey(t, r, ec), newKey(t, r, ec)
	k1, k2 := unwrap(t, r, w1, ec), unwrap(t, r, w2, ec)
	if bytes.Equal(w1, w2) || k1.Equal(k2) {
		t.Fatal("two NewKey calls returned the same key")
	}
	if bytes.Contains(w1, k1.InsecureBytes()) {
		t.Fatal("the wrapped key holds the key in the clear")
	}
}

// The requests are the MPL key store's: the configured ARN everywhere (the
// key pinned on Decrypt and on both sides of ReEncrypt), 32 bytes, the
// encryption contexts as given.
func TestRequests(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	ctx := context.Background()
	from, to := sampleEC(), sampleEC()
	to["type"], to["version"] = "branch:ACTIVE", from["type"]
	w := newKey(t, r, from)
	moved, err := r.Rewrap(ctx, w, from, to)
	if err != nil {
		t.Fatal(err)
	}
	unwrap(t, r, moved, to)

	arn := aws.String(r.ID())
	want := []any{
		&kms.GenerateDataKeyWithoutPlaintextInput{KeyId: arn, NumberOfBytes: aws.Int32(32), EncryptionContext: from},
		&kms.ReEncryptInput{CiphertextBlob: w, SourceKeyId: arn, SourceEncryptionContext: from, DestinationKeyId: arn, DestinationEncryptionContext: to},
		&kms.DecryptInput{KeyId: arn, CiphertextBlob: moved, EncryptionContext: to},
	}
	if got := f.requests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("requests:\n got %#v\nwant %#v", got, want)
	}
}

func TestRewrapMovesToNewContextOnly(t *testing.T) {
	t.Parallel()
	_, r := newRoot(t)
	ctx := context.Background()
	from := sampleEC()
	to := maps.Clone(from)
	to["type"], to["version"] = "branch:ACTIVE", from["type"]

	w := newKey(t, r, from)
	orig := unwrap(t, r, w, from)
	moved, err := r.Rewrap(ctx, w, from, to)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if got := unwrap(t, r, moved, to); !got.Equal(orig) {
		t.Fatal("Rewrap changed the key")
	}
	k, err := r.Unwrap(ctx, moved, from)
	wantUnwrapErr(t, "rewrapped key under the old context", k, err)
	if _, err := r.Rewrap(ctx, w, to, from); !errors.Is(err, keystore.ErrUnwrap) {
		t.Errorf("Rewrap from the wrong context: err %v, want ErrUnwrap", err)
	}
	// The original is still valid under its own context.
	unwrap(t, r, w, from)
}

// changedContexts returns every context that differs from base by one
// value changed or emptied, one key removed, or one key added.
func changedContexts(base map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for key := range base {
		changed, emptied, removed := maps.Clone(base), maps.Clone(base), maps.Clone(base)
		changed[key] += "x"
		emptied[key] = ""
		delete(removed, key)
		out["value of "+key+" changed"] = changed
		out["value of "+key+" emptied"] = emptied
		out[key+" removed"] = removed
	}
	added, addedEmpty, renamed := maps.Clone(base), maps.Clone(base), maps.Clone(base)
	added["version"] = "branch:version:x"
	addedEmpty[""] = ""
	renamed["Type"] = renamed["type"]
	delete(renamed, "type")
	out["key added"] = added
	out["empty key added"] = addedEmpty
	out["key renamed"] = renamed
	out["empty context"] = map[string]string{}
	out["nil context"] = nil
	return out
}

func TestChangedContextIsErrUnwrap(t *testing.T) {
	t.Parallel()
	_, r := newRoot(t)
	ctx := context.Background()
	base := sampleEC()
	w := newKey(t, r, base)
	for name, ec := range changedContexts(base) {
		k, err := r.Unwrap(ctx, w, ec)
		wantUnwrapErr(t, "Unwrap, "+name, k, err)
		if _, err := r.Rewrap(ctx, w, ec, base); !errors.Is(err, keystore.ErrUnwrap) {
			t.Errorf("Rewrap, %s: err %v, want ErrUnwrap", name, err)
		}
	}
	unwrap(t, r, w, base)
}

func TestOtherKeysCiphertextIsErrUnwrap(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	other, err := kmsroot.New(f, f.newKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := sampleEC()
	w := newKey(t, other, ec)
	k, err := r.Unwrap(ctx, w, ec)
	wantUnwrapErr(t, "Unwrap of another key's ciphertext", k, err)
	if _, err := r.Rewrap(ctx, w, ec, ec); !errors.Is(err, keystore.ErrUnwrap) {
		t.Errorf("Rewrap of another key's ciphertext: err %v, want ErrUnwrap", err)
	}
	unwrap(t, other, w, ec)
}

func TestDamagedCiphertextIsErrUnwrap(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	ctx := context.Background()
	ec := sampleEC()
	w := newKey(t, r, ec)
	for i := range w {
		for bit := range 8 {
			bad := bytes.Clone(w)
			bad[i] ^= 1 << bit
			k, err := r.Unwrap(ctx, bad, ec)
			wantUnwrapErr(t, fmt.Sprintf("byte %d bit %d flipped", i, bit), k, err)
		}
	}
	for n := range len(w) {
		k, err := r.Unwrap(ctx, w[:n], ec)
		wantUnwrapErr(t, fmt.Sprintf("truncated to %d bytes", n), k, err)
	}
	// Lengths KMS refuses as invalid input are refused without a call.
	calls := f.callsOf(kmsroot.OpDecrypt)
	for _, bad := range [][]byte{nil, {}, make([]byte, 6145)} {
		k, err := r.Unwrap(ctx, bad, ec)
		wantUnwrapErr(t, fmt.Sprintf("%d-byte ciphertext", len(bad)), k, err)
		if _, err := r.Rewrap(ctx, bad, ec, ec); !errors.Is(err, keystore.ErrUnwrap) {
			t.Errorf("Rewrap of a %d-byte ciphertext: %v", len(bad), err)
		}
	}
	if got := f.callsOf(kmsroot.OpDecrypt) - calls; got != 0 {
		t.Errorf("%d Decrypt calls for ciphertexts of impossible lengths", got)
	}
	unwrap(t, r, w, ec)
}

// Responses that do not name the configured key, or hold a plaintext that
// is not 32 bytes, are refused, and the plaintext is zeroed.
func TestResponsesAreChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ec := sampleEC()
	for _, c := range []struct {
		name  string
		keyID string
		n     int
	}{
		{"another key id", "arn:aws:kms:us-west-2:111122223333:key/other", 0},
		{"the key id's alias", "alias/root", 0},
		{"16-byte plaintext", "", 16},
		{"31-byte plaintext", "", 31},
		{"33-byte plaintext", "", 33},
		{"64-byte plaintext", "", 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, r := newRoot(t)
			w := newKey(t, r, ec)
			f.answerWith(c.keyID, c.n)
			k, err := r.Unwrap(ctx, w, ec)
			wantUnwrapErr(t, "Unwrap", k, err)
			for _, pt := range f.returned() {
				if !bytes.Equal(pt, make([]byte, len(pt))) {
					t.Error("the refused plaintext was not zeroed")
				}
			}
			if c.keyID == "" {
				return
			}
			if _, err := r.NewKey(ctx, ec); !errors.Is(err, keystore.ErrUnwrap) {
				t.Errorf("NewKey answered by another key: err %v, want ErrUnwrap", err)
			}
			if _, err := r.Rewrap(ctx, w, ec, ec); !errors.Is(err, keystore.ErrUnwrap) {
				t.Errorf("Rewrap answered by another key: err %v, want ErrUnwrap", err)
			}
		})
	}
}

// answerAPI answers every call with fixed outputs.
type answerAPI struct {
	gen *kms.GenerateDataKeyWithoutPlaintextOutput
	dec *kms.DecryptOutput
	re  *kms.ReEncryptOutput
}

func (a answerAPI) GenerateDataKeyWithoutPlaintext(context.Context, *kms.GenerateDataKeyWithoutPlaintextInput, ...func(*kms.Options)) (*kms.GenerateDataKeyWithoutPlaintextOutput, error) {
	return a.gen, nil
}

func (a answerAPI) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return a.dec, nil
}

func (a answerAPI) ReEncrypt(context.Context, *kms.ReEncryptInput, ...func(*kms.Options)) (*kms.ReEncryptOutput, error) {
	return a.re, nil
}

func TestIncompleteResponsesAreRefused(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:kms:us-east-1:111122223333:key/k"
	ctx := context.Background()
	blob := []byte("ciphertext")
	for name, api := range map[string]answerAPI{
		"no response":    {},
		"no key id":      {gen: &kms.GenerateDataKeyWithoutPlaintextOutput{CiphertextBlob: blob}, dec: &kms.DecryptOutput{Plaintext: make([]byte, 32)}, re: &kms.ReEncryptOutput{CiphertextBlob: blob, SourceKeyId: aws.String(arn)}},
		"no source key":  {re: &kms.ReEncryptOutput{CiphertextBlob: blob, KeyId: aws.String(arn)}},
		"no ciphertext":  {gen: &kms.GenerateDataKeyWithoutPlaintextOutput{KeyId: aws.String(arn)}, re: &kms.ReEncryptOutput{KeyId: aws.String(arn), SourceKeyId: aws.String(arn)}},
		"no plaintext":   {dec: &kms.DecryptOutput{KeyId: aws.String(arn)}},
		"huge ciphertxt": {gen: &kms.GenerateDataKeyWithoutPlaintextOutput{KeyId: aws.String(arn), CiphertextBlob: make([]byte, 6145)}},
		"other source":   {re: &kms.ReEncryptOutput{CiphertextBlob: blob, KeyId: aws.String(arn), SourceKeyId: aws.String(arn + "2")}},
	} {
		r, err := kmsroot.New(api, arn)
		if err != nil {
			t.Fatal(err)
		}
		if api.gen != nil || name == "no response" {
			if w, err := r.NewKey(ctx, nil); err == nil || w != nil {
				t.Errorf("%s: NewKey = %d bytes, err %v; want an error", name, len(w), err)
			}
		}
		if api.dec != nil || name == "no response" {
			if k, err := r.Unwrap(ctx, blob, nil); err == nil || !k.IsZero() {
				t.Errorf("%s: Unwrap err %v; want an error and no key", name, err)
			}
		}
		if api.re != nil || name == "no response" {
			if w, err := r.Rewrap(ctx, blob, nil, nil); err == nil || w != nil {
				t.Errorf("%s: Rewrap = %d bytes, err %v; want an error", name, len(w), err)
			}
		}
	}
}

func TestUnwrapZeroesTheSDKPlaintext(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	ec := sampleEC()
	k := unwrap(t, r, newKey(t, r, ec), ec)
	got := f.returned()
	if len(got) != 1 {
		t.Fatalf("%d plaintexts returned, want 1", len(got))
	}
	if !bytes.Equal(got[0], make([]byte, 32)) {
		t.Fatal("Unwrap left the SDK's plaintext slice unzeroed")
	}
	if k.Equal(secret.New(make([]byte, 32))) {
		t.Fatal("Unwrap returned a zeroed key: it shares the SDK's slice")
	}
}

// ops calls each Root method once.
func ops(r *kmsroot.Root, ctx context.Context, w []byte) map[string]func() error {
	ec := sampleEC()
	return map[string]func() error{
		kmsroot.OpGenerateDataKeyWithoutPlaintext: func() error { _, err := r.NewKey(ctx, ec); return err },
		kmsroot.OpDecrypt:                         func() error { _, err := r.Unwrap(ctx, w, ec); return err },
		kmsroot.OpReEncrypt:                       func() error { _, err := r.Rewrap(ctx, w, ec, ec); return err },
	}
}

// TestValidationOfStoredInputIsErrUnwrap: KMS refusing as invalid what a
// key store item supplied (ciphertext, context) is a damaged entry, not an
// outage; on GenerateDataKeyWithoutPlaintext, whose input is ours, it is not
// blamed on the stored data.
func TestValidationOfStoredInputIsErrUnwrap(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	w := newKey(t, r, sampleEC())
	f.failWith(func(op string) error {
		return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: &smithy.GenericAPIError{Code: "ValidationException"}}
	})
	if _, err := r.Unwrap(context.Background(), w, sampleEC()); !errors.Is(err, keystore.ErrUnwrap) || errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("Unwrap refused as invalid: %v; want keystore.ErrUnwrap only", err)
	}
	if _, err := r.Rewrap(context.Background(), w, sampleEC(), sampleEC()); !errors.Is(err, keystore.ErrUnwrap) {
		t.Errorf("Rewrap refused as invalid: %v; want keystore.ErrUnwrap", err)
	}
	if _, err := r.NewKey(context.Background(), sampleEC()); errors.Is(err, keystore.ErrUnwrap) {
		t.Errorf("NewKey refused as invalid: %v; must not blame a stored key", err)
	}
}

func TestOutagesAreErrUnavailable(t *testing.T) {
	t.Parallel()
	apiErr := func(e error) func(op string) error {
		return func(op string) error { return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: e} }
	}
	failures := map[string]func(op string) error{
		"network":              networkError,
		"throttling":           throttlingError,
		"KMSInternalException": apiErr(&types.KMSInternalException{}),
		"DisabledException":    apiErr(&types.DisabledException{Message: aws.String("key is disabled")}),
		"NotFoundException":    apiErr(&types.NotFoundException{}),
		"KMSInvalidState":      apiErr(&types.KMSInvalidStateException{}),
		"KeyUnavailable":       apiErr(&types.KeyUnavailableException{}),
		"DependencyTimeout":    apiErr(&types.DependencyTimeoutException{}),
		"AccessDenied":         apiErr(&smithy.GenericAPIError{Code: "AccessDeniedException"}),
		"deserialization":      apiErr(&smithy.DeserializationError{Err: errors.New("unexpected EOF")}),
	}
	for name, fail := range failures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, r := newRoot(t)
			w := newKey(t, r, sampleEC())
			f.failWith(fail)
			for op, call := range ops(r, context.Background(), w) {
				err := call()
				if !errors.Is(err, materials.ErrUnavailable) || errors.Is(err, keystore.ErrUnwrap) {
					t.Errorf("%s: err %v, want materials.ErrUnavailable only", op, err)
				}
				if err != nil && !strings.Contains(err.Error(), op) {
					t.Errorf("%s: error %q does not name the operation", op, err)
				}
			}
			// The SDK's error stays reachable, for logs and metrics.
			if _, err := r.NewKey(context.Background(), nil); !errors.As(err, new(*smithy.OperationError)) {
				t.Errorf("the SDK's error is not in the chain: %v", err)
			}
		})
	}

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		_, r := newRoot(t)
		w := newKey(t, r, sampleEC())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for op, call := range ops(r, ctx, w) {
			if err := call(); !errors.Is(err, materials.ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Errorf("%s: err %v, want ErrUnavailable and context.Canceled", op, err)
			}
		}
	})

	t.Run("unknown key", func(t *testing.T) {
		t.Parallel()
		f, r := newRoot(t)
		w := newKey(t, r, sampleEC())
		gone, err := kmsroot.New(f, "arn:aws:kms:us-west-2:111122223333:key/no-such-key")
		if err != nil {
			t.Fatal(err)
		}
		for op, call := range ops(gone, context.Background(), w) {
			if err := call(); !errors.Is(err, materials.ErrUnavailable) {
				t.Errorf("%s under a key KMS does not have: err %v, want ErrUnavailable", op, err)
			}
		}
	})

	t.Run("service restored", func(t *testing.T) {
		t.Parallel()
		f, r := newRoot(t)
		w := newKey(t, r, sampleEC())
		f.failWith(throttlingError)
		if _, err := r.Unwrap(context.Background(), w, sampleEC()); err == nil {
			t.Fatal("no error while failing")
		}
		f.failWith(nil)
		for op, call := range ops(r, context.Background(), w) {
			if err := call(); err != nil {
				t.Errorf("%s after the outage: %v", op, err)
			}
		}
	})
}

type observed struct {
	op  string
	err error
}

func observe(r *kmsroot.Root) func() []observed {
	var mu sync.Mutex
	var seen []observed
	r.Observe(func(op string, err error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, observed{op, err})
	})
	return func() []observed {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

func TestObserverSeesEachCallOnce(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	seen := observe(r)
	ctx := context.Background()
	ec := sampleEC()

	w := newKey(t, r, ec)
	moved, err := r.Rewrap(ctx, w, ec, ec)
	if err != nil {
		t.Fatal(err)
	}
	unwrap(t, r, moved, ec)
	want := []observed{{kmsroot.OpGenerateDataKeyWithoutPlaintext, nil}, {kmsroot.OpReEncrypt, nil}, {kmsroot.OpDecrypt, nil}}
	if got := seen(); !reflect.DeepEqual(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}

	// A refused ciphertext: once, with the error returned.
	_, err = r.Unwrap(ctx, moved, map[string]string{})
	if got := seen(); len(got) != 1 || got[0].op != kmsroot.OpDecrypt || got[0].err != err || !errors.Is(got[0].err, keystore.ErrUnwrap) {
		t.Fatalf("wrong context: observed %v, want one Decrypt with the returned error %v", got, err)
	}
	// An outage: once per call.
	f.failWith(networkError)
	for op, call := range ops(r, ctx, w) {
		err := call()
		if got := seen(); len(got) != 1 || got[0].op != op || got[0].err != err {
			t.Errorf("%s failing: observed %v, want one %s with %v", op, got, op, err)
		}
	}
	// No KMS call, nothing observed.
	if _, err := r.Unwrap(ctx, nil, ec); err == nil {
		t.Fatal("Unwrap of nothing succeeded")
	}
	if got := seen(); len(got) != 0 {
		t.Fatalf("observed %v without a KMS call", got)
	}
}
