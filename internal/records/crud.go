package records

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/store"
)

// Key names a record: its partition key value and, in a collection with
// a sort key, its sort key value.
type Key struct {
	ID   string
	Sort string
}

// Record is a decrypted, verified record.
type Record struct {
	Key  Key
	Doc  attr.Item
	ETag string
}

// Precondition is a write's HTTP condition. IfMatch holds entity tags
// (or "*"); the write happens only if the record exists with one of them.
// IfNoneMatch ("If-None-Match: *") writes only if no record exists.
type Precondition struct {
	IfMatch     []string
	IfNoneMatch bool
}

func (p Precondition) none() bool { return len(p.IfMatch) == 0 && !p.IfNoneMatch }

// MaxPatchAttempts bounds how often a PATCH is retried when another write
// wins the race between its read and its conditional write.
const MaxPatchAttempts = 20

// etagOf is the entity tag of a stored item: a hash of its DB-ESDK header,
// which holds a fresh random message id for every write.
func etagOf(stored attr.Item) string {
	head, _ := stored[item.HeaderAttr].(attr.B)
	sum := sha256.Sum256(head)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// matches reports whether the stored item satisfies If-Match tags.
func matches(tags []string, stored attr.Item) bool {
	etag := etagOf(stored)
	return slices.ContainsFunc(tags, func(t string) bool { return t == "*" || t == etag })
}

// unchanged is the write condition "the stored item is still stored".
func unchanged(stored attr.Item) store.Cond {
	return store.Cond{Attr: item.HeaderAttr, Equals: stored[item.HeaderAttr]}
}

// keyItem is the store key of k in c, after checking it.
func (c *collection) keyItem(k Key) (attr.Item, error) {
	if err := CheckID(k.ID); err != nil {
		return nil, err
	}
	key := attr.Item{c.info.Schema.PartitionKey: attr.S(k.ID)}
	switch {
	case c.info.Schema.SortKey == "" && k.Sort != "":
		return nil, ErrNotFound // no such path in this collection
	case c.info.Schema.SortKey != "":
		if err := CheckID(k.Sort); err != nil {
			return nil, &InvalidError{Field: "path.sort", Reason: err.(*InvalidError).Reason}
		}
		key[c.info.Schema.SortKey] = attr.S(k.Sort)
	}
	return key, nil
}

// complete checks doc against k and the schema and adds the key
// attributes; doc is not modified.
func (c *collection) complete(k Key, doc attr.Item) (attr.Item, error) {
	key, err := c.keyItem(k)
	if err != nil {
		return nil, err
	}
	out := make(attr.Item, len(doc)+len(key))
	for name, v := range doc {
		if err := checkAttrName(fieldName(name), name); err != nil {
			return nil, err
		}
		if kv, isKey := key[name]; isKey && !attr.Equal(kv, v) {
			return nil, &InvalidError{Field: fieldName(name), Reason: "is a key attribute and must equal the record's key in the path"}
		}
		out[name] = v
	}
	for name, v := range key {
		out[name] = v
	}
	return out, nil
}

// seal encrypts a complete record and adds its beacons.
func (s *Service) seal(ctx context.Context, c *collection, doc attr.Item) (attr.Item, error) {
	if err := c.check(doc); err != nil {
		return nil, err
	}
	enc, err := c.encryptorFor(doc)
	if err != nil {
		return nil, err
	}
	var beacons map[string]beacon.Standard
	if len(c.info.Schema.Searchable) > 0 {
		if _, beacons, err = s.keysFor(ctx, c); err != nil {
			return nil, err
		}
	}
	stored, err := enc.Encrypt(ctx, doc)
	if err != nil {
		if errors.Is(err, item.ErrInvalidItem) {
			return nil, &InvalidError{Field: "body", Reason: "cannot be stored under the collection's schema"}
		}
		return nil, fmt.Errorf("records: encrypt: %w", err)
	}
	for name, b := range beacons {
		v, ok := doc[name]
		if !ok {
			continue
		}
		str, ok := v.(attr.S)
		if !ok {
			return nil, &InvalidError{Field: fieldName(name), Reason: "is searchable and must be a string"}
		}
		h, err := b.Hash([]byte(str))
		if err != nil {
			return nil, err
		}
		stored[b.AttributeName()] = attr.S(h)
	}
	return stored, nil
}

// check refuses records the schema cannot store: a sign-and-bind
// attribute missing (the format binds it into every item's encryption
// context), and, in the reference collection, a secret that the reference
// routes could not read back.
func (c *collection) check(doc attr.Item) error {
	for _, name := range sortedKeys(c.info.Schema.Attributes) {
		if _, ok := doc[name]; !ok && c.info.Schema.Attributes[name] == ActionSignAndBind {
			return &InvalidError{Field: fieldName(name), Reason: "is sign-and-bind in the collection's schema and must be in every record"}
		}
	}
	if c.info.Name == ItemsCollection {
		if _, ok := doc[itemsSecret].(attr.S); !ok {
			return &InvalidError{Field: fieldName(itemsSecret), Reason: "must be a string in the items collection"}
		}
	}
	return nil
}

// decryptAt decrypts and verifies a stored item of c, checking that it is the
// record at key.
func (c *collection) decryptAt(ctx context.Context, stored attr.Item, key attr.Item) (Record, error) {
	if err := c.checkRetired(stored); err != nil {
		return Record{}, err
	}
	plain, err := c.enc.Decrypt(ctx, stored)
	if err != nil {
		return Record{}, fmt.Errorf("records: %w", err)
	}
	var k Key
	for name, want := range key {
		if got, ok := plain[name]; !ok || !attr.Equal(got, want) {
			return Record{}, fmt.Errorf("records: %w: stored item is not the record at its key", item.ErrDecrypt)
		}
	}
	k.ID = string(plain[c.info.Schema.PartitionKey].(attr.S))
	if c.info.Schema.SortKey != "" {
		k.Sort = string(plain[c.info.Schema.SortKey].(attr.S))
	}
	return Record{Key: k, Doc: plain, ETag: etagOf(stored)}, nil
}

// keyFrom is the Key of a key item of c.
func (c *collection) keyFrom(key attr.Item) Key {
	k := Key{}
	if v, ok := key[c.info.Schema.PartitionKey].(attr.S); ok {
		k.ID = string(v)
	}
	if v, ok := key[c.info.Schema.SortKey].(attr.S); ok && c.info.Schema.SortKey != "" {
		k.Sort = string(v)
	}
	return k
}

// keyOfStored is the key item of a stored item (key attributes are
// stored readable).
func (c *collection) keyOfStored(stored attr.Item) (attr.Item, error) {
	key := attr.Item{}
	for _, name := range []string{c.info.Schema.PartitionKey, c.info.Schema.SortKey} {
		if name == "" {
			continue
		}
		v, ok := stored[name].(attr.S)
		if !ok {
			return nil, fmt.Errorf("records: %w: stored item has no string key %q", item.ErrDecrypt, name)
		}
		key[name] = v
	}
	return key, nil
}

// storageKey is the key item of c under which a store says an item is
// kept: key attributes that are not strings name no record of c.
func (c *collection) storageKey(key attr.Item) (attr.Item, error) {
	k, err := c.keyOfStored(key)
	if err != nil {
		return nil, fmt.Errorf("records: %w: an item is stored under a key of another shape", item.ErrDecrypt)
	}
	return k, nil
}

// PutRecord stores doc as the record at k of collection coll, if p holds,
// and returns its entity tag.
func (s *Service) PutRecord(ctx context.Context, coll string, k Key, doc attr.Item, p Precondition) (string, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return "", err
	}
	full, err := c.complete(k, doc)
	if err != nil {
		return "", err
	}
	cond := store.Cond{}
	switch {
	case p.IfNoneMatch:
		cond = store.Cond{Absent: true}
	case len(p.IfMatch) > 0:
		key, _ := c.keyItem(k)
		cur, err := s.db.Get(ctx, c.table, key)
		if errors.Is(err, store.ErrNotFound) {
			return "", ErrPrecondition
		}
		if err != nil {
			return "", fmt.Errorf("records: get: %w", err)
		}
		if !matches(p.IfMatch, cur) {
			return "", ErrPrecondition
		}
		cond = unchanged(cur)
	}
	stored, err := s.seal(ctx, c, full)
	if err != nil {
		return "", err
	}
	err = s.db.Put(ctx, c.table, stored, cond)
	if errors.Is(err, store.ErrConflict) {
		return "", ErrPrecondition
	}
	if err != nil {
		return "", fmt.Errorf("records: put: %w", err)
	}
	return etagOf(stored), nil
}

// GetRecord returns the record at k of collection coll.
func (s *Service) GetRecord(ctx context.Context, coll string, k Key) (Record, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return Record{}, err
	}
	key, err := c.keyItem(k)
	if err != nil {
		return Record{}, err
	}
	stored, err := s.db.Get(ctx, c.table, key)
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("records: get: %w", err)
	}
	return c.decryptAt(ctx, stored, key)
}

// DeleteRecord deletes the record at k of collection coll, if p holds;
// deleting a missing record is ErrNotFound.
func (s *Service) DeleteRecord(ctx context.Context, coll string, k Key, p Precondition) error {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return err
	}
	key, err := c.keyItem(k)
	if err != nil {
		return err
	}
	cond := store.Cond{Attr: c.info.Schema.PartitionKey, Equals: key[c.info.Schema.PartitionKey]}
	if len(p.IfMatch) > 0 {
		cur, err := s.db.Get(ctx, c.table, key)
		if errors.Is(err, store.ErrNotFound) {
			return ErrPrecondition
		}
		if err != nil {
			return fmt.Errorf("records: get: %w", err)
		}
		if !matches(p.IfMatch, cur) {
			return ErrPrecondition
		}
		cond = unchanged(cur)
	}
	err = s.db.Delete(ctx, c.table, key, cond)
	switch {
	case errors.Is(err, store.ErrConflict) && len(p.IfMatch) > 0:
		return ErrPrecondition
	case errors.Is(err, store.ErrConflict):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("records: delete: %w", err)
	}
	return nil
}

var lockSeed = maphash.MakeSeed()

// lock serializes this server's read-modify-writes of one record, so that
// concurrent PATCHes through one server do not spend their attempts
// beating each other; writers on other servers are caught by the
// conditional write. Waiting ends with ctx.
func (s *Service) lock(ctx context.Context, coll string, key attr.Item) (func(), error) {
	var h maphash.Hash
	h.SetSeed(lockSeed)
	h.WriteString(coll)
	for _, name := range sortedKeys(key) {
		if str, ok := key[name].(attr.S); ok {
			h.WriteByte(0)
			h.WriteString(string(str))
		}
	}
	m := s.locks[h.Sum64()%uint64(len(s.locks))]
	select {
	case m <- struct{}{}:
		return func() { <-m }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// PatchRecord applies a JSON merge patch (RFC 7396; null removes a member)
// to the record at k: it reads and decrypts the record, merges, encrypts
// and writes on condition that the record has not changed meanwhile,
// retrying from the read when it has (up to MaxPatchAttempts), unless p
// names the version to patch.
func (s *Service) PatchRecord(ctx context.Context, coll string, k Key, patch attr.Item, p Precondition) (Record, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return Record{}, err
	}
	key, err := c.checkPatch(k, patch)
	if err != nil {
		return Record{}, err
	}
	unlock, err := s.lock(ctx, coll, key)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		r, err := s.patchOnce(ctx, c, key, patch, p)
		if !errors.Is(err, store.ErrConflict) {
			return r, err
		}
		if len(p.IfMatch) > 0 {
			return Record{}, ErrPrecondition
		}
		if attempt == MaxPatchAttempts {
			return Record{}, &ConflictError{Reason: fmt.Sprintf("the record kept changing during %d attempts; retry", MaxPatchAttempts)}
		}
		// Jittered back-off lets the other writer finish.
		d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
}

// checkPatch returns the key item of k, or what is wrong with patch: it
// may not change a key attribute, nor name a reserved attribute.
func (c *collection) checkPatch(k Key, patch attr.Item) (attr.Item, error) {
	key, err := c.keyItem(k)
	if err != nil {
		return nil, err
	}
	for name := range key {
		if _, ok := patch[name]; ok {
			return nil, &InvalidError{Field: fieldName(name), Reason: "is a key attribute and cannot be patched"}
		}
	}
	for name := range patch {
		if err := checkAttrName(fieldName(name), name); err != nil {
			return nil, err
		}
	}
	return key, nil
}

// patchOnce reads the record at key, merges patch into it and writes it on
// condition that it did not change meanwhile: store.ErrConflict if it did.
func (s *Service) patchOnce(ctx context.Context, c *collection, key, patch attr.Item, p Precondition) (Record, error) {
	stored, err := s.db.Get(ctx, c.table, key)
	if errors.Is(err, store.ErrNotFound) {
		if p.none() {
			return Record{}, ErrNotFound
		}
		return Record{}, ErrPrecondition
	}
	if err != nil {
		return Record{}, fmt.Errorf("records: get: %w", err)
	}
	if p.IfNoneMatch || len(p.IfMatch) > 0 && !matches(p.IfMatch, stored) {
		return Record{}, ErrPrecondition
	}
	cur, err := c.decryptAt(ctx, stored, key)
	if err != nil {
		return Record{}, err
	}
	merged := attr.Item(mergePatch(attr.M(cur.Doc), attr.M(patch)))
	sealed, err := s.seal(ctx, c, merged)
	if err != nil {
		return Record{}, err
	}
	err = s.db.Put(ctx, c.table, sealed, unchanged(stored))
	if errors.Is(err, store.ErrConflict) {
		return Record{}, err
	}
	if err != nil {
		return Record{}, fmt.Errorf("records: put: %w", err)
	}
	return Record{Key: cur.Key, Doc: merged, ETag: etagOf(sealed)}, nil
}

// mergePatch applies patch to target as RFC 7396 does: a null member
// removes, an object member merges into an object, anything else replaces.
func mergePatch(target, patch attr.M) attr.M {
	out := make(attr.M, len(target)+len(patch))
	for k, v := range target {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case attr.Null:
			delete(out, k)
		case attr.M:
			tm, _ := out[k].(attr.M)
			out[k] = mergePatch(tm, pv)
		default:
			out[k] = v
		}
	}
	return out
}
