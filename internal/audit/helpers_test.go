package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// The log's tables as the store sees them.
var (
	batchTable = audit.Tables()[0]
	chainTable = audit.Tables()[1]
)

type env struct {
	db   *bolt.Store
	keys *keystore.Store
}

// newEnv returns an empty bolt store with a key store over a fresh local
// root key.
func newEnv(t testing.TB) *env {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{db: db, keys: newKeys(t, db, "keys")}
}

// newKeys returns a key store in table of db under a fresh root key.
func newKeys(t testing.TB, db *bolt.Store, table string) *keystore.Store {
	t.Helper()
	ks := keystore.New("audit-test", table, db, localroot.Generate())
	if err := ks.Init(context.Background()); err != nil {
		t.Fatalf("keystore Init: %v", err)
	}
	return ks
}

// open opens a log over db, closed when the test ends.
func open(t testing.TB, db audit.Backend, keys audit.Keys, opts audit.Options) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), db, keys, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// clock is a fake time.Now that moves on a millisecond per call.
type clock struct{ n atomic.Int64 }

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (c *clock) Now() time.Time {
	return epoch.Add(time.Duration(c.n.Add(1)) * time.Millisecond)
}

// entry returns the i-th test entry; its fields vary with i.
func entry(i int) audit.Entry {
	return audit.Entry{
		Token:      fmt.Sprintf("token-%d", i%3),
		Action:     []string{"record.get", "record.put", "record.delete", "token.create"}[i%4],
		Collection: fmt.Sprintf("coll-%d", i%2),
		Record:     fmt.Sprintf("rec-%d", i),
		Outcome:    []string{"ok", "not_found", "denied", "ok", "error"}[i%5],
	}
}

func appendAll(t testing.TB, l *audit.Log, es []audit.Entry) {
	t.Helper()
	for i, e := range es {
		if err := l.Append(context.Background(), e); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// listAll walks the log with List, page by page.
func listAll(t testing.TB, l *audit.Log, f audit.Filter, limit int) []audit.Entry {
	t.Helper()
	var all []audit.Entry
	cursor := ""
	for range 100000 {
		page, next, err := l.List(context.Background(), f, cursor, limit)
		if err != nil {
			t.Fatalf("List(cursor %q): %v", cursor, err)
		}
		if limit > 0 && len(page) > limit {
			t.Fatalf("List returned %d entries, limit %d", len(page), limit)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatal("List did not reach the end")
	return nil
}

// sameEntry reports whether got holds the fields of want that Append stores.
func sameEntry(got, want audit.Entry) bool {
	return got.Time.Equal(want.Time) && got.Token == want.Token && got.Action == want.Action &&
		got.Collection == want.Collection && got.Record == want.Record && got.Outcome == want.Outcome
}

func verify(t testing.TB, db audit.Backend, keys audit.Keys) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), db, keys, nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// batches returns the stored batch items.
func batches(t testing.TB, db audit.Backend) []attr.Item {
	t.Helper()
	var items []attr.Item
	var cursor []byte
	for {
		p, err := db.Scan(context.Background(), batchTable, cursor, 0)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		items = append(items, p.Items...)
		if p.Next == nil {
			return items
		}
		cursor = p.Next
	}
}

// faultyBackend wraps a store. While failing is set, Puts fail with it:
// before writing, or, with written, after writing (a timeout that hid a
// write that happened).
type faultyBackend struct {
	audit.Backend
	mu      sync.Mutex
	failing error
	written bool
}

func (b *faultyBackend) fail(err error, written bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failing, b.written = err, written
}

func (b *faultyBackend) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	b.mu.Lock()
	err, written := b.failing, b.written
	b.mu.Unlock()
	if err == nil {
		return b.Backend.Put(ctx, t, it, c)
	}
	if written {
		if perr := b.Backend.Put(ctx, t, it, c); perr != nil {
			return perr
		}
	}
	return err
}

// gatedBackend wraps a store: each Put of a batch reports on entered, then
// waits for release.
type gatedBackend struct {
	audit.Backend
	entered chan struct{}
	release chan struct{}
}

func newGated(db audit.Backend) *gatedBackend {
	return &gatedBackend{Backend: db, entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *gatedBackend) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	if t.Name == batchTable.Name {
		b.entered <- struct{}{}
		<-b.release
	}
	return b.Backend.Put(ctx, t, it, c)
}

// recID is l.RecordID, failing the test on an error.
func recID(t testing.TB, l *audit.Log, collection, id string) string {
	t.Helper()
	rid, err := l.RecordID(context.Background(), collection, id)
	if err != nil {
		t.Fatalf("RecordID: %v", err)
	}
	return rid
}
