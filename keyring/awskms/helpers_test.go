package awskms

import (
	"context"
	"maps"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/keyring/awskms/kmstest"
)

var _ Client = (*kmstest.KMS)(nil)

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
