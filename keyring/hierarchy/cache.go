package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Cache keeps plaintext branch keys in memory for a TTL, bounded in size,
// and lets one caller fetch a missing key while others wait for it, so a
// key store (and the KMS behind it) sees at most one call per key per TTL.
type Cache struct {
	ttl         time.Duration
	maxSize     int
	now         func() time.Time
	loadTimeout time.Duration

	mu      sync.Mutex
	entries map[string]cacheEntry
	pending map[string]*fetch
	gen     uint64 // +1 per forget

	hits, misses atomic.Uint64
}

// Stats returns how many lookups found a live key (hits) and how many had
// to load one or wait for a load (misses), since the cache was made.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

type cacheEntry struct {
	key     BranchKey
	expires time.Time
}

type fetch struct {
	gen  uint64 // the cache's gen when the load started
	done chan struct{}
	key  BranchKey
	err  error
}

// DefaultTTL is the branch key cache lifetime the design names.
const DefaultTTL = 5 * time.Minute

// DefaultLoadTimeout bounds one call to a key store: a source that hangs
// (a dead network) fails the waiting callers after this long and the next
// request tries again, instead of blocking the key until a restart.
const DefaultLoadTimeout = 30 * time.Second

// NewCache returns a cache holding at most maxSize keys for ttl each; a
// ttl of zero or less means DefaultTTL (an uncached key would cost a key
// store call per item). now may be nil (time.Now).
func NewCache(ttl time.Duration, maxSize int, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{ttl: ttl, maxSize: max(maxSize, 1), now: now, loadTimeout: DefaultLoadTimeout,
		entries: map[string]cacheEntry{}, pending: map[string]*fetch{}}
}

// SetLoadTimeout replaces DefaultLoadTimeout; call it before first use.
func (c *Cache) SetLoadTimeout(d time.Duration) { c.loadTimeout = d }

// Get returns the cached key for id, or calls load once (however many
// callers ask at the same time) and caches its result. The load runs
// without the first caller's cancellation, so one caller giving up does
// not fail the others waiting for the same key.
func (c *Cache) Get(ctx context.Context, id string, load func(context.Context) (BranchKey, error)) (BranchKey, error) {
	c.mu.Lock()
	if e, ok := c.entries[id]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		c.hits.Add(1)
		return e.key, nil
	}
	c.misses.Add(1)
	f, loading := c.pending[id]
	if !loading {
		f = &fetch{gen: c.gen, done: make(chan struct{})}
		c.pending[id] = f
	}
	c.mu.Unlock()
	if !loading {
		go c.fill(context.WithoutCancel(ctx), id, f, load)
	}
	return f.wait(ctx)
}

// lookup returns the live key cached under id, given as bytes (a map index
// by string(id) makes no copy), and counts a hit. On a miss it counts
// nothing: the caller goes on to Get, which counts the miss.
func (c *Cache) lookup(id []byte) (BranchKey, bool) {
	c.mu.Lock()
	e, ok := c.entries[string(id)]
	ok = ok && c.now().Before(e.expires)
	c.mu.Unlock()
	if !ok {
		return BranchKey{}, false
	}
	c.hits.Add(1)
	return e.key, true
}

// fill runs one load and publishes its result. A panicking load becomes
// an error for every waiter instead of crashing the process or leaving the
// key pending for good.
func (c *Cache) fill(ctx context.Context, id string, f *fetch, load func(context.Context) (BranchKey, error)) {
	defer func() {
		if recover() != nil {
			f.key, f.err = BranchKey{}, errLoadPanicked
		}
		c.mu.Lock()
		delete(c.pending, id)
		if f.err == nil && f.gen == c.gen {
			c.put(id, f.key)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, c.loadTimeout)
	defer cancel()
	f.key, f.err = load(ctx)
}

// add caches k under id, as a load started at generation gen would.
func (c *Cache) add(id string, k BranchKey, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.put(id, k)
	}
}

// generation is the cache's forget count, for add.
func (c *Cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

var errLoadPanicked = errors.New("hierarchy: branch key source panicked")

func (f *fetch) wait(ctx context.Context) (BranchKey, error) {
	select {
	case <-f.done:
		return f.key, f.err
	case <-ctx.Done():
		return BranchKey{}, ctx.Err()
	}
}

// put stores a key, first dropping expired entries and then, if still
// full, the entry closest to expiry. Called with c.mu held.
func (c *Cache) put(id string, k BranchKey) {
	now := c.now()
	if len(c.entries) >= c.maxSize {
		oldest := ""
		for eid, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, eid)
			} else if oldest == "" || e.expires.Before(c.entries[oldest].expires) {
				oldest = eid
			}
		}
		if len(c.entries) >= c.maxSize {
			delete(c.entries, oldest)
		}
	}
	c.entries[id] = cacheEntry{key: k, expires: now.Add(c.ttl)}
}

// Format prints only the cache's size for every verb, never its keys.
func (c *Cache) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "hierarchy.Cache(%d keys)", c.Len())
}

// Len reports how many keys are cached, expired ones included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
