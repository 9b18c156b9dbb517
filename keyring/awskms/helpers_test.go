package awskms

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/keyring/awskms/kmstest"
	"github.com/sealstore/sealstore/materials"
)

var _ Client = (*kmstest.KMS)(nil)

// testContext is an encryption context shaped like the item encryptor's.
func testContext() materials.Context {
	return materials.Context{
		"aws-crypto-table-name":     "records",
		"aws-crypto-partition-name": "id",
		"aws-crypto-attr.id":        "AAFjdXN0b21lci0x",
	}
}

func testSuite(t testing.TB, id materials.SuiteID) materials.Suite {
	t.Helper()
	s, err := materials.SuiteByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFake(t testing.TB, arns ...string) *kmstest.KMS {
	t.Helper()
	k := kmstest.New()
	for _, a := range arns {
		if err := k.AddKey(a); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func newKeyring(t testing.TB, keyID string, c Client) *Keyring {
	t.Helper()
	k, err := New(keyID, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newMRKKeyring(t testing.TB, keyID string, c Client) *Keyring {
	t.Helper()
	k, err := NewMRK(keyID, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func encrypt(t testing.TB, k *Keyring, s materials.Suite, ec materials.Context) *materials.Encryption {
	t.Helper()
	m := &materials.Encryption{Suite: s, Context: ec}
	if err := k.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func decrypt(k *Keyring, s materials.Suite, ec materials.Context, edks []materials.EDK) (*materials.Decryption, error) {
	m := &materials.Decryption{Suite: s, Context: ec}
	return m, k.OnDecrypt(context.Background(), m, edks)
}

// mustFailClosed checks that a failed OnDecrypt wraps ErrNoDecryptableKey
// and left the materials empty.
func mustFailClosed(t *testing.T, m *materials.Decryption, err error) {
	t.Helper()
	if !errors.Is(err, materials.ErrNoDecryptableKey) {
		t.Fatalf("err = %v, want ErrNoDecryptableKey", err)
	}
	if m.DataKey != nil || m.SigningKey != nil || m.EDKIndex != 0 {
		t.Fatal("failed OnDecrypt modified the materials")
	}
}

// call is one request a spy saw.
type call struct {
	keyID    string
	numBytes int
	ec       map[string]string
}

// spy wraps the fake KMS: it records requests and may rewrite responses.
type spy struct {
	*kmstest.KMS
	gen func(pt, blob []byte, keyID string) ([]byte, []byte, string)
	dec func(pt []byte, keyID string) ([]byte, string)

	mu    sync.Mutex
	calls []call
}

func (s *spy) record(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call{c.keyID, c.numBytes, maps.Clone(c.ec)})
}

func (s *spy) GenerateDataKey(ctx context.Context, keyID string, n int, ec map[string]string) ([]byte, []byte, string, error) {
	s.record(call{keyID, n, ec})
	pt, blob, id, err := s.KMS.GenerateDataKey(ctx, keyID, n, ec)
	if err == nil && s.gen != nil {
		pt, blob, id = s.gen(pt, blob, id)
	}
	return pt, blob, id, err
}

func (s *spy) Decrypt(ctx context.Context, keyID string, blob []byte, ec map[string]string) ([]byte, string, error) {
	s.record(call{keyID, 0, ec})
	pt, id, err := s.KMS.Decrypt(ctx, keyID, blob, ec)
	if err == nil && s.dec != nil {
		pt, id = s.dec(pt, id)
	}
	return pt, id, err
}
