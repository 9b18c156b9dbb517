package awskms

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

var errKMSDown = errors.New("KMS unavailable")

// mustLeaveEncryption runs OnEncrypt, expects failure and checks that the
// materials are as before.
func mustLeaveEncryption(t *testing.T, k *Keyring, dataKey secret.Bytes) error {
	t.Helper()
	s := testSuite(t, materials.SuiteSymSig)
	m := &materials.Encryption{Suite: s, Context: testContext(), DataKey: bytes.Clone(dataKey)}
	err := k.OnEncrypt(context.Background(), m)
	if err == nil {
		t.Fatal("OnEncrypt succeeded")
	}
	if !bytes.Equal(m.DataKey, dataKey) || (dataKey == nil) != (m.DataKey == nil) {
		t.Fatal("failed OnEncrypt changed the data key")
	}
	if len(m.EDKs) != 0 || len(m.SigningKeys) != 0 {
		t.Fatal("failed OnEncrypt added an EDK")
	}
	return err
}

func TestKMSFailureFailsClosed(t *testing.T) {
	t.Parallel()
	fake := newFake(t, keyARN)
	k := newKeyring(t, keyARN, fake)
	s := testSuite(t, materials.SuiteSymSig)
	edks := encrypt(t, k, s, testContext()).EDKs
	fake.FailWith(errKMSDown)
	for _, dk := range []secret.Bytes{nil, bytes.Repeat(secret.Bytes{9}, 32)} {
		if err := mustLeaveEncryption(t, k, dk); !errors.Is(err, errKMSDown) {
			t.Fatalf("err = %v, want the KMS failure inside", err)
		}
	}
	d, err := decrypt(k, s, testContext(), edks)
	mustFailClosed(t, d, err)
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
			for _, dk := range []secret.Bytes{nil, bytes.Repeat(secret.Bytes{9}, 32)} {
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
	s := testSuite(t, materials.SuiteSymSig)
	edks := encrypt(t, newKeyring(t, keyARN, fake), s, testContext()).EDKs
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyring(t, keyARN, &spy{KMS: fake, dec: tt.dec})
			d, err := decrypt(k, s, testContext(), edks)
			mustFailClosed(t, d, err)
			if !strings.Contains(err.Error(), "invalid Decrypt response") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestMaterialsChecks(t *testing.T) {
	t.Parallel()
	fake := newFake(t, keyARN)
	k := newKeyring(t, keyARN, fake)
	bad := []materials.Encryption{
		{Context: testContext()},
		{Suite: testSuite(t, materials.SuiteSymSig), Context: materials.Context{"k\xff": "v"}},
		{Suite: testSuite(t, materials.SuiteSymSig), Context: materials.Context{"k": "v\xc3"}},
		{Suite: testSuite(t, materials.SuiteSymSig), DataKey: secret.Bytes{1, 2, 3}},
	}
	for i, m := range bad {
		if err := k.OnEncrypt(context.Background(), &m); err == nil || len(m.EDKs) != 0 {
			t.Errorf("case %d: OnEncrypt = %v with %d EDKs", i, err, len(m.EDKs))
		}
	}
	d := &materials.Decryption{Context: testContext()}
	if err := k.OnDecrypt(context.Background(), d, nil); err == nil {
		t.Error("OnDecrypt accepted materials without a suite")
	}
}

// TestNoKeyBytesInOutput drives failure paths with canary keys and checks
// that no error or formatted value carries the data key or the
// intermediate keys KMS returned.
func TestNoKeyBytesInOutput(t *testing.T) {
	t.Parallel()
	dataKey := secret.Bytes("CANARY-data-key-0123456789abcdef")
	var mu sync.Mutex
	var intermediates [][]byte
	sp := &spy{KMS: newFake(t, keyARN), gen: func(pt, b []byte, id string) ([]byte, []byte, string) {
		mu.Lock()
		defer mu.Unlock()
		intermediates = append(intermediates, bytes.Clone(pt))
		return pt, b, id
	}}
	k := newKeyring(t, keyARN, sp)
	s := testSuite(t, materials.SuiteSymSig)
	m := &materials.Encryption{Suite: s, Context: testContext(), DataKey: bytes.Clone(dataKey)}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	outs := []string{fmt.Sprintf("%v %+v %#v", k, m, *m)}
	add := func(err error) {
		if err == nil {
			t.Fatal("expected an error")
		}
		outs = append(outs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	_, err := decrypt(k, s, materials.Context{"other": "context"}, m.EDKs)
	add(err)
	tampered := m.EDKs[0]
	tampered.Ciphertext = flipBit(tampered.Ciphertext, 5)
	_, err = decrypt(k, s, testContext(), []materials.EDK{tampered})
	add(err)
	lying := newKeyring(t, keyARN, &spy{KMS: sp.KMS, dec: func(pt []byte, _ string) ([]byte, string) {
		return pt, string(pt) // a KeyId made of key bytes must not be echoed
	}})
	_, err = decrypt(lying, s, testContext(), m.EDKs)
	add(err)
	lyingGen := newKeyring(t, keyARN, &spy{KMS: sp.KMS, gen: func(pt, b []byte, _ string) ([]byte, []byte, string) {
		return pt, b, string(pt)
	}})
	add(lyingGen.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, Context: testContext(), DataKey: bytes.Clone(dataKey)}))
	add(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: dataKey[:7]}))
	sp.FailWith(errKMSDown)
	add(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: bytes.Clone(dataKey)}))
	for _, key := range append(intermediates, dataKey) {
		for _, o := range outs {
			if leak := leakedForm(o, key); leak != "" {
				t.Errorf("output leaks key bytes as %s: %q", leak, o)
			}
		}
	}
}

// leakedForm names the encoding in which out contains b, or "".
func leakedForm(out string, b []byte) string {
	forms := map[string]string{
		"raw":        string(b),
		"quoted":     strings.Trim(fmt.Sprintf("%q", b), `"`),
		"hex":        hex.EncodeToString(b),
		"HEX":        strings.ToUpper(hex.EncodeToString(b)),
		"base64":     base64.StdEncoding.EncodeToString(b),
		"base64-raw": base64.RawStdEncoding.EncodeToString(b),
		"base64-url": base64.RawURLEncoding.EncodeToString(b),
		"decimal":    strings.Trim(fmt.Sprint(b), "[]"),
	}
	for name, f := range forms {
		if strings.Contains(out, f) {
			return name
		}
	}
	return ""
}
