package records

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/store"
)

// collection is an open collection: its catalog entry, table and
// encryptor, and (loaded on first use) its search keys.
type collection struct {
	info        CollectionInfo
	branchKeyID string
	rev         string
	seq         int64
	keyState    keyState
	gone        error // *ShreddedError once the keys are being destroyed
	kr          *hierarchy.Keyring
	table       store.Table
	cfg         item.Config
	enc         *item.Encryptor
	keys        *searchKeys
	loaded      int64 // unix nanoseconds, for refresh; guarded by Service.mu

	beaconsMu sync.Mutex
	beacons   map[string]beacon.Standard
}

// searchKeys holds what a collection derives from its beacon key: the
// key its beacons' HMAC keys come from, the key that seals its cursors
// and the key of its imports' ledger digests.
// Loading needs the root key, so it happens once, on first use, and the
// result is shared by every version of the collection's schema.
type searchKeys struct {
	mu     sync.Mutex
	loaded bool
	key    beacon.Key
	cursor cipher.AEAD
	ledger []byte
}

// beaconIndex names the index of a searchable attribute's beacons.
func beaconIndex(name string) string { return "beacon_" + name }

// tableFor is the store table of a collection.
func tableFor(table string, s Schema) store.Table {
	t := store.Table{Name: table, PartitionKey: s.PartitionKey, SortKey: s.SortKey}
	for _, name := range sortedKeys(s.Searchable) {
		t.Indexes = append(t.Indexes, store.Index{Name: beaconIndex(name), Attr: beacon.AttributeName(name)})
	}
	return t
}

// buildCollection builds the open form of a catalog entry, keeping the search keys
// of prev when the branch key is the same.
func (s *Service) buildCollection(e entry, prev *collection) (*collection, error) {
	kr, err := hierarchy.New(e.branchKeyID, s.keys, s.cache)
	if err != nil {
		return nil, err
	}
	ks := e.keys
	kr.RefuseVersions(ks.retired)
	schema := e.info.Schema.normalize()
	cfg := schema.itemConfig(e.info.Table, kr)
	enc, err := item.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("records: collection %q: %w", e.info.Name, err)
	}
	c := &collection{info: e.info, branchKeyID: e.branchKeyID, rev: e.rev, seq: e.seq, keyState: ks, gone: e.gone(), kr: kr,
		table: tableFor(e.info.Table, schema), cfg: cfg, enc: enc, keys: &searchKeys{}, loaded: s.now().UnixNano()}
	c.info.Schema = schema
	if prev != nil && prev.branchKeyID == e.branchKeyID && c.gone == nil {
		c.keys = prev.keys
		// A rotation recorded by another server: forget the cached active
		// key, so that new records go under the new version now rather
		// than when the cache entry expires.
		was, _ := prev.keyState.lastActivated()
		now, _ := ks.lastActivated()
		if was.ID != now.ID {
			kr.Forget(false)
		}
	}
	if c.gone != nil {
		kr.Forget(true)
	}
	return c, nil
}

// collection returns the open collection name, reading the catalog when it
// is not cached or was cached longer than the refresh period ago (another
// server may have changed it).
func (s *Service) collection(ctx context.Context, name string) (*collection, error) {
	s.mu.Lock()
	c := s.colls[name]
	fresh := c != nil && s.now().UnixNano()-c.loaded < int64(s.refresh)
	s.mu.Unlock()
	if fresh && c.gone != nil {
		return nil, c.gone
	}
	if fresh {
		return c, nil
	}
	if err := CheckCollectionName(name); err != nil {
		return nil, ErrNotFound
	}
	return s.reload(ctx, name)
}

// reload reads collection name's catalog entry again and installs it.
func (s *Service) reload(ctx context.Context, name string) (*collection, error) {
	e, err := s.cat.get(ctx, name)
	if err != nil {
		return nil, err
	}
	c, err := s.install(e, s.cached(name))
	if err != nil {
		return nil, err
	}
	if c.gone != nil {
		return nil, c.gone
	}
	return c, nil
}

// install caches the open form of e.
func (s *Service) install(e entry, prev *collection) (*collection, error) {
	// Same entry, or an older copy than the one installed (a read that
	// raced a change made here): keep what is installed.
	if prev != nil && prev.branchKeyID == e.branchKeyID && (prev.rev == e.rev || e.seq < prev.seq) {
		s.mu.Lock()
		prev.loaded = s.now().UnixNano()
		s.mu.Unlock()
		return prev, nil
	}
	c, err := s.buildCollection(e, prev)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.colls[e.info.Name]; cur != nil && cur.branchKeyID == c.branchKeyID && cur.seq > c.seq {
		return cur, nil // a newer copy was installed meanwhile
	}
	s.colls[e.info.Name] = c
	return c, nil
}

// keysFor returns the collection's cursor key and its beacons, loading the
// beacon key from the key store on first use.
func (s *Service) keysFor(ctx context.Context, c *collection) (cipher.AEAD, map[string]beacon.Standard, error) {
	k := c.keys
	k.mu.Lock()
	if !k.loaded {
		if err := s.loadKeys(ctx, c.branchKeyID, k); err != nil {
			k.mu.Unlock()
			return nil, nil, err
		}
	}
	key, aead := k.key, k.cursor
	k.mu.Unlock()

	c.beaconsMu.Lock()
	defer c.beaconsMu.Unlock()
	if c.beacons == nil {
		bs := map[string]beacon.Standard{}
		for name, bits := range c.info.Schema.Searchable {
			st, err := key.Standard(name, bits)
			if err != nil {
				return nil, nil, err
			}
			bs[name] = st
		}
		c.beacons = bs
	}
	return aead, c.beacons, nil
}

func (s *Service) loadKeys(ctx context.Context, branchKeyID string, k *searchKeys) error {
	raw, err := s.keys.BeaconKey(ctx, branchKeyID)
	if err != nil {
		return fmt.Errorf("records: beacon key: %w", err)
	}
	key, err := beacon.NewKey(raw.InsecureBytes())
	if err != nil {
		return err
	}
	ck, err := hkdf.Key(sha256.New, raw.InsecureBytes(), nil, "sealstore cursor v1", 32)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(ck)
	clear(ck)
	if err != nil {
		return err
	}
	if k.cursor, err = cipher.NewGCM(block); err != nil {
		return err
	}
	if k.ledger, err = hkdf.Key(sha256.New, raw.InsecureBytes(), nil, "sealstore import ledger v1", 32); err != nil {
		return err
	}
	k.key, k.loaded = key, true
	return nil
}

// ledgerKeyFor returns the key of the collection's import ledger digests,
// loading the beacon key from the key store on first use.
func (s *Service) ledgerKeyFor(ctx context.Context, c *collection) ([]byte, error) {
	k := c.keys
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.loaded {
		if err := s.loadKeys(ctx, c.branchKeyID, k); err != nil {
			return nil, err
		}
	}
	return k.ledger, nil
}

// Collections returns every collection, sorted by name.
func (s *Service) Collections(ctx context.Context) ([]CollectionInfo, error) {
	es, err := s.cat.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CollectionInfo, len(es))
	for i, e := range es {
		out[i] = e.info
		out[i].Schema = e.info.Schema.normalize()
	}
	return out, nil
}

// Collection describes collection name, or returns ErrNotFound.
func (s *Service) Collection(ctx context.Context, name string) (CollectionInfo, error) {
	if err := CheckCollectionName(name); err != nil {
		return CollectionInfo{}, ErrNotFound
	}
	e, err := s.cat.get(ctx, name)
	if err != nil {
		return CollectionInfo{}, err
	}
	c, err := s.install(e, s.cached(name))
	if err != nil {
		return CollectionInfo{}, err
	}
	return c.info, nil
}

func (s *Service) cached(name string) *collection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.colls[name]
}

// PutCollection creates collection name with schema sc, or changes its
// schema. A new collection gets a branch key, and a table with one index
// per searchable attribute. A change that would leave stored records
// unreadable or unsearchable is refused with a *ConflictError. It reports
// whether the collection was created.
func (s *Service) PutCollection(ctx context.Context, name string, sc Schema) (CollectionInfo, bool, error) {
	if err := CheckCollectionName(name); err != nil {
		return CollectionInfo{}, false, err
	}
	if err := sc.Validate(); err != nil {
		return CollectionInfo{}, false, err
	}
	sc = sc.normalize()
	for attempt := 0; attempt < 3; attempt++ {
		old, err := s.cat.get(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			info, err := s.createCollection(ctx, name, sc)
			if errors.Is(err, store.ErrConflict) {
				continue // created meanwhile: compare with that one
			}
			return info, err == nil, err
		case err != nil:
			return CollectionInfo{}, false, err
		}
		info, err := s.changeCollection(ctx, old, sc)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return info, false, err
	}
	return CollectionInfo{}, false, &ConflictError{Reason: "the collection is being changed by another request; retry"}
}

func (s *Service) createCollection(ctx context.Context, name string, sc Schema) (CollectionInfo, error) {
	table := tablePrefix + name
	if err := s.newTable(ctx, tableFor(table, sc)); err != nil {
		return CollectionInfo{}, fmt.Errorf("records: create table: %w", err)
	}
	id := keystore.NewID()
	version, err := s.keys.Create(ctx, id)
	if err != nil {
		return CollectionInfo{}, fmt.Errorf("records: collection key: %w", err)
	}
	now := s.now().UTC().Truncate(1e9)
	e := entry{branchKeyID: id, keys: firstVersion(version, now), info: CollectionInfo{Name: name, Table: table, Schema: sc, Version: 1, Created: now, Updated: now}}
	e, err = s.cat.put(ctx, e, true)
	if err != nil {
		return CollectionInfo{}, err
	}
	c, err := s.install(e, nil)
	if err != nil {
		return CollectionInfo{}, err
	}
	return c.info, nil
}

func (s *Service) changeCollection(ctx context.Context, old entry, sc Schema) (CollectionInfo, error) {
	if sameSchema(old.info.Schema, sc) {
		c, err := s.install(old, s.cached(old.info.Name))
		if err != nil {
			return CollectionInfo{}, err
		}
		return c.info, nil
	}
	if old.info.Name == ItemsCollection {
		return CollectionInfo{}, &ConflictError{Reason: "the schema of the reference collection \"items\" is fixed"}
	}
	table := tableFor(old.info.Table, sc)
	empty := func() (bool, error) {
		page, err := s.db.Scan(ctx, table, nil, 1)
		if err != nil {
			return false, fmt.Errorf("records: %w", err)
		}
		return len(page.Items) == 0 && page.Next == nil, nil
	}
	if err := checkChange(old.info.Schema.normalize(), sc, empty); err != nil {
		return CollectionInfo{}, err
	}
	// New beacon indexes first: a record written under the new schema
	// must find its index there.
	if err := s.newTable(ctx, table); err != nil {
		return CollectionInfo{}, fmt.Errorf("records: update table: %w", err)
	}
	e := old
	e.info.Schema = sc
	e.info.Version++
	e.info.Updated = s.now().UTC().Truncate(1e9)
	e, err := s.cat.put(ctx, e, false)
	if err != nil {
		return CollectionInfo{}, err
	}
	c, err := s.install(e, s.cached(old.info.Name))
	if err != nil {
		return CollectionInfo{}, err
	}
	return c.info, nil
}

// encryptorFor returns an encryptor whose configuration names every
// attribute of it: the collection's, plus ENCRYPT_AND_SIGN for attributes
// the schema does not list (the DB-ESDK needs an action per attribute).
func (c *collection) encryptorFor(it attr.Item) (*item.Encryptor, error) {
	var extra []string
	for name := range it {
		if _, ok := c.cfg.Actions[name]; !ok && !slices.Contains(c.cfg.AllowedUnsigned, name) {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return c.enc, nil
	}
	cfg := c.cfg
	cfg.Actions = make(map[string]item.Action, len(c.cfg.Actions)+len(extra))
	for k, v := range c.cfg.Actions {
		cfg.Actions[k] = v
	}
	for _, name := range extra {
		if strings.HasPrefix(name, item.ReservedPrefix) {
			return nil, &InvalidError{Field: fieldName(name), Reason: "attribute names starting " + item.ReservedPrefix + " are reserved by the item format"}
		}
		cfg.Actions[name] = item.EncryptAndSign
	}
	return item.New(cfg)
}
