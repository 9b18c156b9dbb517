package hierarchy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
)

// switchingSource is a key store whose active version can change.
type switchingSource struct {
	countingSource
	mu     sync.Mutex
	active string
}

func (s *switchingSource) ActiveKey(ctx context.Context, id string) (hierarchy.BranchKey, error) {
	s.countingSource.active.Add(1)
	s.mu.Lock()
	v := s.active
	s.mu.Unlock()
	return s.Static.KeyVersion(ctx, id, v)
}

func (s *switchingSource) activate(v string) {
	s.mu.Lock()
	s.active = v
	s.mu.Unlock()
}

func TestEDKVersionAndForgetActive(t *testing.T) {
	t.Parallel()
	src := &switchingSource{active: testVersionA}
	src.Static = hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA), branchKey("b", testVersionB)}}
	k := newKeyring(t, "b", src)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	version := func() string {
		t.Helper()
		enc := keyringtest.Encrypt(t, k, s, keyringtest.Context())
		v, err := hierarchy.EDKVersion(s, enc.EDKs[0])
		if err != nil {
			t.Fatal(err)
		}
		keyringtest.MustDecrypt(t, k, enc, enc.EDKs, 0)
		return v
	}
	if v := version(); v != testVersionA {
		t.Fatalf("EDK version %s, want %s", v, testVersionA)
	}
	src.activate(testVersionB)
	if v := version(); v != testVersionA {
		t.Fatalf("before Forget: EDK version %s, want the cached %s", v, testVersionA)
	}
	k.Forget(false)
	if v := version(); v != testVersionB {
		t.Fatalf("after Forget: EDK version %s, want the new active %s", v, testVersionB)
	}
	if _, err := hierarchy.EDKVersion(s, materials.EDK{ProviderID: "raw", Ciphertext: make([]byte, 200)}); err == nil {
		t.Fatal("EDKVersion read another provider's EDK")
	}
	if _, err := hierarchy.EDKVersion(s, materials.EDK{ProviderID: hierarchy.ProviderID, Ciphertext: make([]byte, 10)}); err == nil {
		t.Fatal("EDKVersion read a short EDK")
	}
}

func TestRefuseVersionsBeforeTheCache(t *testing.T) {
	t.Parallel()
	src := &countingSource{Static: hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}}
	k := newKeyring(t, "b", src)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := keyringtest.Encrypt(t, k, s, keyringtest.Context())
	keyringtest.MustDecrypt(t, k, enc, enc.EDKs, 0) // the version is now cached
	k.RefuseVersions(func(v string) bool { return v == testVersionA })
	_, err := keyringtest.Decrypt(k, s, keyringtest.Context(), enc.EDKs)
	if !errors.Is(err, hierarchy.ErrRefused) || !errors.Is(err, materials.ErrNoDecryptableKey) {
		t.Fatalf("decrypt under a refused, cached version: %v", err)
	}
	k.RefuseVersions(func(v string) bool { return v != testVersionA })
	keyringtest.MustDecrypt(t, k, enc, enc.EDKs, 0)
}

func TestForgetAllDropsEveryVersion(t *testing.T) {
	t.Parallel()
	src := &countingSource{Static: hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}}
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 100, nil)
	k, err := hierarchy.New("b", src, cache)
	if err != nil {
		t.Fatal(err)
	}
	other, err := hierarchy.New("c", &countingSource{Static: hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("c", testVersionA)}}}, cache)
	if err != nil {
		t.Fatal(err)
	}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	keyringtest.Encrypt(t, k, s, keyringtest.Context())
	keyringtest.Encrypt(t, other, s, keyringtest.Context())
	before := cache.Len()
	k.Forget(true)
	if got := cache.Len(); got != before-2 {
		t.Fatalf("Forget(true) left %d of %d keys, want the other keyring's 2", got, before)
	}
	keyringtest.Encrypt(t, k, s, keyringtest.Context())
	if n := src.active.Load(); n != 2 {
		t.Fatalf("%d ActiveKey calls, want 2 (one before, one after Forget)", n)
	}
}

// gatedSource holds ActiveKey until released.
type gatedSource struct {
	countingSource
	entered, release chan struct{}
}

func (s *gatedSource) ActiveKey(ctx context.Context, id string) (hierarchy.BranchKey, error) {
	n := s.countingSource.active.Add(1)
	if n == 1 {
		close(s.entered)
		<-s.release
	}
	return s.Static.ActiveKey(ctx, id)
}

func TestForgetDuringALoadKeepsItsResultOutOfTheCache(t *testing.T) {
	t.Parallel()
	// A load that read the key store before a rotation must not put the
	// old active version back after the rotation's Forget.
	src := &gatedSource{entered: make(chan struct{}), release: make(chan struct{})}
	src.Static = hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}
	k := newKeyring(t, "b", src)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	done := make(chan struct{})
	go func() {
		defer close(done)
		keyringtest.Encrypt(t, k, s, keyringtest.Context())
	}()
	<-src.entered
	k.Forget(false)
	close(src.release)
	<-done
	keyringtest.Encrypt(t, k, s, keyringtest.Context())
	if n := src.countingSource.active.Load(); n != 2 {
		t.Fatalf("%d ActiveKey calls, want 2: the load racing the Forget must not be cached", n)
	}
}
