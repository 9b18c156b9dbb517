package awskms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

var errKMSDown = errors.New("KMS unavailable")

// mustLeaveEncryption runs OnEncrypt on materials holding dataKey, expects
// failure and checks that the materials are as before.
func mustLeaveEncryption(t *testing.T, k *Keyring, dataKey []byte) error {
	t.Helper()
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := &materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.Copy(dataKey)}
	return keyringtest.MustFailEncrypt(t, k, m)
}

func TestKMSFailureFailsClosed(t *testing.T) {
	t.Parallel()
	fake := newFake(t, keyARN)
	k := newKeyring(t, keyARN, fake)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	edks := keyringtest.Encrypt(t, k, s, keyringtest.Context()).EDKs
	fake.FailWith(errKMSDown)
	for _, dk := range [][]byte{nil, bytes.Repeat([]byte{9}, 32)} {
		if err := mustLeaveEncryption(t, k, dk); !errors.Is(err, errKMSDown) {
			t.Fatalf("err = %v, want the KMS failure inside", err)
		}
	}
	d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), edks)
	keyringtest.MustFailClosed(t, d, err)
	if !errors.Is(err, errKMSDown) {
		t.Fatalf("err = %v, want the KMS failure inside", err)
	}
}

func TestInvalidGenerateDataKeyResponse(t *testing.T) {
	t.Parallel()
	other := strings.Replace(keyARN, "1234abcd", "9999abcd", 1)
	tests := []struct {
		name string
		gen  func(pt, blob []byte, id string) ([]byte, []byte, string)
	}{
		{"empty key id", func(pt, b []byte, _ string) ([]byte, []byte, string) { return pt, b, "" }},
		{"bare key id", func(pt, b []byte, _ string) ([]byte, []byte, string) { return pt, b, "1234abcd" }},
		{"alias", func(pt, b []byte, _ string) ([]byte, []byte, string) { return pt, b, "alias/x" }},
		{"alias ARN", func(pt, b []byte, _ string) ([]byte, []byte, string) { return pt, b, aliasARN }},
		{"not kms", func(pt, b []byte, _ string) ([]byte, []byte, string) {
			return pt, b, strings.Replace(other, ":kms:", ":s3:", 1)
		}},
		{"short plaintext", func(pt, b []byte, id string) ([]byte, []byte, string) { return pt[:16], b, id }},
		{"long plaintext", func(pt, b []byte, id string) ([]byte, []byte, string) { return append(pt, 0), b, id }},
		{"no plaintext", func(_, b []byte, id string) ([]byte, []byte, string) { return nil, b, id }},
		{"no blob", func(pt, _ []byte, id string) ([]byte, []byte, string) { return pt, nil, id }},
		{"huge blob", func(pt, _ []byte, id string) ([]byte, []byte, string) {
			return pt, make([]byte, maxCiphertextLen+1), id
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyring(t, keyARN, &spy{KMS: newFake(t, keyARN), gen: tt.gen})
			for _, dk := range [][]byte{nil, bytes.Repeat([]byte{9}, 32)} {
				if err := mustLeaveEncryption(t, k, dk); !strings.Contains(err.Error(), "invalid GenerateDataKey response") {
					t.Fatalf("err = %v", err)
				}
			}
		})
	}
}

func TestInvalidDecryptResponse(t *testing.T) {
	t.Parallel()
	other := strings.Replace(keyARN, "1234abcd", "9999abcd", 1)
	tests := []struct {
		name string
		dec  func(pt []byte, id string) ([]byte, string)
	}{
		{"other key id", func(pt []byte, _ string) ([]byte, string) { return pt, other }},
		{"empty key id", func(pt []byte, _ string) ([]byte, string) { return pt, "" }},
		{"short plaintext", func(pt []byte, id string) ([]byte, string) { return pt[:31], id }},
		{"long plaintext", func(pt []byte, id string) ([]byte, string) { return append(pt, 0), id }},
		{"no plaintext", func(_ []byte, id string) ([]byte, string) { return nil, id }},
	}
	fake := newFake(t, keyARN)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	edks := keyringtest.Encrypt(t, newKeyring(t, keyARN, fake), s, keyringtest.Context()).EDKs
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyring(t, keyARN, &spy{KMS: fake, dec: tt.dec})
			d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), edks)
			keyringtest.MustFailClosed(t, d, err)
			if !strings.Contains(err.Error(), "invalid Decrypt response") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestMaterialsChecks(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, keyARN, newFake(t, keyARN))
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	for name, m := range map[string]materials.Encryption{
		"no suite":                    {Context: keyringtest.Context()},
		"invalid UTF-8 context key":   {Suite: s, Context: materials.Context{"k\xff": "v"}},
		"invalid UTF-8 context value": {Suite: s, Context: materials.Context{"k": "v\xc3"}},
		"short data key":              {Suite: s, DataKey: secret.New([]byte{1, 2, 3})},
	} {
		t.Run(name, func(t *testing.T) { keyringtest.MustFailEncrypt(t, k, &m) })
	}
	d := &materials.Decryption{Context: keyringtest.Context()}
	if err := k.OnDecrypt(context.Background(), d, nil); err == nil {
		t.Error("OnDecrypt accepted materials without a suite")
	}
}

// TestNoKeyBytesInOutput drives failure paths with canary keys and checks
// that no error or formatted value carries the data key or the
// intermediate keys KMS returned.
func TestNoKeyBytesInOutput(t *testing.T) {
	t.Parallel()
	dataKey := []byte("CANARY-data-key-0123456789abcdef")
	var mu sync.Mutex
	var intermediates [][]byte
	sp := &spy{KMS: newFake(t, keyARN), gen: func(pt, b []byte, id string) ([]byte, []byte, string) {
		mu.Lock()
		defer mu.Unlock()
		intermediates = append(intermediates, bytes.Clone(pt))
		return pt, b, id
	}}
	k := newKeyring(t, keyARN, sp)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := &materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.Copy(dataKey)}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	outs := []string{fmt.Sprintf("%v %+v %#v", k, m, *m)}
	add := func(err error) { outs = append(outs, keyringtest.ErrorTexts(t, err)...) }
	_, err := keyringtest.Decrypt(k, s, materials.Context{"other": "context"}, m.EDKs)
	add(err)
	tampered := m.EDKs[0]
	tampered.Ciphertext = keyringtest.FlipBit(tampered.Ciphertext, 5)
	_, err = keyringtest.Decrypt(k, s, keyringtest.Context(), []materials.EDK{tampered})
	add(err)
	lying := newKeyring(t, keyARN, &spy{KMS: sp.KMS, dec: func(pt []byte, _ string) ([]byte, string) {
		return pt, string(pt) // a KeyId made of key bytes must not be echoed
	}})
	_, err = keyringtest.Decrypt(lying, s, keyringtest.Context(), m.EDKs)
	add(err)
	lyingGen := newKeyring(t, keyARN, &spy{KMS: sp.KMS, gen: func(pt, b []byte, _ string) ([]byte, []byte, string) {
		return pt, b, string(pt)
	}})
	add(lyingGen.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.Copy(dataKey)}))
	add(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: secret.Copy(dataKey[:7])}))
	sp.FailWith(errKMSDown)
	add(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: secret.Copy(dataKey)}))
	keyringtest.CheckNoKeyBytes(t, outs, append(intermediates, dataKey)...)
}
