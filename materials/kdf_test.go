package materials

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"sync"
	"testing"
)

// want is DeriveKeys's result computed with crypto/hkdf.
func want(t *testing.T, h func() hash.Hash, n int, ikm, info1, info2 []byte) (k1, k2 []byte) {
	t.Helper()
	prk, err := hkdf.Extract(h, ikm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k1, err = hkdf.Expand(h, prk, string(info1), n); err != nil {
		t.Fatal(err)
	}
	if k2, err = hkdf.Expand(h, prk, string(info2), n); err != nil {
		t.Fatal(err)
	}
	return k1, k2
}

// DeriveKeys is crypto/hkdf's Extract and two Expands, byte for byte, for
// both suites and inputs of every length the format uses and around them;
// the keys it returns do not share their bytes with each other.
func TestDeriveKeysIsHKDF(t *testing.T) {
	for _, id := range []SuiteID{SuiteSymSig, SuiteECDSA} {
		s, err := SuiteByID(id)
		if err != nil {
			t.Fatal(err)
		}
		// Under 14 bytes is crypto/hkdf's own path (refused in FIPS
		// 140-only mode), 14 and up the reused states'.
		for _, ikmLen := range []int{14, 31, 32, 33, 64, 127, 128, 129, 300} {
			for _, infoLen := range []int{0, 18, 32, 50, 111, 112, 113, 200} {
				ikm, info1, info2 := make([]byte, ikmLen), make([]byte, infoLen), make([]byte, infoLen+1)
				rand.Read(ikm)
				rand.Read(info1)
				rand.Read(info2)
				k1, k2, err := s.DeriveKeys(ikm, info1, info2)
				w1, w2 := want(t, sha512.New, s.KeyLen, ikm, info1, info2)
				if err != nil || !bytes.Equal(k1, w1) || !bytes.Equal(k2, w2) {
					t.Fatalf("suite %04x, ikm %d bytes, info %d bytes: %x %x (%v); crypto/hkdf gives %x %x", uint16(id), ikmLen, infoLen, k1, k2, err, w1, w2)
				}
				k1[0] ^= 0xff
				if k2[0] != w2[0] || len(k1) != s.KeyLen || cap(k1) != s.KeyLen {
					t.Fatalf("the two keys share their bytes, or the first can grow into the second")
				}
			}
		}
	}
}

// A Suite built by hand with an unknown id derives with crypto/hkdf and
// its own KDFHash; the zero Suite is refused.
func TestDeriveKeysOtherSuites(t *testing.T) {
	s := Suite{ID: 0x1234, KeyLen: 32, KDFHash: sha256.New}
	ikm, info1, info2 := []byte("input key material"), []byte("one"), []byte("two") // 18 bytes: FIPS 140-only mode takes it
	k1, k2, err := s.DeriveKeys(ikm, info1, info2)
	w1, w2 := want(t, sha256.New, 32, ikm, info1, info2)
	if err != nil || !bytes.Equal(k1, w1) || !bytes.Equal(k2, w2) {
		t.Errorf("hand-made SHA-256 suite: %x %x (%v); want crypto/hkdf's %x %x", k1, k2, err, w1, w2)
	}
	if _, _, err := (Suite{}).DeriveKeys(ikm, info1, info2); !errors.Is(err, ErrNoSuite) {
		t.Errorf("zero Suite: %v; want ErrNoSuite", err)
	}
}

// The keyed HMAC of the empty salt is shared by every derivation: running
// them at once must not change any result (the race detector watches the
// shared state too).
func TestDeriveKeysConcurrent(t *testing.T) {
	s, _ := SuiteByID(SuiteSymSig)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ikm := []byte(fmt.Sprintf("input key material %d/%d", g, i))
				k1, k2, err := s.DeriveKeys(ikm, []byte("a"), []byte("b"))
				w1, w2 := want(t, sha512.New, 32, ikm, []byte("a"), []byte("b"))
				if err != nil || !bytes.Equal(k1, w1) || !bytes.Equal(k2, w2) {
					errs <- fmt.Errorf("goroutine %d, derivation %d: %x %x (%v); want %x %x", g, i, k1, k2, err, w1, w2)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
