package kmsroot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store"
)

// memStore is the in-memory keystore.Backend for these tests: one table
// keyed by its partition and sort key, items copied in and out, and the
// Absent condition (the only one the key store uses).
type memStore struct {
	mu    sync.Mutex
	items map[[2]string]attr.Item
}

var _ keystore.Backend = (*memStore)(nil)

func newMemStore() *memStore { return &memStore{items: map[[2]string]attr.Item{}} }

func (m *memStore) CreateTable(context.Context, store.Table) error { return nil }

func (m *memStore) Get(_ context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	k, err := itemKey(t, key)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[k]
	if !ok {
		return nil, store.ErrNotFound
	}
	return copyItem(it), nil
}

func (m *memStore) Put(_ context.Context, t store.Table, it attr.Item, c store.Cond) error {
	k, err := itemKey(t, it)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(k, c); err != nil {
		return err
	}
	m.items[k] = copyItem(it)
	return nil
}

func (m *memStore) Delete(_ context.Context, t store.Table, key attr.Item, c store.Cond) error {
	k, err := itemKey(t, key)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(k, c); err != nil {
		return err
	}
	delete(m.items, k)
	return nil
}

func (m *memStore) check(k [2]string, c store.Cond) error {
	if c.Attr != "" {
		return errors.New("memStore: only the Absent condition is supported")
	}
	if _, ok := m.items[k]; ok && c.Absent {
		return store.ErrConflict
	}
	return nil
}

func itemKey(t store.Table, it attr.Item) ([2]string, error) {
	pk, ok1 := it[t.PartitionKey].(attr.S)
	sk, ok2 := it[t.SortKey].(attr.S)
	if !ok1 || !ok2 {
		return [2]string{}, errors.New("memStore: key attributes must be strings")
	}
	return [2]string{string(pk), string(sk)}, nil
}

func copyItem(it attr.Item) attr.Item {
	out := maps.Clone(it)
	for name, v := range out {
		if b, ok := v.(attr.B); ok {
			out[name] = attr.B(bytes.Clone(b))
		}
	}
	return out
}

const (
	ksName  = "kmsroot-test-store"
	ksTable = "branch_keys"
)

var ksTableDef = store.Table{Name: ksTable, PartitionKey: "branch-key-id", SortKey: "type"}

// ksFixture is a key store over a memStore with a KMS root key.
type ksFixture struct {
	db *memStore
	ks *keystore.Store
}

func newKSFixture(t *testing.T, root keystore.Root) *ksFixture {
	t.Helper()
	db := newMemStore()
	ks := keystore.New(ksName, ksTable, db, root)
	if err := ks.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return &ksFixture{db: db, ks: ks}
}

func (f *ksFixture) get(t *testing.T, id, typ string) attr.Item {
	t.Helper()
	it, err := f.db.Get(context.Background(), ksTableDef, attr.Item{"branch-key-id": attr.S(id), "type": attr.S(typ)})
	if err != nil {
		t.Fatalf("Get %s %s: %v", id, typ, err)
	}
	return it
}

func (f *ksFixture) put(t *testing.T, it attr.Item) {
	t.Helper()
	if err := f.db.Put(context.Background(), ksTableDef, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// keyLoads reads each key of branch key id through ks; each returns
// whether a key came back.
func keyLoads(ks *keystore.Store, id, version string) map[string]func(context.Context) (bool, error) {
	return map[string]func(context.Context) (bool, error){
		"ActiveKey": func(ctx context.Context) (bool, error) {
			k, err := ks.ActiveKey(ctx, id)
			return !k.Key.IsZero(), err
		},
		"KeyVersion": func(ctx context.Context) (bool, error) {
			k, err := ks.KeyVersion(ctx, id, version)
			return !k.Key.IsZero(), err
		},
		"BeaconKey": func(ctx context.Context) (bool, error) {
			k, err := ks.BeaconKey(ctx, id)
			return !k.IsZero(), err
		},
	}
}

// checkCreateAndLoad creates a branch key and reads it back every way.
func checkCreateAndLoad(t *testing.T, f *ksFixture, id string) string {
	t.Helper()
	ctx := context.Background()
	v, err := f.ks.Create(ctx, id)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	active, err := f.ks.ActiveKey(ctx, id)
	if err != nil {
		t.Fatalf("ActiveKey: %v", err)
	}
	if active.ID != id || active.Version != v || active.Key.Len() != keystore.KeyLen {
		t.Fatalf("ActiveKey = %s/%s with a %d-byte key, want %s/%s with 32", active.ID, active.Version, active.Key.Len(), id, v)
	}
	ver, err := f.ks.KeyVersion(ctx, id, v)
	if err != nil {
		t.Fatalf("KeyVersion: %v", err)
	}
	if !ver.Key.Equal(active.Key) {
		t.Fatal("KeyVersion and ActiveKey disagree")
	}
	beacon, err := f.ks.BeaconKey(ctx, id)
	if err != nil {
		t.Fatalf("BeaconKey: %v", err)
	}
	if beacon.Len() != keystore.KeyLen || beacon.Equal(active.Key) {
		t.Fatal("the beacon key is not a distinct 32-byte key")
	}
	return v
}

// checkFailsClosed fails t unless loading fails with
// hierarchy.ErrInvalidKey and no key.
func checkFailsClosed(t *testing.T, what string, loads map[string]func(context.Context) (bool, error)) {
	t.Helper()
	for name, load := range loads {
		got, err := load(context.Background())
		if !errors.Is(err, hierarchy.ErrInvalidKey) || !errors.Is(err, keystore.ErrUnwrap) || got {
			t.Errorf("%s after %s: key returned %v, err %v; want hierarchy.ErrInvalidKey", name, what, got, err)
		}
	}
}

func TestKeyStoreOverKMS(t *testing.T) {
	t.Parallel()
	fake, root := newRoot(t)
	seen := observe(root)
	f := newKSFixture(t, root)
	v := checkCreateAndLoad(t, f, "collection")

	// Create is two GenerateDataKeyWithoutPlaintext (version and beacon)
	// and one ReEncrypt (the ACTIVE item), as in the MPL; each load one
	// Decrypt.
	count := map[string]int{}
	for _, o := range seen() {
		count[o.op]++
	}
	want := map[string]int{kmsroot.OpGenerateDataKeyWithoutPlaintext: 2, kmsroot.OpReEncrypt: 1, kmsroot.OpDecrypt: 3}
	if !maps.Equal(count, want) {
		t.Errorf("KMS calls %v, want %v", count, want)
	}
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} {
		if got := f.get(t, "collection", typ)["kms-arn"]; got != attr.S(root.ID()) {
			t.Errorf("%s: kms-arn %v, want the key ARN %q", typ, got, root.ID())
		}
	}

	t.Run("outage is not an invalid key", func(t *testing.T) {
		fake.failWith(throttlingError)
		defer fake.failWith(nil)
		for name, load := range keyLoads(f.ks, "collection", v) {
			if _, err := load(context.Background()); errors.Is(err, hierarchy.ErrInvalidKey) || !errors.Is(err, materials.ErrUnavailable) {
				t.Errorf("%s while KMS throttles: err %v, want ErrUnavailable, not ErrInvalidKey", name, err)
			}
		}
	})
}

func TestKeyStoreOverKMSFailsClosed(t *testing.T) {
	t.Parallel()
	types := func(v string) []string { return []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} }

	edits := map[string]func(it attr.Item){
		"create-time changed": func(it attr.Item) {
			ts, _ := time.Parse(time.RFC3339, string(it["create-time"].(attr.S)))
			it["create-time"] = attr.S(ts.Add(time.Second).Format(time.RFC3339))
		},
		"kms-arn changed":           func(it attr.Item) { it["kms-arn"] = attr.S(string(it["kms-arn"].(attr.S)) + "0") },
		"hierarchy-version changed": func(it attr.Item) { it["hierarchy-version"] = attr.N("2") },
		"enc bit flipped": func(it attr.Item) {
			b := it["enc"].(attr.B)
			b[len(b)-1] ^= 1
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, root := newRoot(t)
			f := newKSFixture(t, root)
			v := checkCreateAndLoad(t, f, "victim")
			for _, typ := range types(v) {
				it := f.get(t, "victim", typ)
				edit(it)
				f.put(t, it)
			}
			checkFailsClosed(t, name, keyLoads(f.ks, "victim", v))
		})
	}

	t.Run("branch-key-id changed", func(t *testing.T) {
		t.Parallel()
		_, root := newRoot(t)
		f := newKSFixture(t, root)
		v := checkCreateAndLoad(t, f, "a")
		for _, typ := range types(v) {
			it := f.get(t, "a", typ)
			it["branch-key-id"] = attr.S("b")
			f.put(t, it)
		}
		checkFailsClosed(t, "items copied from a to b", keyLoads(f.ks, "b", v))
		for name, load := range keyLoads(f.ks, "a", v) {
			if _, err := load(context.Background()); err != nil {
				t.Errorf("%s of the original: %v", name, err)
			}
		}
	})

	t.Run("enc moved between items", func(t *testing.T) {
		t.Parallel()
		_, root := newRoot(t)
		f := newKSFixture(t, root)
		va := checkCreateAndLoad(t, f, "a")
		vb := checkCreateAndLoad(t, f, "b")
		// Across branch keys, type for type.
		pairs := [][2]string{{"branch:ACTIVE", "branch:ACTIVE"}, {"beacon:ACTIVE", "beacon:ACTIVE"}, {"branch:version:" + va, "branch:version:" + vb}}
		for _, p := range pairs {
			ia, ib := f.get(t, "a", p[0]), f.get(t, "b", p[1])
			ia["enc"], ib["enc"] = ib["enc"], ia["enc"]
			f.put(t, ia)
			f.put(t, ib)
		}
		checkFailsClosed(t, "enc swapped between a and b", keyLoads(f.ks, "a", va))
		checkFailsClosed(t, "enc swapped between a and b", keyLoads(f.ks, "b", vb))

		// Within one branch key: every item's enc in every other item.
		vc := checkCreateAndLoad(t, f, "c")
		loaderOf := map[string]string{"branch:ACTIVE": "ActiveKey", "branch:version:" + vc: "KeyVersion", "beacon:ACTIVE": "BeaconKey"}
		for _, from := range types(vc) {
			for _, to := range types(vc) {
				if from == to {
					continue
				}
				src, dst := f.get(t, "c", from), f.get(t, "c", to)
				orig := dst["enc"]
				dst["enc"] = src["enc"]
				f.put(t, dst)
				name := loaderOf[to]
				load := keyLoads(f.ks, "c", vc)[name]
				checkFailsClosed(t, fmt.Sprintf("%s's enc in %s", from, to), map[string]func(context.Context) (bool, error){name: load})
				dst["enc"] = orig
				f.put(t, dst)
			}
		}
	})

	t.Run("another KMS key", func(t *testing.T) {
		t.Parallel()
		fake, root := newRoot(t)
		f := newKSFixture(t, root)
		v := checkCreateAndLoad(t, f, "a")
		other, err := kmsroot.New(fake, fake.newKey())
		if err != nil {
			t.Fatal(err)
		}
		// The same table read through another key (whose ARN is not the
		// stored kms-arn, and which did not wrap the keys).
		checkFailsClosed(t, "reading through another key", keyLoads(keystore.New(ksName, ksTable, f.db, other), "a", v))
	})
}
