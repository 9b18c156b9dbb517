package kmstest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

var testEC = map[string]string{"aws-crypto-table-name": "records", "purpose": "test"}

func TestGenerateDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	k := New()
	arn := k.NewKey()
	ctx := context.Background()
	pt, blob, used, err := k.GenerateDataKey(ctx, arn, 32, testEC)
	if err != nil || len(pt) != 32 || used != arn {
		t.Fatalf("GenerateDataKey: %d bytes, key %q, %v", len(pt), used, err)
	}
	for _, keyID := range []string{arn, ""} {
		got, used, err := k.Decrypt(ctx, keyID, blob, testEC)
		if err != nil || !bytes.Equal(got, pt) || used != arn {
			t.Fatalf("Decrypt(keyID %q): key %q, %v", keyID, used, err)
		}
	}
	blob2, _, err := k.Encrypt(ctx, arn, pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := k.Decrypt(ctx, arn, blob2, map[string]string{}); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Encrypt/Decrypt with empty context: %v", err)
	}
	if k.Calls(OpGenerateDataKey) != 1 || k.Calls(OpEncrypt) != 1 || k.Calls(OpDecrypt) != 3 {
		t.Fatalf("calls: %d %d %d", k.Calls(OpGenerateDataKey), k.Calls(OpEncrypt), k.Calls(OpDecrypt))
	}
}

func TestDecryptRejects(t *testing.T) {
	t.Parallel()
	k := New()
	arn, other := k.NewKey(), k.NewKey()
	ctx := context.Background()
	_, blob, _, err := k.GenerateDataKey(ctx, arn, 32, testEC)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]string{"aws-crypto-table-name": "records", "purpose": "other"}
	added := map[string]string{"aws-crypto-table-name": "records", "purpose": "test", "x": ""}
	tests := []struct {
		name  string
		keyID string
		blob  []byte
		ec    map[string]string
		want  error
	}{
		{"changed context", arn, blob, changed, ErrInvalidCiphertext},
		{"added context entry", arn, blob, added, ErrInvalidCiphertext},
		{"no context", arn, blob, nil, ErrInvalidCiphertext},
		{"other key", other, blob, testEC, ErrIncorrectKey},
		{"unknown key", strings.Replace(arn, Account, "444455556666", 1), blob, testEC, ErrNotFound},
		{"empty blob", arn, nil, testEC, ErrInvalidCiphertext},
		{"truncated blob", arn, blob[:len(blob)-1], testEC, ErrInvalidCiphertext},
		{"bad version", arn, append([]byte{2}, blob[1:]...), testEC, ErrInvalidCiphertext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pt, _, err := k.Decrypt(ctx, tt.keyID, tt.blob, tt.ec)
			if !errors.Is(err, tt.want) || pt != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecryptRejectsEveryBitFlip(t *testing.T) {
	t.Parallel()
	k := New()
	arn := k.NewKey()
	_, blob, _, err := k.GenerateDataKey(context.Background(), arn, 32, testEC)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(blob) * 8 {
		bad := bytes.Clone(blob)
		bad[i/8] ^= 1 << (i % 8)
		if _, _, err := k.Decrypt(context.Background(), arn, bad, testEC); err == nil {
			t.Fatalf("bit %d: tampered blob decrypted", i)
		}
	}
}

func TestMultiRegionReplicas(t *testing.T) {
	t.Parallel()
	west := "arn:aws:kms:us-west-2:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
	east := strings.Replace(west, "us-west-2", "us-east-1", 1)
	single := "arn:aws:kms:us-west-2:111122223333:key/0123456789abcdef"
	k := New()
	for _, a := range []string{west, east, single} {
		if err := k.AddKey(a); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	pt, blob, _, err := k.GenerateDataKey(ctx, west, 32, testEC)
	if err != nil {
		t.Fatal(err)
	}
	got, used, err := k.Decrypt(ctx, east, blob, testEC)
	if err != nil || !bytes.Equal(got, pt) || used != east {
		t.Fatalf("replica Decrypt: key %q, %v", used, err)
	}
	if _, _, err := k.Decrypt(ctx, single, blob, testEC); !errors.Is(err, ErrIncorrectKey) {
		t.Fatalf("single-Region key opened an MRK blob: %v", err)
	}
}

func TestFailWithAndContext(t *testing.T) {
	t.Parallel()
	k := New()
	arn := k.NewKey()
	boom := errors.New("throttled")
	k.FailWith(boom)
	if _, _, _, err := k.GenerateDataKey(context.Background(), arn, 32, nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want injected failure", err)
	}
	if _, _, err := k.Decrypt(context.Background(), arn, []byte{1}, nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want injected failure", err)
	}
	k.FailWith(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := k.Encrypt(ctx, arn, []byte{1}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if k.Calls(OpGenerateDataKey) != 1 || k.Calls(OpDecrypt) != 1 || k.Calls(OpEncrypt) != 1 {
		t.Fatal("failed calls were not counted")
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	k := New()
	arn := k.NewKey()
	ctx := context.Background()
	for _, n := range []int{0, -1, 1025} {
		if _, _, _, err := k.GenerateDataKey(ctx, arn, n, nil); !errors.Is(err, ErrValidation) {
			t.Errorf("NumberOfBytes %d: err = %v", n, err)
		}
	}
	if _, _, err := k.Encrypt(ctx, arn, make([]byte, 4097), nil); !errors.Is(err, ErrValidation) {
		t.Errorf("long plaintext: err = %v", err)
	}
	if _, _, err := k.Encrypt(ctx, arn, []byte{1}, map[string]string{"k": strings.Repeat("v", 0x10000)}); !errors.Is(err, ErrValidation) {
		t.Errorf("oversized context: err = %v", err)
	}
	for _, bad := range []string{"", "alias/x", "arn:aws:kms:us-west-2:111122223333:alias/x", "arn:aws:kms:us-west-2:111122223333:key/"} {
		if err := k.AddKey(bad); !errors.Is(err, ErrValidation) {
			t.Errorf("AddKey(%q) = %v", bad, err)
		}
	}
	if _, _, _, err := k.GenerateDataKey(ctx, "alias/x", 32, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("alias: err = %v, want ErrNotFound", err)
	}
}
