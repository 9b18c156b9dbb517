package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
)

// syncing wraps a store as a Syncer whose Sync waits for a release and
// returns what it is told.
type syncing struct {
	audit.Backend
	mu      sync.Mutex
	syncs   int
	err     error
	entered chan struct{}
	release chan struct{}
}

func newSyncing(db audit.Backend) *syncing {
	return &syncing{Backend: db, entered: make(chan struct{}, 100), release: make(chan struct{}, 100)}
}

func (s *syncing) Sync() error {
	s.entered <- struct{}{}
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncs++
	return s.err
}

func (s *syncing) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs
}

// Over a Syncer, an entry of an operation that changed nothing (a read)
// is answered once written; one that changed something (a write) waits
// until it is synced, and fails if the sync does.
func TestAppendWaitsForSyncOnlyForChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := newSyncing(e.db)
	l := open(t, db, e.keys, audit.Options{SyncInterval: time.Hour})
	ctx := context.Background()

	read := audit.Entry{Token: "app", Action: audit.RecordGet, Collection: "c", Outcome: "ok"}
	if err := l.Append(ctx, read); err != nil {
		t.Fatalf("read entry: %v", err)
	}
	if n := db.count(); n != 0 {
		t.Fatalf("a read entry waited for %d syncs; want none", n)
	}

	write := audit.Entry{Token: "app", Action: audit.RecordPut, Collection: "c", Outcome: "ok", ETag: `"e"`}
	done := make(chan error, 1)
	go func() { done <- l.Append(ctx, write) }()
	<-db.entered // the write's Sync has begun
	select {
	case err := <-done:
		t.Fatalf("a write entry was answered (%v) before its sync ended", err)
	default:
	}
	db.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("write entry: %v", err)
	}

	// A refused write changed nothing: it does not wait.
	refused := audit.Entry{Token: "app", Action: audit.RecordPut, Collection: "c", Outcome: "invalid"}
	if err := l.Append(ctx, refused); err != nil {
		t.Fatal(err)
	}

	db.mu.Lock()
	db.err = errors.New("disk gone")
	db.mu.Unlock()
	go func() { done <- l.Append(ctx, write) }()
	<-db.entered
	db.release <- struct{}{}
	if err := <-done; err == nil {
		t.Fatal("a write entry whose sync failed was answered as written")
	}
	db.mu.Lock()
	db.err = nil
	db.mu.Unlock()
	db.release <- struct{}{} // for the sync at Close
}

// Entries nobody waits for are synced within the interval.
func TestUnwaitedEntriesSyncedWithinInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := newSyncing(e.db)
	l := open(t, db, e.keys, audit.Options{SyncInterval: 5 * time.Millisecond})
	if err := l.Append(context.Background(), audit.Entry{Action: audit.RecordGet, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	<-db.entered // a sync comes without anyone waiting for one
	db.release <- struct{}{}
	for range 10 {
		db.release <- struct{}{} // later ticks (nothing new) and Close
	}
}

// SyncEvery makes reads wait for the sync too.
func TestSyncEvery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := newSyncing(e.db)
	l := open(t, db, e.keys, audit.Options{SyncInterval: time.Hour, SyncEvery: true})
	done := make(chan error, 1)
	go func() { done <- l.Append(context.Background(), audit.Entry{Action: audit.RecordGet, Outcome: "ok"}) }()
	<-db.entered
	select {
	case err := <-done:
		t.Fatalf("with SyncEvery a read was answered (%v) before its sync", err)
	default:
	}
	db.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db.release <- struct{}{}
}
