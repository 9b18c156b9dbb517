package rawaes

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// TestNoKeyBytesInOutput drives every failure path with canary keys and
// checks that no error or formatted value carries their bytes.
func TestNoKeyBytesInOutput(t *testing.T) {
	t.Parallel()
	wrapKey := []byte("CANARY-wrapping-key-0123456789ab")
	dataKey := secret.Bytes("CANARY-data-key-0123456789abcdef")
	s := testSuite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, wrapKey)
	m := &materials.Encryption{Suite: s, Context: testContext(), DataKey: append(secret.Bytes(nil), dataKey...)}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var outs []string
	addErr := func(err error) {
		if err == nil {
			t.Fatal("expected an error")
		}
		outs = append(outs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	}
	_, err := New(testNS, testName, wrapKey[:17])
	addErr(err)
	addErr(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: dataKey[:5]}))
	_, err = decrypt(k, s, materials.Context{"other": "context"}, m.EDKs)
	addErr(err)
	bad := m.EDKs[0]
	bad.Ciphertext = flipBit(bad.Ciphertext, 3)
	_, err = decrypt(k, s, testContext(), []materials.EDK{bad})
	addErr(err)
	bad.Ciphertext = bad.Ciphertext[:40]
	_, err = decrypt(k, s, testContext(), []materials.EDK{bad})
	addErr(err)
	_, err = decrypt(newKeyring(t, testNS, testName, []byte("CANARY-other-wrapping-key-012345")), s, testContext(), m.EDKs)
	addErr(err)
	addErr(k.OnDecrypt(context.Background(), &materials.Decryption{Suite: s, DataKey: dataKey}, m.EDKs))
	outs = append(outs, fmt.Sprintf("%v %+v %#v %s", k, k, *k, k), fmt.Sprintf("%+v %#v", m, *m))
	for _, secretBytes := range [][]byte{wrapKey, dataKey} {
		for _, o := range outs {
			if leak := leakedForm(o, secretBytes); leak != "" {
				t.Errorf("output leaks key bytes as %s: %q", leak, o)
			}
		}
	}
}

// leakedForm names the encoding in which out contains b, or "".
func leakedForm(out string, b []byte) string {
	forms := map[string]string{
		"raw":        string(b),
		"hex":        hex.EncodeToString(b),
		"HEX":        strings.ToUpper(hex.EncodeToString(b)),
		"base64":     base64.StdEncoding.EncodeToString(b),
		"base64-raw": base64.RawStdEncoding.EncodeToString(b),
		"base64-url": base64.RawURLEncoding.EncodeToString(b),
		"decimal":    strings.Trim(fmt.Sprint([]byte(b)), "[]"),
		"canary":     "CANARY",
	}
	for name, f := range forms {
		if strings.Contains(out, f) {
			return name
		}
	}
	return ""
}
