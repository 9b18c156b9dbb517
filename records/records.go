// Package records holds sealstore's use cases: collections of records, each
// record a DB-ESDK item encrypted and signed before it reaches the store and
// verified and decrypted after it leaves it.
//
// For now there is one collection, "items", behind the reference system's
// routes: a secret per id.
package records

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/store"
)

// Errors callers branch on. Decryption failures are item.ErrDecrypt;
// outages match store.ErrUnavailable or materials.ErrUnavailable; an item
// over the size limit is store.ErrTooLarge.
var (
	ErrNotFound = errors.New("records: not found")
	ErrInvalid  = errors.New("records: invalid input")
)

// InvalidError says which input is wrong and why, without its value.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Is makes an *InvalidError match ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

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

// Backend is the storage records need.
type Backend interface {
	CreateTable(ctx context.Context, t store.Table) error
	Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error)
	Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error
}

// Keys is the key store records need: branch keys for the keyring, and
// creation of a collection's branch key.
type Keys interface {
	hierarchy.Source
	Create(ctx context.Context, id string) (version string, err error)
}

// Service runs the use cases over a store and a key store.
type Service struct {
	db    Backend
	items *collection
}

// collection is an open collection: its table and its encryptor.
type collection struct {
	name  string
	table store.Table
	enc   *item.Encryptor
}

// Open prepares the service: it creates the tables it needs and, on first
// use, the items collection and its branch key.
func Open(ctx context.Context, db Backend, keys Keys, cache *hierarchy.Cache) (*Service, error) {
	cat := catalog{db: db, keys: keys}
	if err := cat.init(ctx); err != nil {
		return nil, err
	}
	branchKeyID, err := cat.ensure(ctx, ItemsCollection, itemsTable)
	if err != nil {
		return nil, err
	}
	kr, err := hierarchy.New(branchKeyID, keys, cache)
	if err != nil {
		return nil, err
	}
	table := store.Table{Name: itemsTable, PartitionKey: itemsKey}
	if err := db.CreateTable(ctx, table); err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	enc, err := item.New(item.Config{
		TableName:    itemsTable,
		PartitionKey: itemsKey,
		Actions:      map[string]item.Action{itemsKey: item.SignOnly, itemsSecret: item.EncryptAndSign},
		Keyring:      kr,
	})
	if err != nil {
		return nil, err
	}
	return &Service{db: db, items: &collection{name: ItemsCollection, table: table, enc: enc}}, nil
}

// PutSecret stores secret under id in the items collection, replacing any
// previous secret, as the reference's POST /items/ does.
func (s *Service) PutSecret(ctx context.Context, id, secret string) error {
	if err := CheckID(id); err != nil {
		return err
	}
	if !utf8.ValidString(secret) {
		return &InvalidError{Field: "secret", Reason: "must be valid UTF-8"}
	}
	enc, err := s.items.enc.Encrypt(ctx, attr.Item{itemsKey: attr.S(id), itemsSecret: attr.S(secret)})
	if err != nil {
		return fmt.Errorf("records: encrypt: %w", err)
	}
	if err := s.db.Put(ctx, s.items.table, enc, store.Cond{}); err != nil {
		return fmt.Errorf("records: put: %w", err)
	}
	return nil
}

// GetSecret returns the secret stored under id, or ErrNotFound.
func (s *Service) GetSecret(ctx context.Context, id string) (string, error) {
	if err := CheckID(id); err != nil {
		return "", err
	}
	stored, err := s.db.Get(ctx, s.items.table, attr.Item{itemsKey: attr.S(id)})
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("records: get: %w", err)
	}
	plain, err := s.items.enc.Decrypt(ctx, stored)
	if err != nil {
		return "", fmt.Errorf("records: %w", err)
	}
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
// MaxIDLen bytes of UTF-8 without control characters.
func CheckID(id string) error {
	switch {
	case id == "":
		return &InvalidError{Field: "id", Reason: "must not be empty"}
	case len(id) > MaxIDLen:
		return &InvalidError{Field: "id", Reason: fmt.Sprintf("must be at most %d bytes", MaxIDLen)}
	case !utf8.ValidString(id):
		return &InvalidError{Field: "id", Reason: "must be valid UTF-8"}
	}
	for _, r := range id {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return &InvalidError{Field: "id", Reason: "must not contain control characters"}
		}
	}
	return nil
}
