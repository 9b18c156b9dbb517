// Package audit is sealstore's tamper-evident audit trail: who did what to
// which record, when, and with what outcome.
//
// Entries are appended to chains kept in the store. Each server process
// writes its own chain; every entry carries an HMAC-SHA256 over its fields,
// its position and the MAC of the entry before it, so that editing, removing
// or reordering a stored entry breaks the chain at that entry, and [Verify]
// names it. Record ids never appear in clear: callers log [Log.RecordID].
//
// Concurrent Appends are group-committed: one writer stores everything
// pending as one batch item, in one conditional write, and every Append
// returns once its batch is durable. A write that fails, or whose outcome is
// unknown, ends its chain; later entries start a fresh one, so a chain never
// forks.
//
// What the log cannot show by itself: the removal of a chain's newest
// batches, or of a whole chain, looks like a chain that simply ended. Keep an
// outside record of [Report] totals if that matters.
package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// KeyID is the branch key whose beacon key the audit keys derive from.
const KeyID = "sealstore-audit"

// Errors callers branch on.
var (
	// ErrBadCursor: List was given a cursor it did not return.
	ErrBadCursor = errors.New("audit: malformed cursor")
	// ErrClosed: Append was called after Close.
	ErrClosed = errors.New("audit: log closed")
)

// Backend is the storage the log needs.
type Backend interface {
	CreateTable(ctx context.Context, t store.Table) error
	Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error)
	Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error
	Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error)
}

// Keys gives the audit key: a keystore.Store satisfies it. Create
// returns an error matching keystore.ErrExists for an existing id.
type Keys interface {
	Create(ctx context.Context, id string) (string, error)
	BeaconKey(ctx context.Context, id string) (secret.Bytes, error)
}

// Entry is one audited operation.
type Entry struct {
	Time       time.Time // UTC; Append sets it when zero
	Token      string    // token name ("" for none)
	Action     string    // e.g. "record.get", "record.put", "token.create"
	Collection string
	Record     string // RecordID of the record, or ""
	// Detail is what else the operation acted on, never a secret nor a
	// record id: for token operations, the token's name and scopes.
	Detail  string
	Outcome string // "ok", "not_found", "denied", "conflict", "invalid", "error", ...
	// ETag is, for a record written, the entity tag it has after the
	// write (a hash of its header, no secret); "" otherwise, and for a
	// delete. Comparing it with the stored record shows a rollback.
	ETag string
	// RequestID and Client are the request's id and the client's
	// address, for requests that came over HTTP.
	RequestID string
	Client    string

	// Filled by List; Append ignores them.
	Chain string
	Seq   uint64 // position of the entry in its chain, from 0
}

// maxField is the longest string field an entry may have, in bytes.
const maxField = 1024

// prepare readies e to be stored: it sets a zero Time from now and makes
// the strings storable, so that odd input (a collection name of invalid
// UTF-8 in a denied request) is still recorded rather than refused:
// invalid UTF-8 becomes U+FFFD and fields are cut to maxField bytes. It
// refuses an entry with no action or a time RFC 3339 cannot hold.
func (e *Entry) prepare(now func() time.Time) error {
	if e.Time.IsZero() {
		e.Time = now()
	}
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return errors.New("audit: entry time out of range")
	}
	for _, f := range []*string{&e.Token, &e.Action, &e.Collection, &e.Record, &e.Outcome, &e.Detail, &e.ETag, &e.RequestID, &e.Client} {
		*f = clean(*f)
	}
	if e.Action == "" {
		return errors.New("audit: entry has no action")
	}
	return nil
}

// clean returns s as valid UTF-8 of at most maxField bytes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxField {
		return s
	}
	n := maxField
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Options tunes a Log. The zero Options is ready to use.
type Options struct {
	// MaxBatch is the most entries stored in one item (default 256).
	// Batches are also cut to stay well under store.MaxItemSize.
	MaxBatch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SyncInterval bounds how long an entry written to a Backend that is
	// a Syncer (the journal) waits to be made durable when nothing
	// waits for it: the power-loss window of read entries. Zero:
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// SyncEvery makes every Append wait until its entry is durable, not
	// only those of operations that changed something.
	SyncEvery bool
	// Sinks receive every entry as its batch is stored, and the Log's
	// checkpoints every CheckpointInterval (zero:
	// DefaultCheckpointInterval) and at Close. A sink that fails is
	// reported to SinkFailed; with SinkRequired, it fails the Appends of
	// the batch too (which is stored all the same).
	Sinks              []Sink
	SinkRequired       bool
	SinkFailed         func(sink string, err error)
	CheckpointInterval time.Duration
}

// DefaultSyncInterval is how soon an entry nobody waits for is synced.
const DefaultSyncInterval = 10 * time.Millisecond

// Syncer is a Backend whose Puts reach the operating system before they
// are durable (the journal): Sync makes every Put before it durable. A
// Log over a Syncer answers an Append of an operation that changed
// nothing (a read, a refusal) once its batch is written, and makes it
// durable within Options.SyncInterval; an Append of an operation that
// changed something waits for the Sync. A killed process loses no
// answered entry; a power loss may lose the read entries of the last
// interval.
type Syncer interface {
	Sync() error
}

const defaultMaxBatch = 256

// Log appends entries to a chain of its own.
type Log struct {
	db       Backend
	src      Keys
	now      func() time.Time
	maxBatch int

	keysMu sync.Mutex             // serializes loading the keys
	keys   atomic.Pointer[keySet] // nil until loaded

	mu      sync.Mutex
	pending []*request
	closed  bool
	wake    chan struct{} // holds one token when the writer should look again
	stopped chan struct{} // closed when the writer has returned

	chain chainState // owned by the writer

	sync *syncer // nil: Puts are durable when they return

	ends chainEnds // the last entry of each chain written, for Checkpoints

	sinks     sinks
	stopCP    chan struct{} // closed by Close: stops the checkpoint loop
	cpStopped chan struct{}
	closeOnce sync.Once
}

// Open creates the log's tables if they are missing and starts the writer.
// The audit keys are loaded (and the audit branch key created, if missing)
// on first use, not here: a server starts while the root key is
// unreachable, and its requests fail until it is back. The chain's first
// write happens with its first batch.
func Open(ctx context.Context, db Backend, keys Keys, opts Options) (*Log, error) {
	for _, t := range Tables() {
		if err := db.CreateTable(ctx, t); err != nil {
			return nil, fmt.Errorf("audit: create table %s: %w", t.Name, err)
		}
	}
	l := &Log{
		db: db, src: keys, now: opts.Now, maxBatch: opts.MaxBatch,
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.maxBatch <= 0 {
		l.maxBatch = defaultMaxBatch
	}
	if s, ok := db.(Syncer); ok {
		l.sync = newSyncer(s, opts.SyncInterval, opts.SyncEvery)
	}
	l.sinks = sinks{list: opts.Sinks, required: opts.SinkRequired, failed: opts.SinkFailed}
	l.stopCP, l.cpStopped = make(chan struct{}), make(chan struct{})
	interval := opts.CheckpointInterval
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	go l.checkpointLoop(interval, l.stopCP, l.cpStopped)
	go l.run()
	return l, nil
}

// keySet returns the audit keys, loading them on first use; a failed load
// is tried again by the next caller.
func (l *Log) keySet(ctx context.Context) (*keySet, error) {
	if ks := l.keys.Load(); ks != nil {
		return ks, nil
	}
	l.keysMu.Lock()
	defer l.keysMu.Unlock()
	if ks := l.keys.Load(); ks != nil {
		return ks, nil
	}
	ks, err := ensureKeys(ctx, l.src)
	if err != nil {
		return nil, err
	}
	l.keys.Store(&ks)
	return &ks, nil
}

// RecordID returns the name the log gives record id of collection: a hex
// HMAC-SHA256 (128 bits) under the log's record key, the same for every
// server sharing the audit branch key. It fails only while the audit key
// cannot be loaded.
func (l *Log) RecordID(ctx context.Context, collection, id string) (string, error) {
	ks, err := l.keySet(ctx)
	if err != nil {
		return "", err
	}
	return ks.recordID(collection, id), nil
}

// Append stores e and returns once it is durable. Its strings are stored
// as valid UTF-8 (U+FFFD for invalid bytes) of at most 1024 bytes each.
// Append fails for an entry without Action or with a Time outside the
// years 0 to 9999, after Close (ErrClosed), and when the store write fails:
// the chain then ends, and the next entry starts another. If ctx ends first,
// Append returns ctx.Err(), and the entry may still be written.
func (l *Log) Append(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.prepare(l.now); err != nil {
		return err
	}
	if _, err := l.keySet(ctx); err != nil {
		return err
	}
	r := newRequest(&e)
	r.durable = changes(e.Action, e.Outcome)
	if err := l.enqueue(r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands requests to the writer, all in the same batch if they fit.
func (l *Log) enqueue(rs ...*request) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.pending = append(l.pending, rs...)
	l.mu.Unlock()
	l.signal()
	return nil
}

func (l *Log) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Ready reports whether entries can be written: an error while the last
// sync failed, or while the Backend says it cannot take more (a journal
// on a full disk, which it checks anew on each call, so that a disk with
// room again is ready again).
func (l *Log) Ready(context.Context) error {
	if l.sync != nil {
		if err := l.sync.lastError(); err != nil {
			return fmt.Errorf("audit: the last sync failed: %w", err)
		}
	}
	if r, ok := l.db.(interface{ Ready() error }); ok {
		if err := r.Ready(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// Close writes the entries still pending and stops the writer. Their
// Appends receive the outcome; Close itself returns nil. Appends after
// Close fail with ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
	<-l.stopped
	l.closeOnce.Do(func() {
		if l.sync != nil {
			l.sync.close()
		}
		close(l.stopCP)
		<-l.cpStopped
		_ = l.emitCheckpoints() // the last word: where every chain ends
	})
	return nil
}
