// Package records holds sealstore's use cases: collections of records, each
// record a DB-ESDK item encrypted and signed before it reaches the store and
// verified and decrypted after it leaves it.
//
// Collections have a schema (key attributes, an action per attribute,
// searchable attributes, the algorithm suite). The collection "items" is
// the reference system's: a secret per id, behind its routes.
package records

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// Errors callers branch on. Each has its kind (package fault), which
// decides what a client, the audit trail and the command line make of it.
// Decryption failures are item.ErrDecrypt; outages match
// store.ErrUnavailable or materials.ErrUnavailable; an item over the size
// limit is store.ErrTooLarge.
var (
	ErrNotFound = fault.Sentinel(fault.NotFound, "records: not found", "")
	// ErrInvalid is matched by every *InvalidError.
	ErrInvalid = fault.ErrInvalid
	// ErrConflict is a change refused because of the current state; the
	// *ConflictError says why.
	ErrConflict = fault.Sentinel(fault.Conflict, "records: conflict", "")
	// ErrPrecondition is a conditional request whose condition (If-Match,
	// If-None-Match) does not hold.
	ErrPrecondition = fault.Sentinel(fault.Precondition, "records: precondition failed", "")
)

// InvalidError says which input is wrong and why, without its value.
type InvalidError = fault.FieldError

// MaxIDLen is the longest record id, in bytes.
const MaxIDLen = 1024

// ItemsCollection is the collection behind the reference routes.
const ItemsCollection = "items"

// The reference system's logical table and attributes.
const (
	itemsTable  = "secure_items"
	itemsKey    = "item_id"
	itemsSecret = "secret"
)

// Keys is the key store records need: branch keys for the keyring,
// creation of a collection's branch key, and its beacon key.
type Keys interface {
	hierarchy.Source
	Create(ctx context.Context, id string) (version string, err error)
	BeaconKey(ctx context.Context, id string) (secret.Bytes, error)
	// The key lifecycle: the active version (read without unwrapping),
	// a new active version, and destruction of every version.
	ActiveVersion(ctx context.Context, id string) (string, time.Time, error)
	Rotate(ctx context.Context, id, version, prev string) (time.Time, error)
	Destroy(ctx context.Context, id string, versions []string) error
}

// Options tune a Service; the zero value is the default.
type Options struct {
	// CreateTable creates a new collection's table (and adds the indexes
	// of new searchable attributes); nil: the store's CreateTable. A
	// server whose store only checks that its own tables exist passes
	// the store's real CreateTable here.
	CreateTable func(ctx context.Context, t store.Table) error
	// Refresh is how long a collection's schema is used before it is read
	// again (another server may change it); zero: DefaultRefresh.
	Refresh time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Rewritten, if set, is told of every record the service writes
	// again by itself (a rewrap), with its new entity tag, before the job
	// counts it; an error stops the job (it is resumed later), so that no
	// such write goes unrecorded for long. The audit trail records them.
	Rewritten func(ctx context.Context, coll string, k Key, etag string) error
	// Imported, if set, is told of every record an import writes (or
	// finds in place, identical to its source item), with its entity
	// tag, before the job counts it; an error stops the job (it can be
	// resumed). The audit trail records them.
	Imported func(ctx context.Context, coll string, k Key, etag string) error
	// ImportResumed, if set, is told of every import job the service
	// resumes by itself (after a server stopped), before it goes on; an
	// error fails the job.
	ImportResumed func(ctx context.Context, coll string, job ImportJob) error
	// OpenSource opens an import's source; nil: imports are refused.
	OpenSource SourceOpener
}

// DefaultRefresh is how long a server trusts its copy of a collection's
// schema.
const DefaultRefresh = 30 * time.Second

// Service runs the use cases over a store and a key store.
type Service struct {
	db       store.Store
	keys     Keys
	cache    *hierarchy.Cache
	cat      catalog
	newTable func(ctx context.Context, t store.Table) error
	refresh  time.Duration
	now      func() time.Time
	rewrote  func(ctx context.Context, coll string, k Key, etag string) error
	imported func(ctx context.Context, coll string, k Key, etag string) error
	// importResumed and openSource: see Options.
	importResumed func(ctx context.Context, coll string, job ImportJob) error
	openSource    SourceOpener
	items         *collection
	locks         [64]chan struct{} // per-record PATCH locks, by hash

	mu    sync.Mutex
	colls map[string]*collection

	// Rewrap and import jobs running here, and the context they run
	// under (ended by Close).
	jobsMu   sync.Mutex
	jobs     map[string]*runningJob
	imports  map[string]*runningImport
	jobsWG   sync.WaitGroup
	closed   bool // guarded by jobsMu
	bg       context.Context
	bgCancel context.CancelFunc
}

// Open prepares the service: it creates the tables it needs and, on first
// use, the items collection and its branch key.
func Open(ctx context.Context, db store.Store, keys Keys, cache *hierarchy.Cache, opts ...Options) (*Service, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := &Service{db: db, keys: keys, cache: cache, newTable: o.CreateTable, refresh: o.Refresh, now: o.Now, rewrote: o.Rewritten,
		imported: o.Imported, importResumed: o.ImportResumed, openSource: o.OpenSource,
		colls: map[string]*collection{}, jobs: map[string]*runningJob{}, imports: map[string]*runningImport{}}
	if s.rewrote == nil {
		s.rewrote = func(context.Context, string, Key, string) error { return nil }
	}
	if s.imported == nil {
		s.imported = func(context.Context, string, Key, string) error { return nil }
	}
	if s.importResumed == nil {
		s.importResumed = func(context.Context, string, ImportJob) error { return nil }
	}
	s.bg, s.bgCancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.newTable == nil {
		s.newTable = db.CreateTable
	}
	for i := range s.locks {
		s.locks[i] = make(chan struct{}, 1)
	}
	if s.refresh <= 0 {
		s.refresh = DefaultRefresh
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.cat = catalog{db: db, keys: keys, now: s.now}
	if err := s.cat.init(ctx); err != nil {
		return nil, err
	}
	for _, t := range []store.Table{jobsTable, importsTable, ledgerTable} {
		if err := db.CreateTable(ctx, t); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
	}
	if _, err := s.cat.ensure(ctx, ItemsCollection, itemsTable); err != nil {
		return nil, err
	}
	if err := db.CreateTable(ctx, store.Table{Name: itemsTable, PartitionKey: itemsKey}); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	e, err := s.cat.get(ctx, ItemsCollection)
	if err != nil {
		return nil, err
	}
	if s.items, err = s.install(e, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// PutSecret stores secret under id in the items collection, replacing any
// previous secret, as the reference's POST /items/ does, and returns the
// stored record's entity tag.
func (s *Service) PutSecret(ctx context.Context, id, secret string) (string, error) {
	if err := CheckID(id); err != nil {
		return "", err
	}
	if !utf8.ValidString(secret) {
		return "", &InvalidError{Field: "secret", Reason: "must be valid UTF-8"}
	}
	c, err := s.collection(ctx, ItemsCollection)
	if err != nil {
		return "", err
	}
	enc, err := c.enc.Encrypt(ctx, attr.Item{itemsKey: attr.S(id), itemsSecret: attr.S(secret)})
	if err != nil {
		return "", fmt.Errorf("records: encrypt: %w", err)
	}
	if err := s.db.Put(ctx, c.table, enc, store.Cond{}); err != nil {
		return "", fmt.Errorf("records: put: %w", err)
	}
	return etagOf(enc), nil
}

// GetSecret returns the secret stored under id, or ErrNotFound.
func (s *Service) GetSecret(ctx context.Context, id string) (string, error) {
	if err := CheckID(id); err != nil {
		return "", err
	}
	c, err := s.collection(ctx, ItemsCollection)
	if err != nil {
		return "", err
	}
	key := attr.Item{itemsKey: attr.S(id)}
	stored, err := s.db.Get(ctx, c.table, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("records: get: %w", err)
	}
	r, err := c.decryptAt(ctx, stored, key)
	if err != nil {
		return "", err
	}
	plain := r.Doc
	// A verified item under this configuration has both attributes; the
	// key check also refuses an item stored under another id.
	got, ok1 := plain[itemsKey].(attr.S)
	secret, ok2 := plain[itemsSecret].(attr.S)
	if !ok1 || !ok2 || string(got) != id {
		return "", fmt.Errorf("records: %w: stored item has the wrong shape", item.ErrDecrypt)
	}
	return string(secret), nil
}

// Ready checks that the store can be read and that the items collection's
// keys work, by encrypting and decrypting a probe item in memory.
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.db.Get(ctx, s.items.table, attr.Item{itemsKey: attr.S("\x00readyz")})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("records: store: %w", err)
	}
	// A store that can tell whether its writes work (bolt, after a failed
	// commit: a full disk) is asked.
	if r, ok := s.db.(interface{ Ready(context.Context) error }); ok {
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("records: store: %w", err)
		}
	}
	probe := attr.Item{itemsKey: attr.S("readyz"), itemsSecret: attr.S("probe")}
	enc, err := s.items.enc.Encrypt(ctx, probe)
	if err != nil {
		return fmt.Errorf("records: keys: %w", err)
	}
	if _, err := s.items.enc.Decrypt(ctx, enc); err != nil {
		return fmt.Errorf("records: keys: %w", err)
	}
	return nil
}

// CheckID returns an *InvalidError unless id is a usable record id: 1 to
// MaxIDLen bytes of UTF-8 without control characters, and not "." or "..".
func CheckID(id string) error {
	switch {
	case id == "":
		return &InvalidError{Field: "id", Reason: "must not be empty"}
	case len(id) > MaxIDLen:
		return &InvalidError{Field: "id", Reason: fmt.Sprintf("must be at most %d bytes", MaxIDLen)}
	case !utf8.ValidString(id):
		return &InvalidError{Field: "id", Reason: "must be valid UTF-8"}
	case id == "." || id == "..":
		// A URL path cannot name them: clients' and servers' path
		// cleaning turns /records/.. into the collection.
		return &InvalidError{Field: "id", Reason: "must not be a single or double dot"}
	}
	for _, r := range id {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return &InvalidError{Field: "id", Reason: "must not contain control characters"}
		}
	}
	return nil
}
