package rawaes

import (
	"context"
	"fmt"
	"testing"

	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// TestNoKeyBytesInOutput drives every failure path with canary keys and
// checks that no error or formatted value carries their bytes.
func TestNoKeyBytesInOutput(t *testing.T) {
	t.Parallel()
	wrapKey := []byte("CANARY-wrapping-key-0123456789ab")
	otherKey := []byte("CANARY-other-wrapping-key-012345")
	dataKey := []byte("CANARY-data-key-0123456789abcdef")
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	k := newKeyring(t, testNS, testName, wrapKey)
	m := &materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.Copy(dataKey)}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var outs []string
	addErr := func(err error) { outs = append(outs, keyringtest.ErrorTexts(t, err)...) }
	_, err := New(testNS, testName, wrapKey[:17])
	addErr(err)
	addErr(k.OnEncrypt(context.Background(), &materials.Encryption{Suite: s, DataKey: secret.Copy(dataKey[:5])}))
	_, err = keyringtest.Decrypt(k, s, materials.Context{"other": "context"}, m.EDKs)
	addErr(err)
	bad := m.EDKs[0]
	bad.Ciphertext = keyringtest.FlipBit(bad.Ciphertext, 3)
	_, err = keyringtest.Decrypt(k, s, keyringtest.Context(), []materials.EDK{bad})
	addErr(err)
	bad.Ciphertext = bad.Ciphertext[:40]
	_, err = keyringtest.Decrypt(k, s, keyringtest.Context(), []materials.EDK{bad})
	addErr(err)
	_, err = keyringtest.Decrypt(newKeyring(t, testNS, testName, otherKey), s, keyringtest.Context(), m.EDKs)
	addErr(err)
	addErr(k.OnDecrypt(context.Background(), &materials.Decryption{Suite: s, DataKey: secret.Copy(dataKey)}, m.EDKs))
	outs = append(outs, fmt.Sprintf("%v %+v %#v %s", k, k, *k, k), fmt.Sprintf("%+v %#v", m, *m))
	keyringtest.CheckNoKeyBytes(t, outs, wrapKey, otherKey, dataKey)
}
