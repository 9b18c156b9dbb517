package kmsroot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/materials"
)

// leakForms are renderings of b that must not appear in an error.
func leakForms(b []byte) map[string]string {
	return map[string]string{
		"raw":       string(b),
		"hex":       hex.EncodeToString(b),
		"HEX":       strings.ToUpper(hex.EncodeToString(b)),
		"base64":    base64.StdEncoding.EncodeToString(b),
		"base64raw": base64.RawStdEncoding.EncodeToString(b),
		"base64url": base64.RawURLEncoding.EncodeToString(b),
		"decimal":   strings.Trim(fmt.Sprint(b), "[]"),
		"quoted":    strings.Trim(fmt.Sprintf("%q", b), `"`),
	}
}

func checkNoLeak(t *testing.T, what string, err error, secrets map[string][]byte) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for name, b := range secrets {
			for form, s := range leakForms(b) {
				if strings.Contains(text, s) {
					t.Errorf("%s: error text holds the %s (%s): %q", what, name, form, text)
				}
			}
		}
	}
}

// No error holds key bytes or a ciphertext, whatever went wrong.
func TestErrorsHoldNoKeyOrCiphertext(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	ctx := context.Background()
	ec := sampleEC()
	w := newKey(t, r, ec)
	key := unwrap(t, r, w, ec)
	secrets := map[string][]byte{"key": key.InsecureBytes(), "key's first half": key.InsecureBytes()[:16], "ciphertext": w}

	canary := []byte(strings.Repeat("CANARY", 1100)) // longer than KMS takes
	secrets["canary"] = canary[:32]
	_, err := r.Unwrap(ctx, canary, ec)
	checkNoLeak(t, "Unwrap of an oversized ciphertext", err, secrets)
	_, err = r.Rewrap(ctx, canary, ec, ec)
	checkNoLeak(t, "Rewrap of an oversized ciphertext", err, secrets)
	_, err = r.Unwrap(ctx, canary[:100], ec)
	checkNoLeak(t, "Unwrap of a forged ciphertext", err, secrets)

	for name, bad := range changedContexts(ec) {
		_, err := r.Unwrap(ctx, w, bad)
		checkNoLeak(t, "Unwrap, "+name, err, secrets)
	}
	f.answerWith("", 33)
	_, err = r.Unwrap(ctx, w, ec)
	checkNoLeak(t, "Unwrap with a 33-byte answer", err, secrets)
	f.answerWith("", 16)
	_, err = r.Unwrap(ctx, w, ec)
	checkNoLeak(t, "Unwrap with a 16-byte answer", err, secrets)
	f.answerWith("arn:aws:kms:us-west-2:111122223333:key/other", 0)
	_, err = r.Unwrap(ctx, w, ec)
	checkNoLeak(t, "Unwrap answered by another key", err, secrets)
	_, err = r.Rewrap(ctx, w, ec, ec)
	checkNoLeak(t, "Rewrap answered by another key", err, secrets)
	f.answerWith("", 0)
	f.failWith(throttlingError)
	for op, call := range ops(r, ctx, w) {
		checkNoLeak(t, op+" throttled", call(), secrets)
	}
}

func TestDeserializationSnapshotIsCleared(t *testing.T) {
	t.Parallel()
	f, r := newRoot(t)
	w := newKey(t, r, sampleEC())
	body := []byte(`{"KeyId":"...","Plaintext":"S0VZS0VZS0VZ`)
	de := &smithy.DeserializationError{Err: errors.New("unexpected EOF"), Snapshot: body}
	f.failWith(func(op string) error { return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: de} })
	_, err := r.Unwrap(context.Background(), w, sampleEC())
	if !errors.Is(err, materials.ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	if got, ok := errors.AsType[*smithy.DeserializationError](err); !ok || got.Snapshot != nil {
		t.Fatal("the error still holds the response body")
	}
	if !bytes.Equal(body, make([]byte, len(body))) {
		t.Fatal("the response body was not zeroed")
	}
}
