package awskms

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/keyring/awskms/kmstest"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

func TestNewRejects(t *testing.T) {
	t.Parallel()
	fake := kmstest.New()
	tests := []struct {
		name, keyID string
		client      Client
	}{
		{"nil client", keyARN, nil},
		{"empty key id", "", fake},
		{"key/ resource", "key/1234", fake},
		{"bad ARN", "arn:aws:kms:us-west-2:key/1234", fake},
		{"non-ASCII", "ключ", fake},
		{"too long", strings.Repeat("a", maxIdentifierLen+1), fake},
	}
	for _, tt := range tests {
		for _, ctor := range []func(string, Client) (*Keyring, error){New, NewMRK} {
			if k, err := ctor(tt.keyID, tt.client); err == nil || k != nil {
				t.Errorf("%s: constructor succeeded", tt.name)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, id := range keyringtest.SuiteIDs() {
		for _, withKey := range []bool{false, true} {
			for _, ec := range []materials.Context{keyringtest.Context(), nil} {
				fake := newFake(t, keyARN)
				k := newKeyring(t, keyARN, fake)
				s := keyringtest.Suite(t, id)
				m := &materials.Encryption{Suite: s, Context: ec}
				var dk secret.Bytes
				if withKey {
					dk = secret.New(bytes.Repeat([]byte{7}, s.KeyLen))
					m.DataKey = secret.New(bytes.Repeat([]byte{7}, s.KeyLen))
				}
				if err := k.OnEncrypt(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				checkEncryption(t, m, dk)
				if fake.Calls(kmstest.OpGenerateDataKey) != 1 || fake.Calls(kmstest.OpEncrypt) != 0 {
					t.Fatal("OnEncrypt must call GenerateDataKey once and never Encrypt")
				}
				for _, kr := range []*Keyring{k, newMRKKeyring(t, keyARN, fake)} {
					keyringtest.MustDecrypt(t, kr, m, m.EDKs, 0)
				}
			}
		}
	}
}

// checkEncryption checks one KMS EDK and, if want is set, the data key.
func checkEncryption(t *testing.T, m *materials.Encryption, want secret.Bytes) {
	t.Helper()
	if m.DataKey.Len() != m.Suite.KeyLen || len(m.EDKs) != 1 || len(m.SigningKeys) != 1 {
		t.Fatalf("data key %d bytes, %d EDKs, %d signing keys", m.DataKey.Len(), len(m.EDKs), len(m.SigningKeys))
	}
	if !want.IsZero() && !m.DataKey.Equal(want) {
		t.Fatal("OnEncrypt replaced an existing data key")
	}
	e := m.EDKs[0]
	if e.ProviderID != ProviderID || string(e.ProviderInfo) != keyARN || len(e.Ciphertext) <= m.Suite.WrappedDataKeyLen() {
		t.Fatalf("EDK %q %q with %d ciphertext bytes", e.ProviderID, e.ProviderInfo, len(e.Ciphertext))
	}
}

func TestKMSRequests(t *testing.T) {
	t.Parallel()
	sp := &spy{KMS: newFake(t, keyARN)}
	k := newKeyring(t, keyARN, sp)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	ec := keyringtest.Context()
	m := keyringtest.Encrypt(t, k, s, ec)
	if _, err := keyringtest.Decrypt(k, s, ec, m.EDKs); err != nil {
		t.Fatal(err)
	}
	want := []call{{keyARN, 32, ec}, {keyARN, 0, ec}}
	if len(sp.calls) != len(want) {
		t.Fatalf("%d KMS calls, want %d", len(sp.calls), len(want))
	}
	for i, c := range sp.calls {
		if c.keyID != want[i].keyID || c.numBytes != want[i].numBytes || !maps.Equal(c.ec, want[i].ec) {
			t.Errorf("call %d = %+v, want %+v", i, c, want[i])
		}
	}
	blob := m.EDKs[0].Ciphertext[s.WrappedDataKeyLen():]
	if _, _, err := sp.KMS.Decrypt(context.Background(), keyARN, blob, ec); err != nil {
		t.Fatalf("EDK ciphertext tail is not the KMS blob: %v", err)
	}
}

func TestDecryptRejectsOtherContext(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, keyARN, newFake(t, keyARN))
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	for name, ec := range keyringtest.OtherContexts() {
		d, err := keyringtest.Decrypt(k, s, ec, m.EDKs)
		keyringtest.MustFailClosed(t, d, err)
		if !errors.Is(err, kmstest.ErrInvalidCiphertext) {
			t.Fatalf("%s: err = %v, want the KMS rejection inside", name, err)
		}
	}
}

func TestDecryptRejectsOtherKey(t *testing.T) {
	t.Parallel()
	other := strings.Replace(keyARN, "1234abcd", "9999abcd", 1)
	fake := newFake(t, keyARN, other)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := keyringtest.Encrypt(t, newKeyring(t, keyARN, fake), s, keyringtest.Context())

	d, err := keyringtest.Decrypt(newKeyring(t, other, fake), s, keyringtest.Context(), m.EDKs)
	keyringtest.MustFailClosed(t, d, err)
	if fake.Calls(kmstest.OpDecrypt) != 0 {
		t.Fatal("keyring called KMS for an EDK of another key")
	}

	relabelled := m.EDKs[0]
	relabelled.ProviderInfo = []byte(other)
	d, err = keyringtest.Decrypt(newKeyring(t, other, fake), s, keyringtest.Context(), []materials.EDK{relabelled})
	keyringtest.MustFailClosed(t, d, err)
	if !errors.Is(err, kmstest.ErrIncorrectKey) {
		t.Fatalf("err = %v, want the KMS IncorrectKey rejection inside", err)
	}
}

func TestDecryptRejectsTamperedEDK(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, keyARN, newFake(t, keyARN))
	m := keyringtest.Encrypt(t, k, keyringtest.Suite(t, materials.SuiteSymSig), keyringtest.Context())
	keyringtest.MustRejectTampered(t, k, m)
}

func TestDecryptTriesMatchingEDKsInOrder(t *testing.T) {
	t.Parallel()
	other := strings.Replace(keyARN, "1234abcd", "9999abcd", 1)
	fake := newFake(t, keyARN, other)
	k := newKeyring(t, keyARN, fake)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	ours := keyringtest.Encrypt(t, k, s, keyringtest.Context()).EDKs[0]
	theirs := keyringtest.Encrypt(t, newKeyring(t, other, fake), s, keyringtest.Context()).EDKs[0]
	corrupt := ours
	corrupt.Ciphertext = keyringtest.FlipBit(ours.Ciphertext, 0)
	foreign := materials.EDK{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte("branch"), Ciphertext: []byte{1}}
	tests := []struct {
		name      string
		edks      []materials.EDK
		kmsCalls  int
		wantIndex int
	}{
		{"other key first", []materials.EDK{theirs, ours}, 1, 1},
		{"corrupt copy first", []materials.EDK{corrupt, ours}, 2, 1},
		{"foreign provider first", []materials.EDK{foreign, theirs, ours}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sp := &spy{KMS: fake}
			d, err := keyringtest.Decrypt(newKeyring(t, keyARN, sp), s, keyringtest.Context(), tt.edks)
			if err != nil {
				t.Fatal(err)
			}
			if d.EDKIndex != tt.wantIndex || len(sp.calls) != tt.kmsCalls {
				t.Fatalf("EDKIndex %d after %d KMS calls, want %d after %d", d.EDKIndex, len(sp.calls), tt.wantIndex, tt.kmsCalls)
			}
		})
	}
}

func TestDecryptFailsOnNonARNProviderInfo(t *testing.T) {
	t.Parallel()
	fake := newFake(t, keyARN)
	k := newKeyring(t, keyARN, fake)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	ours := keyringtest.Encrypt(t, k, s, keyringtest.Context()).EDKs[0]
	for _, info := range []string{"alias/x", aliasARN, "1234abcd", "", "arn:aws:kms:us-west-2:111122223333:key/\xff"} {
		bad := materials.EDK{ProviderID: ProviderID, ProviderInfo: []byte(info), Ciphertext: ours.Ciphertext}
		d, err := keyringtest.Decrypt(k, s, keyringtest.Context(), []materials.EDK{bad, ours})
		keyringtest.MustFailClosed(t, d, err)
	}
	if fake.Calls(kmstest.OpDecrypt) != 0 {
		t.Fatal("keyring called KMS although an EDK's provider info was invalid")
	}
}

func TestDecryptRefusesFilledMaterials(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, keyARN, newFake(t, keyARN))
	m := keyringtest.Encrypt(t, k, keyringtest.Suite(t, materials.SuiteSymSig), keyringtest.Context())
	keyringtest.MustRefuseFilledMaterials(t, k, m, materials.ErrDataKeyPresent)
}

func TestMRKReplicaDecrypts(t *testing.T) {
	t.Parallel()
	sp := &spy{KMS: newFake(t, mrkWest, mrkEast)}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := keyringtest.Encrypt(t, newKeyring(t, mrkWest, sp), s, keyringtest.Context())

	d, err := keyringtest.Decrypt(newKeyring(t, mrkEast, sp), s, keyringtest.Context(), m.EDKs)
	keyringtest.MustFailClosed(t, d, err)
	if len(sp.calls) != 1 {
		t.Fatal("the exact-match keyring called KMS for a replica's EDK")
	}
	d, err = keyringtest.Decrypt(newMRKKeyring(t, mrkEast, sp), s, keyringtest.Context(), m.EDKs)
	if err != nil || !d.DataKey.Equal(m.DataKey) {
		t.Fatalf("MRK keyring could not decrypt through its replica: %v", err)
	}
	if last := sp.calls[len(sp.calls)-1]; last.keyID != mrkEast {
		t.Fatalf("Decrypt used %q, want the configured replica", last.keyID)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, keyARN, newFake(t, keyARN))
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			m := &materials.Encryption{Suite: s, Context: keyringtest.Context()}
			if err := k.OnEncrypt(context.Background(), m); err != nil {
				errs <- err
				return
			}
			if _, err := keyringtest.Decrypt(k, s, keyringtest.Context(), m.EDKs); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
