package materials_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

func TestAddRecipient(t *testing.T) {
	t.Parallel()
	s, _ := materials.SuiteByID(materials.SuiteSymSig)
	edk := materials.EDK{ProviderID: "p", ProviderInfo: []byte("i"), Ciphertext: []byte("c")}
	sig := secret.Bytes("signing-key")

	t.Run("generates the data key", func(t *testing.T) {
		m := &materials.Encryption{Suite: s}
		var seen secret.Bytes
		err := m.AddRecipient(func(dk secret.Bytes) (materials.EDK, secret.Bytes, error) { seen = dk; return edk, sig, nil })
		if err != nil || len(m.DataKey) != 32 || !m.DataKey.Equal(seen) || bytes.Equal(m.DataKey, make([]byte, 32)) {
			t.Fatalf("err %v, data key %d bytes, passed to wrap: %v", err, len(m.DataKey), m.DataKey.Equal(seen))
		}
		if len(m.EDKs) != 1 || len(m.SigningKeys) != 1 || !m.SigningKeys[0].Equal(sig) {
			t.Fatalf("EDKs %d, signing keys %d", len(m.EDKs), len(m.SigningKeys))
		}
	})
	t.Run("keeps an existing data key", func(t *testing.T) {
		dk := secret.Bytes(bytes.Repeat([]byte{7}, 32))
		m := &materials.Encryption{Suite: s, DataKey: dk}
		if err := m.AddRecipient(func(got secret.Bytes) (materials.EDK, secret.Bytes, error) {
			if !got.Equal(dk) {
				t.Error("wrap did not get the existing data key")
			}
			return edk, sig, nil
		}); err != nil || !m.DataKey.Equal(dk) || len(m.EDKs) != 1 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("failure leaves the materials as they were", func(t *testing.T) {
		m := &materials.Encryption{Suite: s}
		var seen secret.Bytes
		boom := errors.New("boom")
		err := m.AddRecipient(func(dk secret.Bytes) (materials.EDK, secret.Bytes, error) {
			seen = dk
			return materials.EDK{}, nil, boom
		})
		if !errors.Is(err, boom) || m.DataKey != nil || len(m.EDKs) != 0 || len(m.SigningKeys) != 0 {
			t.Fatalf("err %v, materials changed: %d-byte key, %d EDKs", err, len(m.DataKey), len(m.EDKs))
		}
		if !bytes.Equal(seen, make([]byte, 32)) {
			t.Error("the generated data key was not zeroed after the failure")
		}
	})
}
