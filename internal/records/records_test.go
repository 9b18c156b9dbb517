package records_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

const (
	keyStoreName  = "sealstore"
	keyTableName  = "sealstore_branch_keys"
	itemsTableRaw = "secure_items"
)

var (
	itemsTable       = store.Table{Name: itemsTableRaw, PartitionKey: "item_id"}
	collectionsTable = store.Table{Name: "sealstore_collections", PartitionKey: "name"}
)

type env struct {
	db   *bolt.Store
	path string
	root *localroot.Key
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{path: filepath.Join(t.TempDir(), "db"), root: localroot.Generate()}
	e.reopenDB(t)
	return e
}

// reopenDB opens (again) the env's database file.
func (e *env) reopenDB(t *testing.T) {
	t.Helper()
	db, err := bolt.Open(e.path, time.Second)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
}

func (e *env) keys(t *testing.T) *keystore.Store {
	t.Helper()
	ks := keystore.New(keyStoreName, keyTableName, e.db, e.root)
	if err := ks.Init(context.Background()); err != nil {
		t.Fatalf("key store Init: %v", err)
	}
	return ks
}

// open opens a service with a fresh key store value and a fresh cache.
func (e *env) open(t *testing.T) *records.Service {
	t.Helper()
	svc, err := records.Open(context.Background(), e.db, e.keys(t), hierarchy.NewCache(0, 100, nil))
	if err != nil {
		t.Fatalf("records.Open: %v", err)
	}
	return svc
}

func put(t *testing.T, svc *records.Service, id, secret string) {
	t.Helper()
	if _, err := svc.PutSecret(context.Background(), id, secret); err != nil {
		t.Fatalf("PutSecret(%q): %v", id, err)
	}
}

func get(t *testing.T, svc *records.Service, id string) string {
	t.Helper()
	s, err := svc.GetSecret(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSecret(%q): %v", id, err)
	}
	return s
}

func (e *env) stored(t *testing.T, id string) attr.Item {
	t.Helper()
	it, err := e.db.Get(context.Background(), itemsTable, attr.Item{"item_id": attr.S(id)})
	if err != nil {
		t.Fatalf("store Get(%q): %v", id, err)
	}
	return it
}

func TestPutGetRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	cases := map[string]string{
		"empty":                                 "",
		"plain":                                 "hunter2",
		"unicode":                               "héllo wörld — 秘密 🔑",
		"control chars":                         "line1\nline2\ttab\x00nul\x7f",
		"json-ish":                              `{"a":"b","c":[1,2]}`,
		"long":                                  strings.Repeat("0123456789", 10_000),
		"é":                                     "id is a non-ASCII letter",
		strings.Repeat("i", records.MaxIDLen):   "id at the limit",
		strings.Repeat("é", records.MaxIDLen/2): "multi-byte id at the limit",
		"a b/c?d#e%f":                           "id with URL characters",
		"\u00a0nbsp":                            "id starting with U+00A0, not a control character",
	}
	for id, secret := range cases {
		put(t, svc, id, secret)
	}
	for id, secret := range cases {
		if got := get(t, svc, id); got != secret {
			t.Errorf("GetSecret(%.20q) = %.40q, want %.40q", id, got, secret)
		}
	}
}

func TestPutReplaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	put(t, svc, "k", "first")
	put(t, svc, "k", "second")
	if got := get(t, svc, "k"); got != "second" {
		t.Fatalf("after replace: %q, want second", got)
	}
	put(t, svc, "k", "")
	if got := get(t, svc, "k"); got != "" {
		t.Fatalf("after replace with empty: %q", got)
	}
}

func TestGetMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	put(t, svc, "present", "x")
	for _, id := range []string{"absent", "Present", "present ", "presen"} {
		s, err := svc.GetSecret(context.Background(), id)
		if !errors.Is(err, records.ErrNotFound) || s != "" {
			t.Errorf("GetSecret(%q) = %q, %v; want ErrNotFound", id, s, err)
		}
	}
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		id   string
		ok   bool
	}{
		{"empty", "", false},
		{"one byte", "a", true},
		{"1024 bytes", strings.Repeat("a", 1024), true},
		{"1025 bytes", strings.Repeat("a", 1025), false},
		{"1024 bytes multibyte", strings.Repeat("é", 512), true},
		{"1026 bytes multibyte", strings.Repeat("é", 513), false},
		{"NUL", "a\x00b", false},
		{"only NUL", "\x00", false},
		{"US 0x1f", "a\x1f", false},
		{"tab", "a\tb", false},
		{"newline", "a\n", false},
		{"DEL 0x7f", "\x7fa", false},
		{"NEL U+0085", "a\u0085b", false},
		{"C1 U+009F", "\u009f", false},
		{"U+00A0 is fine", "\u00a0", true},
		{"space is fine", "a b", true},
		{"invalid UTF-8 0xff", "a\xffb", false},
		{"truncated UTF-8", "a\xc3", false},
		{"overlong NUL", "\xc0\x80", false},
		{"surrogate", "\xed\xa0\x80", false},
		{"emoji", "🔑", true},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"three dots are fine", "...", true},
		{"dot dot in a longer id is fine", "a/../b", true},
	}
	ctx := context.Background()
	e := newEnv(t)
	svc := e.open(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := map[string]error{"CheckID": records.CheckID(c.id)}
			_, errs["PutSecret"] = svc.PutSecret(ctx, c.id, "s")
			_, errs["GetSecret"] = svc.GetSecret(ctx, c.id)
			for what, err := range errs {
				if c.ok {
					if err != nil {
						t.Errorf("%s(%.20q): %v, want it accepted", what, c.id, err)
					}
					continue
				}
				if !errors.Is(err, records.ErrInvalid) {
					t.Errorf("%s(%.20q): %v, want ErrInvalid", what, c.id, err)
					continue
				}
				var inv *records.InvalidError
				if !errors.As(err, &inv) {
					t.Errorf("%s(%.20q): %T is not an *InvalidError", what, c.id, err)
					continue
				}
				if inv.Field != "id" || inv.Reason == "" {
					t.Errorf("%s(%.20q): field %q reason %q", what, c.id, inv.Field, inv.Reason)
				}
				if c.id != "" && strings.Contains(err.Error(), c.id) {
					t.Errorf("%s: the error repeats the id: %q", what, err)
				}
			}
		})
	}
}

func TestPutRefusesInvalidUTF8Secret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	_, err := svc.PutSecret(context.Background(), "id", "bad \xff secret")
	var inv *records.InvalidError
	if !errors.Is(err, records.ErrInvalid) || !errors.As(err, &inv) || inv.Field != "secret" {
		t.Fatalf("PutSecret of invalid UTF-8: %v, want an *InvalidError for secret", err)
	}
	if strings.Contains(err.Error(), "bad") {
		t.Errorf("error repeats the secret: %q", err)
	}
	if _, err := svc.GetSecret(context.Background(), "id"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a refused PutSecret stored something: %v", err)
	}
}

func TestInvalidErrorMatchesOnlyErrInvalid(t *testing.T) {
	t.Parallel()
	err := error(&records.InvalidError{Field: "id", Reason: "r"})
	if !errors.Is(err, records.ErrInvalid) || errors.Is(err, records.ErrNotFound) {
		t.Fatal("InvalidError matching is wrong")
	}
	if err.Error() != "id: r" {
		t.Fatalf("Error() = %q", err.Error())
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), records.ErrInvalid) {
		t.Fatal("wrapped InvalidError does not match ErrInvalid")
	}
}

func TestStoredItemIsEncrypted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	const plain = "correct horse battery staple, a distinctive secret"
	put(t, svc, "rec-1", plain)
	it := e.stored(t, "rec-1")
	for _, name := range []string{item.HeaderAttr, item.FooterAttr} {
		if b, ok := it[name].(attr.B); !ok || len(b) == 0 {
			t.Errorf("stored item's %s is %T, want non-empty binary", name, it[name])
		}
	}
	if it["item_id"] != attr.S("rec-1") {
		t.Errorf("stored item_id = %v, want the plain id (sign only)", it["item_id"])
	}
	sec, ok := it["secret"].(attr.B)
	if !ok {
		t.Fatalf("stored secret is %T, want binary", it["secret"])
	}
	for _, form := range []string{plain, plain[:16], plain[20:36]} {
		if bytes.Contains(sec, []byte(form)) {
			t.Errorf("stored secret contains plaintext %q", form)
		}
	}
	typed, err := attr.MarshalTyped(attr.M(it))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(typed, []byte(plain[:16])) {
		t.Error("serialized stored item contains the plaintext")
	}
	if len(it) != 4 {
		t.Errorf("stored item has %d attributes, want item_id, secret, head and foot", len(it))
	}
	// Same secret twice: different ciphertexts.
	put(t, svc, "rec-2", plain)
	if bytes.Equal(e.stored(t, "rec-2")["secret"].(attr.B), sec) {
		t.Error("two encryptions of a secret are identical")
	}
}

func TestMovedItemFailsToDecrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	put(t, svc, "A", "secret of A")
	put(t, svc, "B", "secret of B")
	moved := e.stored(t, "A")
	moved["item_id"] = attr.S("B")
	if err := e.db.Put(context.Background(), itemsTable, moved, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	s, err := svc.GetSecret(context.Background(), "B")
	if !errors.Is(err, item.ErrDecrypt) {
		t.Fatalf("GetSecret of a moved item: %q, %v; want item.ErrDecrypt", s, err)
	}
	if s != "" {
		t.Fatalf("GetSecret returned %q with its error", s)
	}
	if strings.Contains(err.Error(), "secret of") {
		t.Fatalf("error holds the plaintext: %v", err)
	}
	// Moving to a fresh id fails the same way.
	moved["item_id"] = attr.S("C")
	if err := e.db.Put(context.Background(), itemsTable, moved, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if s, err := svc.GetSecret(context.Background(), "C"); !errors.Is(err, item.ErrDecrypt) || s != "" {
		t.Fatalf("GetSecret of an item copied to a new id: %q, %v", s, err)
	}
	if got := get(t, svc, "A"); got != "secret of A" {
		t.Fatalf("original A = %q", got)
	}
}

func TestTamperedItemsFailToDecrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	ctx := context.Background()
	put(t, svc, "victim", "the secret")
	orig := e.stored(t, "victim")
	flip := func(name string) func(attr.Item) {
		return func(it attr.Item) {
			b := bytes.Clone(it[name].(attr.B))
			b[len(b)/2] ^= 0x01
			it[name] = attr.B(b)
		}
	}
	edits := map[string]func(attr.Item){
		"secret flipped": flip("secret"),
		"head flipped":   flip(item.HeaderAttr),
		"foot flipped":   flip(item.FooterAttr),
		"secret removed": func(it attr.Item) { delete(it, "secret") },
		"head removed":   func(it attr.Item) { delete(it, item.HeaderAttr) },
		"foot removed":   func(it attr.Item) { delete(it, item.FooterAttr) },
		"secret as S":    func(it attr.Item) { it["secret"] = attr.S("the secret") },
		"extra attr":     func(it attr.Item) { it["extra"] = attr.S("x") },
	}
	for name, edit := range edits {
		it := attr.Item{}
		for k, v := range orig {
			it[k] = v
		}
		edit(it)
		if err := e.db.Put(ctx, itemsTable, it, store.Cond{}); err != nil {
			t.Fatal(err)
		}
		s, err := svc.GetSecret(ctx, "victim")
		if err == nil || s != "" {
			t.Errorf("%s: GetSecret = %q, %v; want an error", name, s, err)
		} else if !errors.Is(err, item.ErrDecrypt) && name != "extra attr" {
			t.Errorf("%s: %v, want item.ErrDecrypt", name, err)
		}
	}
}

func TestReopenReusesCollectionKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	first := e.open(t)
	put(t, first, "before", "written before reopen")

	branchKeyID := func() string {
		t.Helper()
		p, err := e.db.Scan(ctx, collectionsTable, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 1 {
			t.Fatalf("%d collection records, want 1", len(p.Items))
		}
		id, _ := p.Items[0]["branch_key_id"].(attr.S)
		if p.Items[0]["name"] != attr.S(records.ItemsCollection) || p.Items[0]["table"] != attr.S(itemsTableRaw) || id == "" {
			t.Fatalf("collection record %v", p.Items[0])
		}
		return string(id)
	}
	id1 := branchKeyID()
	if _, err := e.keys(t).ActiveKey(ctx, id1); err != nil {
		t.Fatalf("collection's branch key %s: %v", id1, err)
	}

	// Open again over the same store: same branch key, old item reads.
	second := e.open(t)
	if id := branchKeyID(); id != id1 {
		t.Fatalf("branch key id changed on reopen: %s then %s", id1, id)
	}
	if got := get(t, second, "before"); got != "written before reopen" {
		t.Fatalf("after reopen: %q", got)
	}
	// And the other way round.
	put(t, second, "after", "written by the second service")
	if got := get(t, first, "after"); got != "written by the second service" {
		t.Fatalf("first service reading the second's item: %q", got)
	}

	// Close and reopen the database file.
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.reopenDB(t)
	third := e.open(t)
	if id := branchKeyID(); id != id1 {
		t.Fatalf("branch key id changed after reopening the file: %s then %s", id1, id)
	}
	for id, want := range map[string]string{"before": "written before reopen", "after": "written by the second service"} {
		if got := get(t, third, id); got != want {
			t.Fatalf("%s after reopening the file: %q", id, got)
		}
	}

	// A different root key over the same file cannot read the items.
	wrong := keystore.New(keyStoreName, keyTableName, e.db, localroot.Generate())
	svc, err := records.Open(ctx, e.db, wrong, hierarchy.NewCache(0, 10, nil))
	if err != nil {
		t.Fatalf("Open with another root key: %v", err)
	}
	s, err := svc.GetSecret(ctx, "before")
	if err == nil || s != "" {
		t.Fatalf("another root key read an item: %q", s)
	}
	// A key that does not authenticate is a decryption failure (500), not
	// an outage to retry (503).
	if !errors.Is(err, item.ErrDecrypt) || errors.Is(err, materials.ErrUnavailable) {
		t.Fatalf("GetSecret under the wrong root key: %v; want item.ErrDecrypt, not materials.ErrUnavailable", err)
	}
}

func TestConcurrentOpenAgrees(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const n = 4
	svcs := make([]*records.Service, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ks := e.keys(t)
		wg.Go(func() {
			svcs[i], errs[i] = records.Open(ctx, e.db, ks, hierarchy.NewCache(0, 10, nil))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	for i, w := range svcs {
		put(t, w, fmt.Sprint("from-", i), fmt.Sprint("secret-", i))
	}
	for _, r := range svcs {
		for i := range n {
			if got := get(t, r, fmt.Sprint("from-", i)); got != fmt.Sprint("secret-", i) {
				t.Fatalf("cross-service read of from-%d: %q", i, got)
			}
		}
	}
	p, err := e.db.Scan(ctx, collectionsTable, nil, 0)
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("collection records after concurrent opens: %d, %v", len(p.Items), err)
	}
}

// failingBackend wraps a store, failing Gets, Puts or both with err.
type failingBackend struct {
	store.Store
	mu      sync.Mutex
	failGet error
	failPut error
}

func (b *failingBackend) set(get, put error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failGet, b.failPut = get, put
}

func (b *failingBackend) Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	b.mu.Lock()
	err := b.failGet
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.Store.Get(ctx, t, key)
}

func (b *failingBackend) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	b.mu.Lock()
	err := b.failPut
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.Store.Put(ctx, t, it, c)
}

func TestReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	fb := &failingBackend{Store: e.db}
	svc, err := records.Open(ctx, fb, e.keys(t), hierarchy.NewCache(0, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// Ready stores nothing.
	p, err := e.db.Scan(ctx, itemsTable, nil, 0)
	if err != nil || len(p.Items) != 0 {
		t.Fatalf("Ready left %d items (%v)", len(p.Items), err)
	}

	outage := fmt.Errorf("injected: %w", store.ErrUnavailable)
	fb.set(outage, nil)
	if err := svc.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready with a failing store: %v, want store.ErrUnavailable", err)
	}
	if _, err := svc.GetSecret(ctx, "x"); !errors.Is(err, store.ErrUnavailable) || errors.Is(err, records.ErrNotFound) {
		t.Fatalf("GetSecret with a failing store: %v, want store.ErrUnavailable", err)
	}
	fb.set(nil, outage)
	if _, err := svc.PutSecret(ctx, "x", "y"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("PutSecret with a failing store: %v, want store.ErrUnavailable", err)
	}
	fb.set(nil, nil)
	if err := svc.Ready(ctx); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
}

func TestPutTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc := e.open(t)
	_, err := svc.PutSecret(context.Background(), "big", strings.Repeat("x", store.MaxItemSize))
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("PutSecret over the item limit: %v, want store.ErrTooLarge", err)
	}
}

func TestOpenFailsWithoutKeyTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The key store's table was never created: the branch key cannot be
	// written, so Open must fail rather than return a service.
	ks := keystore.New(keyStoreName, keyTableName, e.db, e.root)
	svc, err := records.Open(context.Background(), e.db, ks, hierarchy.NewCache(0, 10, nil))
	if err == nil || svc != nil {
		t.Fatalf("Open without a key table: %v, %v", svc, err)
	}
	// And nothing was recorded as the collection's key.
	p, err := e.db.Scan(context.Background(), collectionsTable, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 {
		t.Fatalf("a failed Open recorded a collection: %v", p.Items)
	}
}
