package keystore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

const (
	storeName = "test-key-store"
	tableName = "branch_keys"
)

// table is the key store's table as the store sees it.
var table = store.Table{Name: tableName, PartitionKey: "branch-key-id", SortKey: "type"}

type fixture struct {
	db     *bolt.Store
	dbPath string
	root   *localroot.Key
	ks     *keystore.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	db, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	root := localroot.Generate()
	ks := keystore.New(storeName, tableName, db, root)
	if err := ks.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return &fixture{db: db, dbPath: path, root: root, ks: ks}
}

func (f *fixture) create(t *testing.T, id string) string {
	t.Helper()
	v, err := f.ks.Create(context.Background(), id)
	if err != nil {
		t.Fatalf("Create(%q): %v", id, err)
	}
	return v
}

func (f *fixture) get(t *testing.T, id, typ string) attr.Item {
	t.Helper()
	it, err := f.db.Get(context.Background(), table, attr.Item{"branch-key-id": attr.S(id), "type": attr.S(typ)})
	if err != nil {
		t.Fatalf("store Get %s %s: %v", id, typ, err)
	}
	return it
}

func (f *fixture) put(t *testing.T, it attr.Item) {
	t.Helper()
	if err := f.db.Put(context.Background(), table, it, store.Cond{}); err != nil {
		t.Fatalf("store Put: %v", err)
	}
}

// scanAll returns every item of the key store's table.
func (f *fixture) scanAll(t *testing.T) []attr.Item {
	t.Helper()
	var out []attr.Item
	var cursor []byte
	for {
		p, err := f.db.Scan(context.Background(), table, cursor, 0)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out
		}
		cursor = p.Next
	}
}

func TestCreateActiveAndVersionAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v := f.create(t, "collection-1")
	if _, err := hierarchy.VersionBytes(v); err != nil {
		t.Fatalf("version %q is not a canonical UUID: %v", v, err)
	}
	active, err := f.ks.ActiveKey(ctx, "collection-1")
	if err != nil {
		t.Fatalf("ActiveKey: %v", err)
	}
	if active.ID != "collection-1" || active.Version != v {
		t.Fatalf("ActiveKey = %s/%s, want collection-1/%s", active.ID, active.Version, v)
	}
	if active.Key.Len() != keystore.KeyLen || keystore.KeyLen != 32 {
		t.Fatalf("active key is %d bytes, want 32", active.Key.Len())
	}
	ver, err := f.ks.KeyVersion(ctx, "collection-1", v)
	if err != nil {
		t.Fatalf("KeyVersion: %v", err)
	}
	if ver.ID != "collection-1" || ver.Version != v {
		t.Fatalf("KeyVersion = %s/%s, want collection-1/%s", ver.ID, ver.Version, v)
	}
	if !ver.Key.Equal(active.Key) {
		t.Fatal("KeyVersion and ActiveKey return different keys")
	}
	beacon, err := f.ks.BeaconKey(ctx, "collection-1")
	if err != nil {
		t.Fatalf("BeaconKey: %v", err)
	}
	if beacon.Len() != 32 {
		t.Fatalf("beacon key is %d bytes, want 32", beacon.Len())
	}
	if beacon.Equal(active.Key) {
		t.Fatal("beacon key equals the branch key")
	}

	// A second branch key is independent.
	v2 := f.create(t, "collection-2")
	if v2 == v {
		t.Fatal("two branch keys got the same version")
	}
	other, err := f.ks.ActiveKey(ctx, "collection-2")
	if err != nil {
		t.Fatal(err)
	}
	if other.Key.Equal(active.Key) {
		t.Fatal("two branch keys share key bytes")
	}
	if f.ks.Name() != storeName {
		t.Fatalf("Name() = %q, want %q", f.ks.Name(), storeName)
	}
}

func TestStoredLayout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.create(t, "b")
	items := f.scanAll(t)
	types := map[string]attr.Item{}
	for _, it := range items {
		types[string(it["type"].(attr.S))] = it
	}
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} {
		it, ok := types[typ]
		if !ok {
			t.Fatalf("no %s item; stored: %v", typ, slices.Sorted(maps.Keys(types)))
		}
		if _, ok := it["enc"].(attr.B); !ok {
			t.Errorf("%s: enc is %T, want binary", typ, it["enc"])
		}
		if it["kms-arn"] != attr.S(f.root.ID()) {
			t.Errorf("%s: kms-arn %v, want %q", typ, it["kms-arn"], f.root.ID())
		}
		if _, err := time.Parse(time.RFC3339, string(it["create-time"].(attr.S))); err != nil {
			t.Errorf("%s: create-time: %v", typ, err)
		}
	}
	if got := types["branch:ACTIVE"]["version"]; got != attr.S("branch:version:"+v) {
		t.Errorf("ACTIVE version attribute %v, want branch:version:%s", got, v)
	}
	if len(items) != 3 {
		t.Errorf("%d items stored for one branch key, want 3", len(items))
	}
}

func TestCreateTwiceIsErrExists(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v := f.create(t, "dup")
	before, err := f.ks.ActiveKey(ctx, "dup")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := f.ks.Create(ctx, "dup")
	if !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second Create: version %q, err %v; want ErrExists", v2, err)
	}
	if v2 != "" {
		t.Errorf("failed Create returned version %q", v2)
	}
	after, err := f.ks.ActiveKey(ctx, "dup")
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != v || !after.Key.Equal(before.Key) {
		t.Fatal("a refused Create changed the active key")
	}
}

func TestCreateRefusesInvalidID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, id := range []string{"", "a\x00b", "\x00"} {
		if _, err := f.ks.Create(context.Background(), id); err == nil {
			t.Errorf("Create(%q) succeeded", id)
		}
	}
	if n := len(f.scanAll(t)); n != 0 {
		t.Errorf("refused Creates stored %d items", n)
	}
}

func TestUnknownIsErrNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v := f.create(t, "known")
	checks := map[string]func() error{
		"ActiveKey unknown id": func() error { _, err := f.ks.ActiveKey(ctx, "unknown"); return err },
		"KeyVersion unknown id": func() error {
			_, err := f.ks.KeyVersion(ctx, "unknown", v)
			return err
		},
		"KeyVersion unknown version": func() error {
			_, err := f.ks.KeyVersion(ctx, "known", keystore.NewID())
			return err
		},
		"BeaconKey unknown id": func() error { _, err := f.ks.BeaconKey(ctx, "unknown"); return err },
	}
	for name, fn := range checks {
		if err := fn(); !errors.Is(err, hierarchy.ErrNotFound) {
			t.Errorf("%s: err %v, want hierarchy.ErrNotFound", name, err)
		}
	}
}

func TestNewIDIsUUID(t *testing.T) {
	t.Parallel()
	a, b := keystore.NewID(), keystore.NewID()
	if a == b {
		t.Fatal("NewID repeated")
	}
	for _, id := range []string{a, b} {
		raw, err := hierarchy.VersionBytes(id)
		if err != nil {
			t.Fatalf("NewID %q: %v", id, err)
		}
		if raw[6]>>4 != 4 || raw[8]>>6 != 2 {
			t.Fatalf("NewID %q is not a version 4 variant 1 UUID", id)
		}
	}
}

// loaders reads every key of branch key id through the key store.
func loaders(ks *keystore.Store, id, version string) map[string]func(context.Context) (bool, error) {
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

func TestTamperedItemsDoNotLoad(t *testing.T) {
	t.Parallel()
	types := func(v string) []string { return []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} }
	loaderFor := map[string]string{"branch:ACTIVE": "ActiveKey", "beacon:ACTIVE": "BeaconKey"}
	loaderOf := func(typ string) string {
		if l, ok := loaderFor[typ]; ok {
			return l
		}
		return "KeyVersion"
	}

	// Edits of one attribute of one stored item, in place.
	edits := map[string]func(it attr.Item){
		"create-time changed": func(it attr.Item) {
			ts, _ := time.Parse(time.RFC3339, string(it["create-time"].(attr.S)))
			it["create-time"] = attr.S(ts.Add(-time.Hour).Format(time.RFC3339))
		},
		"kms-arn changed":           func(it attr.Item) { it["kms-arn"] = attr.S(localroot.Generate().ID()) },
		"kms-arn removed":           func(it attr.Item) { delete(it, "kms-arn") },
		"hierarchy-version changed": func(it attr.Item) { it["hierarchy-version"] = attr.N("2") },
		"create-time removed":       func(it attr.Item) { delete(it, "create-time") },
		"version added or changed":  func(it attr.Item) { it["version"] = attr.S("branch:version:" + keystore.NewID()) },
		"enc removed":               func(it attr.Item) { delete(it, "enc") },
		"enc as string":             func(it attr.Item) { it["enc"] = attr.S(base64.StdEncoding.EncodeToString(it["enc"].(attr.B))) },
		"enc bit flipped": func(it attr.Item) {
			b := bytes.Clone(it["enc"].(attr.B))
			b[len(b)/2] ^= 1
			it["enc"] = attr.B(b)
		},
		"enc truncated": func(it attr.Item) { b := it["enc"].(attr.B); it["enc"] = b[:len(b)-1] },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			v := f.create(t, "victim")
			for _, typ := range types(v) {
				it := f.get(t, "victim", typ)
				edit(it)
				f.put(t, it)
			}
			for lname, load := range loaders(f.ks, "victim", v) {
				got, err := load(ctx)
				if err == nil || got {
					t.Errorf("%s after %s: key returned %v, err %v; want an error and no key", lname, name, got, err)
				}
				if errors.Is(err, hierarchy.ErrNotFound) {
					t.Errorf("%s after %s: tampering reported as not found: %v", lname, name, err)
				}
			}
		})
	}

	t.Run("item copied under another branch key id", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		v := f.create(t, "a")
		for _, typ := range types(v) {
			it := f.get(t, "a", typ)
			it["branch-key-id"] = attr.S("b")
			f.put(t, it)
		}
		for lname, load := range loaders(f.ks, "b", v) {
			if got, err := load(ctx); !errors.Is(err, localroot.ErrUnwrap) || got {
				t.Errorf("%s of the copy: key returned %v, err %v; want ErrUnwrap", lname, got, err)
			}
		}
		// The original still loads.
		for lname, load := range loaders(f.ks, "a", v) {
			if _, err := load(ctx); err != nil {
				t.Errorf("%s of the original: %v", lname, err)
			}
		}
	})

	t.Run("item copied under another type", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		v := f.create(t, "a")
		// The beacon key presented as the active branch key, and the active
		// item presented as the beacon.
		beacon := f.get(t, "a", "beacon:ACTIVE")
		active := f.get(t, "a", "branch:ACTIVE")
		beacon["type"] = attr.S("branch:ACTIVE")
		beacon["version"] = attr.S("branch:version:" + v)
		active["type"] = attr.S("beacon:ACTIVE")
		f.put(t, beacon)
		f.put(t, active)
		if k, err := f.ks.ActiveKey(ctx, "a"); !errors.Is(err, localroot.ErrUnwrap) || !k.Key.IsZero() {
			t.Errorf("beacon item as ACTIVE: err %v", err)
		}
		if k, err := f.ks.BeaconKey(ctx, "a"); !errors.Is(err, localroot.ErrUnwrap) || !k.IsZero() {
			t.Errorf("ACTIVE item as beacon: err %v", err)
		}
	})

	t.Run("active item pointing at another version", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		v := f.create(t, "a")
		// A second version item with a known key: the version item of
		// another branch key, moved under a's id, still fails; and an
		// ACTIVE item with its version renamed fails.
		active := f.get(t, "a", "branch:ACTIVE")
		active["version"] = attr.S("branch:version:" + keystore.NewID())
		f.put(t, active)
		if k, err := f.ks.ActiveKey(ctx, "a"); !errors.Is(err, localroot.ErrUnwrap) || !k.Key.IsZero() {
			t.Errorf("ACTIVE with another version: err %v", err)
		}
		// The version item itself is untouched.
		if _, err := f.ks.KeyVersion(ctx, "a", v); err != nil {
			t.Errorf("KeyVersion: %v", err)
		}
	})

	t.Run("version item moved to another version", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		v := f.create(t, "a")
		other := keystore.NewID()
		it := f.get(t, "a", "branch:version:"+v)
		it["type"] = attr.S("branch:version:" + other)
		f.put(t, it)
		if k, err := f.ks.KeyVersion(ctx, "a", other); !errors.Is(err, localroot.ErrUnwrap) || !k.Key.IsZero() {
			t.Errorf("KeyVersion of a moved version: err %v", err)
		}
	})

	t.Run("enc swapped between two ids", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		va := f.create(t, "a")
		vb := f.create(t, "b")
		pairs := [][2]string{
			{"branch:ACTIVE", "branch:ACTIVE"},
			{"beacon:ACTIVE", "beacon:ACTIVE"},
			{"branch:version:" + va, "branch:version:" + vb},
		}
		for _, p := range pairs {
			ia, ib := f.get(t, "a", p[0]), f.get(t, "b", p[1])
			ia["enc"], ib["enc"] = ib["enc"], ia["enc"]
			f.put(t, ia)
			f.put(t, ib)
		}
		for _, c := range []struct{ id, v string }{{"a", va}, {"b", vb}} {
			for lname, load := range loaders(f.ks, c.id, c.v) {
				if got, err := load(ctx); !errors.Is(err, localroot.ErrUnwrap) || got {
					t.Errorf("%s(%s) with a swapped enc: key returned %v, err %v; want ErrUnwrap", lname, c.id, got, err)
				}
			}
		}
	})

	t.Run("enc swapped between types of one id", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		ctx := context.Background()
		v := f.create(t, "a")
		act, beacon := f.get(t, "a", "branch:ACTIVE"), f.get(t, "a", "beacon:ACTIVE")
		act["enc"], beacon["enc"] = beacon["enc"], act["enc"]
		f.put(t, act)
		f.put(t, beacon)
		for _, typ := range []string{"branch:ACTIVE", "beacon:ACTIVE"} {
			lname := loaderOf(typ)
			if got, err := loaders(f.ks, "a", v)[lname](ctx); !errors.Is(err, localroot.ErrUnwrap) || got {
				t.Errorf("%s with a swapped enc: err %v", lname, err)
			}
		}
	})
}

func TestOtherNameOverSameTableCannotUnwrap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v := f.create(t, "shared")
	other := keystore.New(storeName+"-other", tableName, f.db, f.root)
	for lname, load := range loaders(other, "shared", v) {
		if got, err := load(ctx); !errors.Is(err, localroot.ErrUnwrap) || got {
			t.Errorf("%s through a key store named differently: key returned %v, err %v; want ErrUnwrap", lname, got, err)
		}
	}
	// Same name, same root, a new Store value: works.
	same := keystore.New(storeName, tableName, f.db, f.root)
	for lname, load := range loaders(same, "shared", v) {
		if _, err := load(ctx); err != nil {
			t.Errorf("%s through an identically named key store: %v", lname, err)
		}
	}
	// Same name, another root key: fails.
	wrongRoot := keystore.New(storeName, tableName, f.db, localroot.Generate())
	for lname, load := range loaders(wrongRoot, "shared", v) {
		if got, err := load(ctx); err == nil || got {
			t.Errorf("%s under another root key: key returned %v, err %v", lname, got, err)
		}
	}
}

// leakForms are the encodings checked for plaintext key bytes.
func leakForms(raw []byte) map[string][]byte {
	return map[string][]byte{
		"raw":       raw,
		"hex":       []byte(hex.EncodeToString(raw)),
		"HEX":       []byte(strings.ToUpper(hex.EncodeToString(raw))),
		"base64":    []byte(base64.StdEncoding.EncodeToString(raw)),
		"base64raw": []byte(base64.RawStdEncoding.EncodeToString(raw)),
		"base64url": []byte(base64.RawURLEncoding.EncodeToString(raw)),
		"half":      raw[:len(raw)/2],
	}
}

func TestTableNeverHoldsPlaintextKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var keys [][]byte
	for _, id := range []string{"k1", "k2", "k3"} {
		v := f.create(t, id)
		a, err := f.ks.ActiveKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ver, err := f.ks.KeyVersion(ctx, id, v)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.ks.BeaconKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, bytes.Clone(a.Key.InsecureBytes()), bytes.Clone(ver.Key.InsecureBytes()), bytes.Clone(b.InsecureBytes()))
	}

	var dump bytes.Buffer
	for _, it := range f.scanAll(t) {
		typed, err := attr.MarshalTyped(attr.M(it))
		if err != nil {
			t.Fatal(err)
		}
		dump.Write(typed)
		js, err := attr.MarshalItemJSON(it)
		if err != nil {
			t.Fatal(err)
		}
		dump.Write(js)
		fmt.Fprintf(&dump, "%v %#v", it, it)
		for _, v := range it {
			if b, ok := v.(attr.B); ok {
				dump.Write(b)
			}
		}
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		for form, b := range leakForms(k) {
			if bytes.Contains(dump.Bytes(), b) {
				t.Errorf("key %d appears in the stored items (%s)", i, form)
			}
			if bytes.Contains(file, b) {
				t.Errorf("key %d appears in the database file (%s)", i, form)
			}
		}
	}
	// The dump is not empty: the check above looked at something.
	if dump.Len() < 9*32 {
		t.Fatalf("dump of 9 items is only %d bytes", dump.Len())
	}
}

func TestKeyStoreIsHierarchySource(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.create(t, "tenant")

	encryptor := func(src hierarchy.Source) *item.Encryptor {
		t.Helper()
		kr, err := hierarchy.New("tenant", src, hierarchy.NewCache(0, 10, nil))
		if err != nil {
			t.Fatal(err)
		}
		e, err := item.New(item.Config{
			TableName:    "records",
			PartitionKey: "id",
			Actions:      map[string]item.Action{"id": item.SignOnly, "data": item.EncryptAndSign},
			Keyring:      kr,
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	plain := attr.Item{"id": attr.S("r1"), "data": attr.S("the plaintext value")}
	enc, err := encryptor(f.ks).Encrypt(ctx, plain)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if d, ok := enc["data"].(attr.B); !ok || bytes.Contains(d, []byte("the plaintext value")) {
		t.Fatalf("encrypted data attribute is %T and may hold the plaintext", enc["data"])
	}
	// A new key store value over the same table, with a new cache, reads it.
	again := keystore.New(storeName, tableName, f.db, f.root)
	got, err := encryptor(again).Decrypt(ctx, enc)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if got["data"] != attr.S("the plaintext value") || got["id"] != attr.S("r1") {
		t.Fatalf("Decrypt = %v", got)
	}
	// A key store under another name (same table, same root) does not.
	other := keystore.New("another-store", tableName, f.db, f.root)
	if _, err := encryptor(other).Decrypt(ctx, enc); err == nil {
		t.Fatal("a differently named key store decrypted the item")
	}
}

// failingBackend passes calls to a store, failing the Put numbered failAt
// (1-based) with store.ErrUnavailable.
type failingBackend struct {
	keystore.Backend
	puts, failAt int
}

func (b *failingBackend) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	b.puts++
	if b.puts == b.failAt {
		return fmt.Errorf("injected: %w", store.ErrUnavailable)
	}
	return b.Backend.Put(ctx, t, it, c)
}

// A refused Create must leave the table as it was: no stray version item
// that KeyVersion would then serve although it was never active.
func TestRefusedCreateLeavesTableUnchanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.create(t, "dup")
	before := len(f.scanAll(t))
	if _, err := f.ks.Create(context.Background(), "dup"); !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	if after := len(f.scanAll(t)); after != before {
		var types []string
		for _, it := range f.scanAll(t) {
			types = append(types, string(it["type"].(attr.S)))
		}
		t.Errorf("a Create refused with ErrExists changed the table: %d items before, %d after: %v", before, after, types)
	}
}

// Create writes the ACTIVE item last so that "a key id is in use once it
// has one". If a write fails before that, the id is not in use: ActiveKey
// says not found, so a retried Create must succeed rather than report
// ErrExists and leave the id unusable forever.
func TestCreateRetryAfterPartialFailure(t *testing.T) {
	t.Parallel()
	for failAt := 1; failAt <= 3; failAt++ {
		t.Run(fmt.Sprintf("put %d fails", failAt), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			fb := &failingBackend{Backend: f.db, failAt: failAt}
			ks := keystore.New(storeName, tableName, fb, f.root)
			if _, err := ks.Create(ctx, "id"); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Create with a failing put: %v, want store.ErrUnavailable", err)
			}
			if _, err := ks.ActiveKey(ctx, "id"); !errors.Is(err, hierarchy.ErrNotFound) {
				t.Fatalf("ActiveKey after a failed Create: %v, want ErrNotFound", err)
			}
			v, err := ks.Create(ctx, "id")
			if err != nil {
				t.Fatalf("retried Create: %v (the id has no ACTIVE item, so it is not in use, yet it can never be created)", err)
			}
			k, err := ks.ActiveKey(ctx, "id")
			if err != nil || k.Version != v {
				t.Fatalf("ActiveKey after the retry: %v/%v", k.Version, err)
			}
		})
	}
}
