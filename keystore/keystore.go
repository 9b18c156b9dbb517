// Package keystore keeps branch keys: one per collection, each with
// versions, stored only wrapped by a root key (a local key file or an AWS
// KMS key) in a table laid out as the AWS Material Providers Library's
// branch key store, so the official SDKs can share it.
//
// A Store is the hierarchy.Source of the hierarchical keyring. Every
// wrapped key is bound to an encryption context naming its branch key id,
// item type, version, creation time, key store name and root key: an
// entry moved to another id or version, or edited, fails to unwrap.
package keystore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// KeyLen is the length of branch and beacon keys.
const KeyLen = 32

// Item types and attribute names of the MPL branch key store layout.
const (
	typeActive       = "branch:ACTIVE"
	typeBeacon       = "beacon:ACTIVE"
	typeVersionPrefx = "branch:version:"

	attrID        = "branch-key-id"
	attrType      = "type"
	attrVersion   = "version"
	attrEnc       = "enc"
	attrCreated   = "create-time"
	attrRoot      = "kms-arn"
	attrHierarchy = "hierarchy-version"
	ecTableName   = "tablename"
)

// ErrExists is returned by Create for a branch key id already in use.
var ErrExists = errors.New("keystore: branch key already exists")

// ErrUnwrap is wrapped by a Root's Unwrap errors for a wrapped key that
// does not authenticate under its encryption context (as opposed to a
// root key that cannot be reached, which is an outage).
var ErrUnwrap = errors.New("keystore: wrapped key does not authenticate")

// Root wraps branch keys under a root key. The KMS adapter maps NewKey to
// GenerateDataKeyWithoutPlaintext, Unwrap to Decrypt and Rewrap to
// ReEncrypt; a local key file does all three with AES-256-GCM.
type Root interface {
	// ID names the root key; it is stored with each branch key.
	ID() string
	// NewKey returns a fresh 256-bit key, wrapped and bound to ec.
	NewKey(ctx context.Context, ec map[string]string) ([]byte, error)
	// Unwrap returns the key wrapped under ec.
	Unwrap(ctx context.Context, wrapped []byte, ec map[string]string) (secret.Bytes, error)
	// Rewrap moves a wrapped key from one encryption context to another
	// without returning it.
	Rewrap(ctx context.Context, wrapped []byte, from, to map[string]string) ([]byte, error)
}

// Backend is the storage the key store needs.
type Backend interface {
	CreateTable(ctx context.Context, t store.Table) error
	Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error)
	Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error
	Delete(ctx context.Context, t store.Table, key attr.Item, c store.Cond) error
}

// Store is a branch key store.
type Store struct {
	name  string
	table store.Table
	db    Backend
	root  Root
	now   func() time.Time
}

var _ hierarchy.Source = (*Store)(nil)

// New returns the key store named name (the logical name bound into every
// key's encryption context) kept in the table tableName of db.
func New(name, tableName string, db Backend, root Root) *Store {
	return &Store{
		name:  name,
		table: store.Table{Name: tableName, PartitionKey: attrID, SortKey: attrType},
		db:    db,
		root:  root,
		now:   time.Now,
	}
}

// UseClock makes now the clock of the creation times k writes (a version's
// is its activation time, which automatic rotation counts from); tests
// that move a service's clock move this one with it. Call it before k is
// first used.
func (k *Store) UseClock(now func() time.Time) { k.now = now }

// Init creates the key store's table if it does not exist.
func (k *Store) Init(ctx context.Context) error {
	return k.db.CreateTable(ctx, k.table)
}

// Name implements hierarchy.Source.
func (k *Store) Name() string { return k.name }

// Create makes branch key id with a first active version and a beacon key.
func (k *Store) Create(ctx context.Context, id string) (version string, err error) {
	if id == "" || strings.ContainsAny(id, "\x00") {
		return "", errors.New("keystore: invalid branch key id")
	}
	version = newUUID()
	created := k.now().UTC().Format(time.RFC3339)
	ver, err := k.newItem(ctx, id, typeVersionPrefx+version, created)
	if err != nil {
		return "", err
	}
	active, err := k.activeFrom(ctx, ver)
	if err != nil {
		return "", err
	}
	beacon, err := k.newItem(ctx, id, typeBeacon, created)
	if err != nil {
		return "", err
	}
	// The version item has a fresh UUID; the beacon key may remain from an
	// earlier attempt that failed before its ACTIVE item (no one can have
	// used it: a key id is in use once, and only once, it has an ACTIVE
	// item), so an existing one is kept. The ACTIVE item goes last and
	// decides: if another Create won, ours is withdrawn.
	if err := k.db.Put(ctx, k.table, ver, store.Cond{Absent: true}); err != nil {
		return "", fmt.Errorf("keystore: create %s: %w", id, err)
	}
	err = k.db.Put(ctx, k.table, beacon, store.Cond{Absent: true})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return "", fmt.Errorf("keystore: create %s: %w", id, err)
	}
	err = k.db.Put(ctx, k.table, active, store.Cond{Absent: true})
	if err != nil {
		_ = k.db.Delete(ctx, k.table, ver, store.Cond{})
	}
	if errors.Is(err, store.ErrConflict) {
		return "", fmt.Errorf("%w: %s", ErrExists, id)
	}
	if err != nil {
		return "", fmt.Errorf("keystore: create %s: %w", id, err)
	}
	return version, nil
}

// newItem generates a wrapped key under the root and returns its item.
func (k *Store) newItem(ctx context.Context, id, typ, created string) (attr.Item, error) {
	it := attr.Item{
		attrID:        attr.S(id),
		attrType:      attr.S(typ),
		attrCreated:   attr.S(created),
		attrRoot:      attr.S(k.root.ID()),
		attrHierarchy: attr.N("1"),
	}
	ec, err := k.context(it)
	if err != nil {
		return nil, err
	}
	enc, err := k.root.NewKey(ctx, ec)
	if err != nil {
		return nil, fmt.Errorf("keystore: new key for %s: %w", id, err)
	}
	it[attrEnc] = attr.B(enc)
	return it, nil
}

// activeFrom returns the ACTIVE item pointing at version item ver, its key
// rewrapped under the ACTIVE item's context.
func (k *Store) activeFrom(ctx context.Context, ver attr.Item) (attr.Item, error) {
	active := attr.Item{}
	for name, v := range ver {
		active[name] = v
	}
	active[attrType] = attr.S(typeActive)
	active[attrVersion] = ver[attrType]
	from, err := k.context(ver)
	if err != nil {
		return nil, err
	}
	to, err := k.context(active)
	if err != nil {
		return nil, err
	}
	enc, err := k.root.Rewrap(ctx, []byte(ver[attrEnc].(attr.B)), from, to)
	if err != nil {
		return nil, fmt.Errorf("keystore: activate: %w", err)
	}
	active[attrEnc] = attr.B(enc)
	return active, nil
}

// ActiveKey implements hierarchy.Source.
func (k *Store) ActiveKey(ctx context.Context, id string) (hierarchy.BranchKey, error) {
	it, key, err := k.load(ctx, id, typeActive)
	if err != nil {
		return hierarchy.BranchKey{}, err
	}
	v, _ := it[attrVersion].(attr.S)
	return hierarchy.BranchKey{ID: id, Version: strings.TrimPrefix(string(v), typeVersionPrefx), Key: key}, nil
}

// KeyVersion implements hierarchy.Source.
func (k *Store) KeyVersion(ctx context.Context, id, version string) (hierarchy.BranchKey, error) {
	_, key, err := k.load(ctx, id, typeVersionPrefx+version)
	if err != nil {
		return hierarchy.BranchKey{}, err
	}
	return hierarchy.BranchKey{ID: id, Version: version, Key: key}, nil
}

// BeaconKey returns the beacon key of branch key id.
func (k *Store) BeaconKey(ctx context.Context, id string) (secret.Bytes, error) {
	_, key, err := k.load(ctx, id, typeBeacon)
	return key, err
}

// load reads and unwraps one key store item. A missing item is
// hierarchy.ErrNotFound; an item that does not unwrap to a 256-bit key is an
// error, never a key.
func (k *Store) load(ctx context.Context, id, typ string) (attr.Item, secret.Bytes, error) {
	it, err := k.db.Get(ctx, k.table, attr.Item{attrID: attr.S(id), attrType: attr.S(typ)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, secret.Bytes{}, fmt.Errorf("%w: %s %s", hierarchy.ErrNotFound, id, typ)
	}
	if err != nil {
		return nil, secret.Bytes{}, fmt.Errorf("keystore: read %s: %w", id, err)
	}
	ec, err := k.context(it)
	if err != nil {
		return nil, secret.Bytes{}, fmt.Errorf("%w: %w", hierarchy.ErrInvalidKey, err)
	}
	enc, _ := it[attrEnc].(attr.B)
	key, err := k.root.Unwrap(ctx, enc, ec)
	if errors.Is(err, ErrUnwrap) {
		return nil, secret.Bytes{}, fmt.Errorf("keystore: %s %s: %w: %w", id, typ, hierarchy.ErrInvalidKey, err)
	}
	if err != nil {
		return nil, secret.Bytes{}, fmt.Errorf("keystore: unwrap %s %s: %w", id, typ, err)
	}
	if key.Len() != KeyLen {
		key.Zero()
		return nil, secret.Bytes{}, fmt.Errorf("keystore: %s %s: %w: key is not %d bytes", id, typ, hierarchy.ErrInvalidKey, KeyLen)
	}
	return it, key, nil
}

// context returns the encryption context of a key store item: every
// attribute but enc, as strings, plus the key store's name.
func (k *Store) context(it attr.Item) (map[string]string, error) {
	ec := map[string]string{ecTableName: k.name}
	for _, name := range []string{attrID, attrType, attrCreated, attrRoot, attrHierarchy, attrVersion} {
		switch v := it[name].(type) {
		case attr.S:
			ec[name] = string(v)
		case attr.N:
			ec[name] = string(v)
		case nil:
			if name != attrVersion {
				return nil, fmt.Errorf("keystore: item has no %s", name)
			}
		default:
			return nil, fmt.Errorf("keystore: item's %s has the wrong type", name)
		}
	}
	if _, ok := it[attrEnc].(attr.B); !ok && it[attrEnc] != nil {
		return nil, errors.New("keystore: item's enc is not binary")
	}
	return ec, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hierarchy.VersionString(b[:])
}

// NewID returns a fresh random branch key id.
func NewID() string { return newUUID() }
