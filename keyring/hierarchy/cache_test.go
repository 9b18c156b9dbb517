package hierarchy_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// loader counts its calls and returns a fresh key each time.
type loader struct{ calls atomic.Int32 }

func (l *loader) load(id string) func(context.Context) (hierarchy.BranchKey, error) {
	return func(context.Context) (hierarchy.BranchKey, error) {
		l.calls.Add(1)
		return branchKey(id, testVersionA), nil
	}
}

func mustGet(t *testing.T, c *hierarchy.Cache, id string, load func(context.Context) (hierarchy.BranchKey, error)) hierarchy.BranchKey {
	t.Helper()
	k, err := c.Get(context.Background(), id, load)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCacheHitWithinTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := hierarchy.NewCache(time.Minute, 10, clk.now)
	var l loader
	first := mustGet(t, c, "a", l.load("a"))
	for range 1000 {
		if k := mustGet(t, c, "a", l.load("a")); !k.Key.Equal(first.Key) {
			t.Fatal("a cache hit returned another key")
		}
	}
	clk.advance(time.Minute - time.Nanosecond)
	mustGet(t, c, "a", l.load("a"))
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("loader called %d times within the TTL, want 1", n)
	}
	if hits, misses := c.Stats(); hits != 1001 || misses != 1 {
		t.Fatalf("Stats() = %d hits, %d misses; want 1001, 1", hits, misses)
	}
}

func TestCacheReloadAfterTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := hierarchy.NewCache(time.Minute, 10, clk.now)
	var l loader
	first := mustGet(t, c, "a", l.load("a"))
	clk.advance(time.Minute)
	second := mustGet(t, c, "a", l.load("a"))
	if n := l.calls.Load(); n != 2 || second.Key.Equal(first.Key) {
		t.Fatalf("loader called %d times after the TTL, want 2 and a fresh key", n)
	}
	mustGet(t, c, "a", l.load("a"))
	if n := l.calls.Load(); n != 2 {
		t.Fatalf("reloaded key not cached: %d calls", n)
	}
	if hits, misses := c.Stats(); hits != 1 || misses != 2 {
		t.Fatalf("Stats() = %d hits, %d misses; want 1, 2 (an expired key is a miss)", hits, misses)
	}
}

func TestCacheMaxSize(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := hierarchy.NewCache(time.Minute, 2, clk.now)
	var la, lb, lc loader
	mustGet(t, c, "a", la.load("a"))
	clk.advance(time.Second)
	mustGet(t, c, "b", lb.load("b"))
	clk.advance(time.Second)
	mustGet(t, c, "c", lc.load("c")) // evicts a, the closest to expiry
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	mustGet(t, c, "b", lb.load("b"))
	mustGet(t, c, "c", lc.load("c"))
	if la.calls.Load() != 1 || lb.calls.Load() != 1 || lc.calls.Load() != 1 {
		t.Fatal("b or c was evicted instead of a")
	}
	mustGet(t, c, "a", la.load("a")) // evicts b
	if la.calls.Load() != 2 || c.Len() != 2 {
		t.Fatalf("a was not evicted: %d loads, Len %d", la.calls.Load(), c.Len())
	}
	mustGet(t, c, "b", lb.load("b"))
	if lb.calls.Load() != 2 {
		t.Fatal("b, then the closest to expiry, was not evicted")
	}
}

func TestCacheMaxSizeAtLeastOne(t *testing.T) {
	t.Parallel()
	c := hierarchy.NewCache(time.Minute, 0, nil)
	var l loader
	mustGet(t, c, "a", l.load("a"))
	mustGet(t, c, "a", l.load("a"))
	mustGet(t, c, "b", l.load("b"))
	if n := l.calls.Load(); n != 2 || c.Len() != 1 {
		t.Fatalf("maxSize 0: %d loads, Len %d; want 2 and 1", n, c.Len())
	}
}

func TestCacheDropsExpiredBeforeEvicting(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c := hierarchy.NewCache(time.Minute, 3, clk.now)
	var l loader
	mustGet(t, c, "old1", l.load("old1"))
	mustGet(t, c, "old2", l.load("old2"))
	clk.advance(50 * time.Second)
	mustGet(t, c, "live", l.load("live"))
	clk.advance(20 * time.Second) // old1 and old2 expired
	mustGet(t, c, "new", l.load("new"))
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (expired entries dropped)", c.Len())
	}
	before := l.calls.Load()
	mustGet(t, c, "live", l.load("live"))
	if l.calls.Load() != before {
		t.Fatal("a live entry was evicted while expired ones were in the cache")
	}
}

func TestCacheErrorsNotCached(t *testing.T) {
	t.Parallel()
	c := hierarchy.NewCache(time.Minute, 10, nil)
	boom := errors.New("boom")
	calls := 0
	load := func(context.Context) (hierarchy.BranchKey, error) {
		calls++
		if calls == 1 {
			return hierarchy.BranchKey{}, boom
		}
		return branchKey("a", testVersionA), nil
	}
	if _, err := c.Get(context.Background(), "a", load); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the loader's error", err)
	}
	if c.Len() != 0 {
		t.Fatal("an error was cached")
	}
	mustGet(t, c, "a", load)
	mustGet(t, c, "a", load)
	if calls != 2 {
		t.Fatalf("loader called %d times, want 2", calls)
	}
}

// doneCounter is a context that counts calls to Done, so the test can tell
// when callers are waiting on another caller's load.
type doneCounter struct {
	context.Context
	n *atomic.Int32
}

func (c doneCounter) Done() <-chan struct{} {
	c.n.Add(1)
	return c.Context.Done()
}

func TestCacheSingleFlight(t *testing.T) {
	t.Parallel()
	const callers = 50
	c := hierarchy.NewCache(time.Minute, 10, newClock().now)
	var calls atomic.Int32
	release := make(chan struct{})
	want := branchKey("a", testVersionA)
	load := func(context.Context) (hierarchy.BranchKey, error) {
		calls.Add(1)
		<-release
		return want, nil
	}
	var waiting atomic.Int32
	ctx := doneCounter{context.Background(), &waiting}
	var started, finished sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		started.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			started.Done()
			k, err := c.Get(ctx, "a", load)
			if err == nil && !k.Key.Equal(want.Key) {
				err = errors.New("a waiter got another key")
			}
			errs <- err
		}()
	}
	started.Wait()
	// Hold the load until every other caller waits on it (or 5 s pass).
	for deadline := time.Now().Add(5 * time.Second); waiting.Load() < callers-1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	finished.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader called %d times by %d concurrent callers, want 1", n, callers)
	}
}

func TestCacheWaiterContextCancelled(t *testing.T) {
	t.Parallel()
	c := hierarchy.NewCache(time.Minute, 10, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	load := func(context.Context) (hierarchy.BranchKey, error) {
		calls.Add(1)
		close(entered)
		<-release
		return branchKey("a", testVersionA), nil
	}
	leader := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), "a", load)
		leader <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	waiter := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "a", load)
		waiter <- err
	}()
	cancel()
	select {
	case err := <-waiter:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("waiter err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled waiter did not return")
	}
	close(release)
	if err := <-leader; err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, "a", load)
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader called %d times, want 1", n)
	}
}

// TestCacheLoaderPanic: a loader that panics (a buggy Source, recovered
// further up by net/http) must not leave its key pending for ever; later
// callers must load again instead of waiting on a load that never ends.
func TestCacheLoaderPanic(t *testing.T) {
	t.Parallel()
	c := hierarchy.NewCache(time.Minute, 10, nil)
	func() {
		defer func() { _ = recover() }()
		_, _ = c.Get(context.Background(), "a", func(context.Context) (hierarchy.BranchKey, error) {
			panic("source bug")
		})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var l loader
	if _, err := c.Get(ctx, "a", l.load("a")); err != nil {
		t.Fatalf("Get after a panicking load: %v (the key stays pending)", err)
	}
}

// countingSource counts the calls that reach the key store.
type countingSource struct {
	hierarchy.Static
	active, version atomic.Int32
}

func (s *countingSource) ActiveKey(ctx context.Context, id string) (hierarchy.BranchKey, error) {
	s.active.Add(1)
	return s.Static.ActiveKey(ctx, id)
}

func (s *countingSource) Name() string { return "test" }

func (s *countingSource) KeyVersion(ctx context.Context, id, version string) (hierarchy.BranchKey, error) {
	s.version.Add(1)
	return s.Static.KeyVersion(ctx, id, version)
}

func TestKeyringCallsSourceOncePerTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	src := &countingSource{Static: hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}}
	k, err := hierarchy.New("b", src, hierarchy.NewCache(hierarchy.DefaultTTL, 100, clk.now))
	if err != nil {
		t.Fatal(err)
	}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	roundTrip := func(n int) {
		t.Helper()
		for range n {
			enc := keyringtest.Encrypt(t, k, s, keyringtest.Context())
			if _, err := keyringtest.Decrypt(k, s, keyringtest.Context(), enc.EDKs); err != nil {
				t.Fatal(err)
			}
		}
	}
	roundTrip(10000)
	// Loading the active key also caches it as its version, so items it
	// wrote decrypt without a second call.
	if a, v := src.active.Load(), src.version.Load(); a != 1 || v != 0 {
		t.Fatalf("10000 round trips: %d ActiveKey and %d KeyVersion calls, want 1 and 0", a, v)
	}
	clk.advance(hierarchy.DefaultTTL + time.Second)
	roundTrip(100)
	if a, v := src.active.Load(), src.version.Load(); a != 2 || v != 0 {
		t.Fatalf("after the TTL: %d ActiveKey and %d KeyVersion calls, want 2 and 0", a, v)
	}
}

// blockingSource hangs until its context ends, like a key store behind a
// dead network, unless healthy is set.
type blockingSource struct {
	hierarchy.Static
	healthy atomic.Bool
}

func (s *blockingSource) ActiveKey(ctx context.Context, id string) (hierarchy.BranchKey, error) {
	if !s.healthy.Load() {
		<-ctx.Done()
		return hierarchy.BranchKey{}, ctx.Err()
	}
	return s.Static.ActiveKey(ctx, id)
}

func TestCacheLoadTimeout(t *testing.T) {
	t.Parallel()
	src := &blockingSource{Static: hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}}
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 10, nil)
	cache.SetLoadTimeout(50 * time.Millisecond)
	k, err := hierarchy.New("b", src, cache)
	if err != nil {
		t.Fatal(err)
	}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	m := &materials.Encryption{Suite: s, Context: keyringtest.Context()}
	if err := k.OnEncrypt(context.Background(), m); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OnEncrypt with a hung source: %v, want the load to time out", err)
	}
	src.healthy.Store(true) // the store recovers: no restart needed
	keyringtest.Encrypt(t, k, s, keyringtest.Context())
}

// TestCacheKeepsSourcesApart shares one cache between keyrings on two key
// stores that both hold a branch key "b": each keyring must use its own
// store's key.
func TestCacheKeepsSourcesApart(t *testing.T) {
	t.Parallel()
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 10, nil)
	a := hierarchy.Static{StoreName: "tenant-a", Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}
	other := branchKey("b", testVersionA)
	other.Key = secret.Random(32)
	b := hierarchy.Static{StoreName: "tenant-b", Keys: []hierarchy.BranchKey{other}}
	ka, err1 := hierarchy.New("b", a, cache)
	kb, err2 := hierarchy.New("b", b, cache)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := keyringtest.Encrypt(t, ka, s, keyringtest.Context())
	if _, err := keyringtest.Decrypt(kb, s, keyringtest.Context(), enc.EDKs); err == nil {
		t.Fatal("a keyring on another key store decrypted with the first store's cached key")
	}
	keyringtest.MustDecrypt(t, ka, enc, enc.EDKs, 0)
}
