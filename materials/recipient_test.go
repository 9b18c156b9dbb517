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
	sig := secret.New([]byte("signing-key"))

	t.Run("generates the data key", func(t *testing.T) {
		m := &materials.Encryption{Suite: s}
		var seen secret.Bytes
		err := m.AddRecipient(func(dk secret.Bytes) (materials.EDK, secret.Bytes, error) { seen = dk; return edk, sig, nil })
		if err != nil || m.DataKey.Len() != 32 || !m.DataKey.Equal(seen) || m.DataKey.Equal(secret.New(make([]byte, 32))) {
			t.Fatalf("err %v, data key %d bytes, passed to wrap: %v", err, m.DataKey.Len(), m.DataKey.Equal(seen))
		}
		if len(m.EDKs) != 1 || len(m.SigningKeys) != 1 || !m.SigningKeys[0].Equal(sig) {
			t.Fatalf("EDKs %d, signing keys %d", len(m.EDKs), len(m.SigningKeys))
		}
	})
	t.Run("keeps an existing data key", func(t *testing.T) {
		dk := secret.New(bytes.Repeat([]byte{7}, 32))
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
			return materials.EDK{}, secret.Bytes{}, boom
		})
		if !errors.Is(err, boom) || !m.DataKey.IsZero() || len(m.EDKs) != 0 || len(m.SigningKeys) != 0 {
			t.Fatalf("err %v, materials changed: %d-byte key, %d EDKs", err, m.DataKey.Len(), len(m.EDKs))
		}
		if !seen.Equal(secret.New(make([]byte, 32))) {
			t.Error("the generated data key was not zeroed after the failure")
		}
	})
	t.Run("failure keeps an existing data key intact", func(t *testing.T) {
		dk := secret.New(bytes.Repeat([]byte{7}, 32))
		m := &materials.Encryption{Suite: s, DataKey: dk}
		err := m.AddRecipient(func(secret.Bytes) (materials.EDK, secret.Bytes, error) {
			return materials.EDK{}, secret.Bytes{}, errors.New("boom")
		})
		if err == nil || !m.DataKey.Equal(secret.New(bytes.Repeat([]byte{7}, 32))) || len(m.EDKs) != 0 {
			t.Fatalf("err %v, the caller's data key was changed or an EDK added", err)
		}
	})
}

func TestMaterialsZero(t *testing.T) {
	t.Parallel()
	e := &materials.Encryption{DataKey: secret.Copy([]byte{1, 2}), SigningKeys: []secret.Bytes{secret.Copy([]byte{3}), secret.Copy([]byte{4, 5})}}
	e.Zero()
	d := &materials.Decryption{DataKey: secret.Copy([]byte{6}), SigningKey: secret.Copy([]byte{7, 8})}
	d.Zero()
	for _, k := range []secret.Bytes{e.DataKey, e.SigningKeys[0], e.SigningKeys[1], d.DataKey, d.SigningKey} {
		if !bytes.Equal(k.InsecureBytes(), make([]byte, k.Len())) {
			t.Errorf("a key was not zeroed")
		}
	}
	(&materials.Decryption{}).Zero() // zero materials: no panic
}
