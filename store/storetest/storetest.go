// Package storetest is the shared conformance suite for store.Store
// backends. Every backend (store/bolt now, DynamoDB later) runs Run from its
// own tests, so that all of them are held to the one contract documented in
// package store: idempotent CreateTable, ErrNotFound, ErrConflict and
// ErrTooLarge where the contract names them, conditional writes that write
// nothing when they fail, replacing Puts, Scan pagination, and no lost
// updates under concurrent conditional writes.
//
// The suite only uses values DynamoDB itself accepts (no empty sets, no
// empty key values, table names DynamoDB allows), and it never asserts on
// timing, so it can run unchanged against a real DynamoDB table.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// The tables the suite uses: one keyed by a partition key only, one with a
// sort key as well.
var (
	hashTable  = store.Table{Name: "storetest_hash", PartitionKey: "pk"}
	rangeTable = store.Table{Name: "storetest_range", PartitionKey: "pk", SortKey: "sk"}
)

// Skip names a subtest of Run to skip and says why.
type Skip struct{ Test, Reason string }

// Run runs the conformance suite. open must return a fresh, empty store for
// each call; it is called once per subtest, with that subtest's t, and is
// responsible for any cleanup (t.Cleanup).
//
// A backend whose test double lacks a feature the real service has may
// skip that subtest by name with a reason, which the test log prints.
func Run(t *testing.T, open func(t *testing.T) store.Store, skip ...Skip) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateTable", testCreateTable},
		{"GetMissing", testGetMissing},
		{"RoundTrip", testRoundTrip},
		{"KeyTypes", testKeyTypes},
		{"NumberKeysCompareAsNumbers", testNumberKeys},
		{"GetIgnoresNonKeyAttributes", testGetIgnoresNonKeyAttributes},
		{"PutReplaces", testPutReplaces},
		{"SortKey", testSortKey},
		{"TablesAreSeparate", testTablesAreSeparate},
		{"ItemsAreCopies", testItemsAreCopies},
		{"CondAbsent", testCondAbsent},
		{"CondEquals", testCondEquals},
		{"CondInvalid", testCondInvalid},
		{"Delete", testDelete},
		{"DeleteConditional", testDeleteConditional},
		{"TooLarge", testTooLarge},
		{"MissingKeyAttribute", testMissingKeyAttribute},
		{"CanceledContext", testCanceledContext},
		{"ScanEmpty", testScanEmpty},
		{"ScanPagination", testScanPagination},
		{"ScanDefaultLimit", testScanDefaultLimit},
		{"ScanSortKeyTable", testScanSortKeyTable},
		{"ScanAfterDelete", testScanAfterDelete},
		{"ConcurrentCounter", testConcurrentCounter},
		{"ConcurrentCreateIfAbsent", testConcurrentCreateIfAbsent},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Query", testQuery},
		{"QueryPagination", testQueryPagination},
		{"QueryBadIndexValue", testQueryBadIndexValue},
		{"AddIndex", testAddIndex},
		{"AddIndexSkipsBadValues", testAddIndexSkipsBadValues},
		{"SchemaMismatch", testSchemaMismatch},
		{"RefusedValues", testRefusedValues},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, sk := range skip {
				if sk.Test == tc.name {
					t.Skip(sk.Reason)
				}
			}
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tc.fn(t, s)
		})
	}
}

// ---- helpers ----

func createTable(t *testing.T, s store.Store, tbl store.Table) {
	t.Helper()
	if err := s.CreateTable(t.Context(), tbl); err != nil {
		t.Fatalf("CreateTable(%s): %v", tbl.Name, err)
	}
}

func put(t *testing.T, s store.Store, tbl store.Table, it attr.Item) {
	t.Helper()
	if err := s.Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatalf("Put(%s, %v): %v", tbl.Name, keyString(tbl, it), err)
	}
}

func get(t *testing.T, s store.Store, tbl store.Table, key attr.Item) attr.Item {
	t.Helper()
	it, err := s.Get(t.Context(), tbl, key)
	if err != nil {
		t.Fatalf("Get(%s, %v): %v", tbl.Name, keyString(tbl, key), err)
	}
	return it
}

// wantItem fails unless the stored item with the key of want equals want.
func wantItem(t *testing.T, s store.Store, tbl store.Table, want attr.Item) {
	t.Helper()
	got := get(t, s, tbl, want)
	if !itemsEqual(got, want) {
		t.Fatalf("Get(%s, %v) = %v, want %v", tbl.Name, keyString(tbl, want), got, want)
	}
}

// wantMissing fails unless Get of key gives ErrNotFound.
func wantMissing(t *testing.T, s store.Store, tbl store.Table, key attr.Item) {
	t.Helper()
	it, err := s.Get(t.Context(), tbl, key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s, %v) = %v, %v; want ErrNotFound", tbl.Name, keyString(tbl, key), it, err)
	}
	if it != nil {
		t.Fatalf("Get(%s, %v) returned item %v with ErrNotFound", tbl.Name, keyString(tbl, key), it)
	}
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func wantNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func itemsEqual(a, b attr.Item) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return attr.Equal(attr.M(a), attr.M(b))
}

func keyString(tbl store.Table, it attr.Item) string {
	key, err := store.KeyOf(tbl, it)
	if err != nil {
		return "<no key>"
	}
	return fmt.Sprint(key)
}

// scanAll follows Next cursors from the start of tbl until Next is nil and
// returns every item, failing if a page is over limit (when limit > 0) or
// the scan does not end.
func scanAll(t *testing.T, s store.Store, tbl store.Table, limit int) []attr.Item {
	t.Helper()
	var items []attr.Item
	var cursor []byte
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("Scan(%s): no end after %d pages", tbl.Name, pages)
		}
		page, err := s.Scan(t.Context(), tbl, cursor, limit)
		if err != nil {
			t.Fatalf("Scan(%s) page %d: %v", tbl.Name, pages, err)
		}
		if limit > 0 && len(page.Items) > limit {
			t.Fatalf("Scan(%s) page %d: %d items, limit %d", tbl.Name, pages, len(page.Items), limit)
		}
		if err := pageKeys(tbl, page); err != nil {
			t.Fatalf("Scan(%s) page %d: %v", tbl.Name, pages, err)
		}
		items = append(items, page.Items...)
		if page.Next == nil {
			return items
		}
		cursor = page.Next
	}
}

// pageKeys checks a page's Keys: nil, or the key each item is stored
// under, which for items written through the store is their own key.
func pageKeys(tbl store.Table, page store.Page) error {
	if page.Keys == nil {
		return nil
	}
	if len(page.Keys) != len(page.Items) {
		return fmt.Errorf("%d keys for %d items", len(page.Keys), len(page.Items))
	}
	for i, it := range page.Items {
		want, err := store.KeyOf(tbl, it)
		if err != nil {
			return err
		}
		if !attr.Equal(attr.M(page.Keys[i]), attr.M(want)) {
			return fmt.Errorf("item %d stored under %v, its key is %v", i, page.Keys[i], want)
		}
	}
	return nil
}

// wantScan fails unless scanning tbl (with limit) yields exactly want, each
// item once, in any order.
func wantScan(t *testing.T, s store.Store, tbl store.Table, limit int, want []attr.Item) {
	t.Helper()
	got := scanAll(t, s, tbl, limit)
	wantByKey := map[string]attr.Item{}
	for _, it := range want {
		wantByKey[canonKey(t, tbl, it)] = it
	}
	seen := map[string]bool{}
	for _, it := range got {
		k := canonKey(t, tbl, it)
		if seen[k] {
			t.Errorf("Scan(%s): item %v returned more than once", tbl.Name, keyString(tbl, it))
			continue
		}
		seen[k] = true
		w, ok := wantByKey[k]
		if !ok {
			t.Errorf("Scan(%s): unexpected item %v", tbl.Name, it)
			continue
		}
		if !itemsEqual(it, w) {
			t.Errorf("Scan(%s): item %v, want %v", tbl.Name, it, w)
		}
	}
	for k, w := range wantByKey {
		if !seen[k] {
			t.Errorf("Scan(%s): item %v never returned", tbl.Name, keyString(tbl, w))
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// canonKey is a comparable form of an item's key (its canonical
// serialization, so that equal numbers give equal keys).
func canonKey(t *testing.T, tbl store.Table, it attr.Item) string {
	t.Helper()
	key, err := store.KeyOf(tbl, it)
	if err != nil {
		t.Fatalf("item %v from %s: %v", it, tbl.Name, err)
	}
	b, err := attr.MarshalTyped(attr.M(key))
	if err != nil {
		t.Fatalf("item %v from %s: %v", it, tbl.Name, err)
	}
	return string(b)
}

// runParallel runs fn(i) for i in [0, n) on n goroutines released together,
// and reports every error fn returns.
func runParallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// ---- CreateTable and Get ----

func testCreateTable(t *testing.T, s store.Store) {
	for _, tbl := range []store.Table{hashTable, rangeTable} {
		createTable(t, s, tbl)
		// Idempotent with the same schema, and existing items survive it.
		it := attr.Item{"pk": attr.S("a"), "sk": attr.S("b"), "v": attr.N("1")}
		put(t, s, tbl, it)
		createTable(t, s, tbl)
		createTable(t, s, tbl)
		wantItem(t, s, tbl, it)
	}
}

func testGetMissing(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	createTable(t, s, rangeTable)
	wantMissing(t, s, hashTable, attr.Item{"pk": attr.S("nope")})
	wantMissing(t, s, rangeTable, attr.Item{"pk": attr.S("nope"), "sk": attr.S("nope")})
	// A present partition does not make a missing sort key found.
	put(t, s, rangeTable, attr.Item{"pk": attr.S("p"), "sk": attr.S("1")})
	wantMissing(t, s, rangeTable, attr.Item{"pk": attr.S("p"), "sk": attr.S("2")})
}

// values are one example of every attribute type (and some edge cases),
// each DynamoDB accepts as a non-key attribute.
var values = []struct {
	name string
	v    attr.Value
}{
	{"S", attr.S("hello")},
	{"S empty", attr.S("")},
	{"S unicode", attr.S("héllo wörld 😀 \u0000 \uFF61")},
	{"N int", attr.N("42")},
	{"N negative fraction", attr.N("-3.25")},
	{"N exponent", attr.N("1.5e-3")},
	{"N zero", attr.N("0")},
	{"N 38 digits", attr.N("12345678901234567890123456789012345678")},
	{"N large", attr.N("9.9999999999999999999999999999999999999E+125")},
	{"N small", attr.N("1E-130")},
	{"B", attr.B{0x00, 0x01, 0xfe, 0xff}},
	{"B empty", attr.B{}},
	{"Bool true", attr.Bool(true)},
	{"Bool false", attr.Bool(false)},
	{"Null", attr.Null{}},
	{"L", attr.L{attr.S("a"), attr.N("1"), attr.Bool(true), attr.Null{}, attr.B{9}}},
	{"L empty", attr.L{}},
	{"L nested", attr.L{attr.L{attr.L{attr.S("deep")}}, attr.M{"k": attr.L{attr.N("2")}}}},
	{"M", attr.M{"s": attr.S("x"), "n": attr.N("7"), "b": attr.B{1, 2}, "t": attr.Bool(false), "z": attr.Null{}}},
	{"M empty", attr.M{}},
	{"M nested", attr.M{"inner": attr.M{"list": attr.L{attr.SS{"a", "b"}, attr.M{}}}}},
	{"SS", attr.SS{"b", "a", "", "😀"}},
	{"NS", attr.NS{"10", "-1", "0.5", "3e2"}},
	{"BS", attr.BS{{0x02}, {0x01, 0xff}, {}}},
}

func testRoundTrip(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	all := attr.Item{"pk": attr.S("all")}
	for i, tc := range values {
		it := attr.Item{"pk": attr.S("v" + strconv.Itoa(i)), "val": tc.v}
		put(t, s, hashTable, it)
		got := get(t, s, hashTable, it)
		if !itemsEqual(got, it) {
			t.Errorf("%s: Get = %v, want %v", tc.name, got, it)
		}
		if _, ok := got["val"]; !ok {
			t.Errorf("%s: Get lost the attribute", tc.name)
		} else if got["val"].TypeID() != tc.v.TypeID() {
			t.Errorf("%s: Get gave type %#04x, want %#04x", tc.name, got["val"].TypeID(), tc.v.TypeID())
		}
		all["a"+strconv.Itoa(i)] = tc.v
	}
	// Every type at once, under attribute names that need care.
	all["name with spaces"] = attr.S("x")
	all["ünïcödé"] = attr.N("1")
	put(t, s, hashTable, all)
	wantItem(t, s, hashTable, all)
	if t.Failed() {
		t.FailNow()
	}
	// And the same through Scan.
	want := []attr.Item{all}
	for i, tc := range values {
		want = append(want, attr.Item{"pk": attr.S("v" + strconv.Itoa(i)), "val": tc.v})
	}
	wantScan(t, s, hashTable, 0, want)
}

func testKeyTypes(t *testing.T, s store.Store) {
	keys := []struct {
		name     string
		pk, sk   attr.Value
		pkt, skt store.KeyType
	}{
		{"S S", attr.S("p"), attr.S("s"), "", store.KeyS},
		{"S N", attr.S("p"), attr.N("-1.5"), store.KeyS, store.KeyN},
		{"S B", attr.S("p"), attr.B{0, 1, 2}, "", store.KeyB},
		{"N S", attr.N("12"), attr.S("s"), store.KeyN, ""},
		{"B N", attr.B{0xff, 0x00}, attr.N("3"), store.KeyB, store.KeyN},
		{"unicode", attr.S("ключ 😀"), attr.S("\uFF61"), "", ""},
	}
	for i, k := range keys {
		tbl := store.Table{Name: "storetest_keys" + strconv.Itoa(i), PartitionKey: "pk", SortKey: "sk", PartitionType: k.pkt, SortType: k.skt}
		createTable(t, s, tbl)
		it := attr.Item{"pk": k.pk, "sk": k.sk, "v": attr.S(k.name)}
		put(t, s, tbl, it)
		wantItem(t, s, tbl, it)
		wantScan(t, s, tbl, 0, []attr.Item{it})
		wantNoErr(t, k.name+": Delete", s.Delete(t.Context(), tbl, it, store.Cond{}))
		wantMissing(t, s, tbl, it)
	}
}

func testNumberKeys(t *testing.T, s store.Store) {
	// DynamoDB compares numbers by value: 10, 10.0 and 1e1 are one key.
	tbl := store.Table{Name: "storetest_numbers", PartitionKey: "pk", PartitionType: store.KeyN}
	createTable(t, s, tbl)
	put(t, s, tbl, attr.Item{"pk": attr.N("10"), "v": attr.S("first")})
	for _, n := range []string{"10", "10.0", "1e1", "010", "+10"} {
		got := get(t, s, tbl, attr.Item{"pk": attr.N(n)})
		if !attr.Equal(got["v"], attr.S("first")) {
			t.Fatalf("Get(pk=N %q) = %v", n, got)
		}
	}
	put(t, s, tbl, attr.Item{"pk": attr.N("1.0E1"), "v": attr.S("second")})
	wantItem(t, s, tbl, attr.Item{"pk": attr.N("10"), "v": attr.S("second")})
	wantScan(t, s, tbl, 0, []attr.Item{{"pk": attr.N("10"), "v": attr.S("second")}})
}

func testGetIgnoresNonKeyAttributes(t *testing.T, s store.Store) {
	createTable(t, s, rangeTable)
	it := attr.Item{"pk": attr.S("p"), "sk": attr.S("s"), "v": attr.N("1")}
	put(t, s, rangeTable, it)
	// Get and Delete use only the key attributes of what they are given.
	got := get(t, s, rangeTable, attr.Item{"pk": attr.S("p"), "sk": attr.S("s"), "v": attr.N("999"), "x": attr.Bool(true)})
	if !itemsEqual(got, it) {
		t.Fatalf("Get with extra attributes = %v, want %v", got, it)
	}
	wantNoErr(t, "Delete with extra attributes",
		s.Delete(t.Context(), rangeTable, attr.Item{"pk": attr.S("p"), "sk": attr.S("s"), "other": attr.S("z")}, store.Cond{}))
	wantMissing(t, s, rangeTable, it)
}

func testPutReplaces(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	put(t, s, hashTable, attr.Item{"pk": attr.S("a"), "x": attr.N("1"), "y": attr.S("old")})
	// Put replaces the whole item: y is gone, not merged.
	second := attr.Item{"pk": attr.S("a"), "x": attr.N("2"), "z": attr.Bool(true)}
	put(t, s, hashTable, second)
	wantItem(t, s, hashTable, second)
	got := get(t, s, hashTable, second)
	if _, ok := got["y"]; ok {
		t.Fatalf("Put merged instead of replacing: %v", got)
	}
	// Replacing with a different type for the same attribute.
	third := attr.Item{"pk": attr.S("a"), "x": attr.S("two")}
	put(t, s, hashTable, third)
	wantItem(t, s, hashTable, third)
	wantScan(t, s, hashTable, 0, []attr.Item{third})
}

func testSortKey(t *testing.T, s store.Store) {
	createTable(t, s, rangeTable)
	a1 := attr.Item{"pk": attr.S("a"), "sk": attr.S("1"), "v": attr.S("a1")}
	a2 := attr.Item{"pk": attr.S("a"), "sk": attr.S("2"), "v": attr.S("a2")}
	b1 := attr.Item{"pk": attr.S("b"), "sk": attr.S("1"), "v": attr.S("b1")}
	// Keys whose concatenations collide must still be distinct items.
	c1 := attr.Item{"pk": attr.S("ab"), "sk": attr.S("c"), "v": attr.S("ab|c")}
	c2 := attr.Item{"pk": attr.S("a"), "sk": attr.S("bc"), "v": attr.S("a|bc")}
	all := []attr.Item{a1, a2, b1, c1, c2}
	for _, it := range all {
		put(t, s, rangeTable, it)
	}
	for _, it := range all {
		wantItem(t, s, rangeTable, it)
	}
	wantScan(t, s, rangeTable, 0, all)

	// Replacing one sort key leaves its partition siblings alone.
	a2b := attr.Item{"pk": attr.S("a"), "sk": attr.S("2"), "v": attr.S("a2 again")}
	put(t, s, rangeTable, a2b)
	wantItem(t, s, rangeTable, a1)
	wantItem(t, s, rangeTable, a2b)

	// Deleting one sort key leaves the others.
	wantNoErr(t, "Delete a1", s.Delete(t.Context(), rangeTable, a1, store.Cond{}))
	wantMissing(t, s, rangeTable, a1)
	wantItem(t, s, rangeTable, a2b)
	wantItem(t, s, rangeTable, b1)
	wantScan(t, s, rangeTable, 0, []attr.Item{a2b, b1, c1, c2})
}

func testTablesAreSeparate(t *testing.T, s store.Store) {
	other := store.Table{Name: "storetest_other", PartitionKey: "pk"}
	createTable(t, s, hashTable)
	createTable(t, s, other)
	it := attr.Item{"pk": attr.S("same"), "v": attr.S("hash")}
	put(t, s, hashTable, it)
	wantMissing(t, s, other, it)
	wantScan(t, s, other, 0, nil)
	it2 := attr.Item{"pk": attr.S("same"), "v": attr.S("other")}
	put(t, s, other, it2)
	wantItem(t, s, hashTable, it)
	wantItem(t, s, other, it2)
	wantNoErr(t, "Delete", s.Delete(t.Context(), other, it2, store.Cond{}))
	wantItem(t, s, hashTable, it)
}

func testItemsAreCopies(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	b := attr.B{1, 2, 3}
	l := attr.L{attr.S("x")}
	it := attr.Item{"pk": attr.S("a"), "b": b, "l": l}
	put(t, s, hashTable, it)
	// Changing what was passed to Put must not change what is stored.
	b[0] = 99
	l[0] = attr.S("changed")
	it["new"] = attr.S("added")
	want := attr.Item{"pk": attr.S("a"), "b": attr.B{1, 2, 3}, "l": attr.L{attr.S("x")}}
	wantItem(t, s, hashTable, want)
	// Nor must changing what Get returned.
	got := get(t, s, hashTable, want)
	got["b"].(attr.B)[0] = 42
	got["l"].(attr.L)[0] = attr.S("changed")
	got["new"] = attr.S("added")
	wantItem(t, s, hashTable, want)
}

// ---- conditions ----

func testCondAbsent(t *testing.T, s store.Store) {
	for _, tbl := range []store.Table{hashTable, rangeTable} {
		t.Run(tbl.Name, func(t *testing.T) {
			createTable(t, s, tbl)
			ctx := t.Context()
			first := attr.Item{"pk": attr.S("k"), "sk": attr.S("s"), "v": attr.S("first")}
			wantNoErr(t, "Put Absent on missing item", s.Put(ctx, tbl, first, store.Cond{Absent: true}))
			wantItem(t, s, tbl, first)

			second := attr.Item{"pk": attr.S("k"), "sk": attr.S("s"), "v": attr.S("second"), "extra": attr.N("1")}
			wantErrIs(t, "Put Absent on present item", s.Put(ctx, tbl, second, store.Cond{Absent: true}), store.ErrConflict)
			wantItem(t, s, tbl, first) // nothing written

			if tbl.SortKey != "" {
				// Another sort key in the same partition is absent.
				sib := attr.Item{"pk": attr.S("k"), "sk": attr.S("t"), "v": attr.S("sibling")}
				wantNoErr(t, "Put Absent on sibling", s.Put(ctx, tbl, sib, store.Cond{Absent: true}))
				wantItem(t, s, tbl, sib)
				wantItem(t, s, tbl, first)
			}

			// After a delete the key is absent again.
			wantNoErr(t, "Delete", s.Delete(ctx, tbl, first, store.Cond{}))
			wantNoErr(t, "Put Absent after delete", s.Put(ctx, tbl, second, store.Cond{Absent: true}))
			wantItem(t, s, tbl, second)
		})
	}
}

func testCondEquals(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	ctx := t.Context()
	key := attr.Item{"pk": attr.S("k")}
	v1 := attr.Item{"pk": attr.S("k"), "v": attr.N("1"), "tag": attr.S("one")}
	v2 := attr.Item{"pk": attr.S("k"), "v": attr.N("2"), "tag": attr.S("two")}

	// Missing item: an attribute condition cannot hold, nothing is written.
	err := s.Put(ctx, hashTable, v1, store.Cond{Attr: "v", Equals: attr.N("0")})
	wantErrIs(t, "Put Equals on missing item", err, store.ErrConflict)
	wantMissing(t, s, hashTable, key)

	put(t, s, hashTable, v1)

	// Different value.
	err = s.Put(ctx, hashTable, v2, store.Cond{Attr: "v", Equals: attr.N("5")})
	wantErrIs(t, "Put Equals different value", err, store.ErrConflict)
	wantItem(t, s, hashTable, v1)

	// Same value, different type.
	err = s.Put(ctx, hashTable, v2, store.Cond{Attr: "v", Equals: attr.S("1")})
	wantErrIs(t, "Put Equals different type", err, store.ErrConflict)
	wantItem(t, s, hashTable, v1)

	// Attribute the item does not have.
	err = s.Put(ctx, hashTable, v2, store.Cond{Attr: "nope", Equals: attr.N("1")})
	wantErrIs(t, "Put Equals missing attribute", err, store.ErrConflict)
	wantItem(t, s, hashTable, v1)

	// Equal value: written.
	wantNoErr(t, "Put Equals same value", s.Put(ctx, hashTable, v2, store.Cond{Attr: "v", Equals: attr.N("1")}))
	wantItem(t, s, hashTable, v2)

	// Numbers compare by value, as in DynamoDB.
	v3 := attr.Item{"pk": attr.S("k"), "v": attr.N("3")}
	wantNoErr(t, "Put Equals number by value", s.Put(ctx, hashTable, v3, store.Cond{Attr: "v", Equals: attr.N("2.0")}))
	wantItem(t, s, hashTable, v3)
	testCondEqualsTypes(t, s)
}

// testCondEqualsTypes checks conditions on non-key attributes of other
// types, over the item testCondEquals left.
func testCondEqualsTypes(t *testing.T, s store.Store) {
	ctx := t.Context()
	rich := attr.Item{
		"pk":  attr.S("k"),
		"s":   attr.S("str"),
		"b":   attr.B{1, 2},
		"ss":  attr.SS{"x", "y"},
		"m":   attr.M{"a": attr.N("1")},
		"l":   attr.L{attr.Bool(true)},
		"tag": attr.S("rich"),
	}
	wantNoErr(t, "Put rich", s.Put(ctx, hashTable, rich, store.Cond{Attr: "v", Equals: attr.N("3")}))
	for _, c := range []store.Cond{
		{Attr: "s", Equals: attr.S("str")},
		{Attr: "b", Equals: attr.B{1, 2}},
		{Attr: "pk", Equals: attr.S("k")},
	} {
		wantNoErr(t, fmt.Sprintf("Put with holding %v", c), s.Put(ctx, hashTable, rich, c))
	}
	for _, c := range []store.Cond{
		{Attr: "s", Equals: attr.S("STR")},
		{Attr: "b", Equals: attr.B{1, 2, 3}},
		{Attr: "ss", Equals: attr.S("x")}, // another type never equals
		{Attr: "pk", Equals: attr.S("other")},
	} {
		changed := attr.Item{"pk": attr.S("k"), "tag": attr.S("must not be written")}
		wantErrIs(t, fmt.Sprintf("Put with failing %v", c), s.Put(ctx, hashTable, changed, c), store.ErrConflict)
		wantItem(t, s, hashTable, rich)
	}
}

func testCondInvalid(t *testing.T, s store.Store) {
	// A condition Cond.Check rejects is an error (not a silent success),
	// and nothing is written or deleted.
	createTable(t, s, hashTable)
	ctx := t.Context()
	bad := []store.Cond{
		{Absent: true, Attr: "v", Equals: attr.N("1")},
		{Attr: "v"},
		// Conditions compare S, N or B values only: backends disagree on
		// how sets, lists and maps compare.
		{Attr: "v", Equals: attr.SS{"x"}},
		{Attr: "v", Equals: attr.M{"a": attr.N("1")}},
		{Attr: "v", Equals: attr.L{attr.Bool(true)}},
		{Attr: "v", Equals: attr.Bool(true)},
	}
	for _, c := range bad {
		it := attr.Item{"pk": attr.S("new"), "v": attr.N("1")}
		if err := s.Put(ctx, hashTable, it, c); err == nil {
			t.Fatalf("Put with invalid %+v: nil error", c)
		}
		wantMissing(t, s, hashTable, it)
	}
	old := attr.Item{"pk": attr.S("old"), "v": attr.N("1")}
	put(t, s, hashTable, old)
	for _, c := range bad {
		if err := s.Put(ctx, hashTable, attr.Item{"pk": attr.S("old")}, c); err == nil {
			t.Fatalf("Put with invalid %+v: nil error", c)
		}
		if err := s.Delete(ctx, hashTable, old, c); err == nil {
			t.Fatalf("Delete with invalid %+v: nil error", c)
		}
		wantItem(t, s, hashTable, old)
	}
}

// ---- Delete ----

func testDelete(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	ctx := t.Context()
	it := attr.Item{"pk": attr.S("a"), "v": attr.S("x")}
	put(t, s, hashTable, it)
	wantNoErr(t, "Delete present", s.Delete(ctx, hashTable, attr.Item{"pk": attr.S("a")}, store.Cond{}))
	wantMissing(t, s, hashTable, it)
	// Missing item, zero Cond: not an error, twice.
	wantNoErr(t, "Delete deleted item", s.Delete(ctx, hashTable, it, store.Cond{}))
	wantNoErr(t, "Delete never-written item", s.Delete(ctx, hashTable, attr.Item{"pk": attr.S("never")}, store.Cond{}))
	wantScan(t, s, hashTable, 0, nil)
	// The key can be written again.
	put(t, s, hashTable, it)
	wantItem(t, s, hashTable, it)
}

func testDeleteConditional(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	ctx := t.Context()
	it := attr.Item{"pk": attr.S("a"), "v": attr.N("1")}
	put(t, s, hashTable, it)

	// Absent on a present item fails and deletes nothing.
	wantErrIs(t, "Delete Absent on present", s.Delete(ctx, hashTable, it, store.Cond{Absent: true}), store.ErrConflict)
	wantItem(t, s, hashTable, it)

	// Different value: conflict, nothing deleted.
	wantErrIs(t, "Delete Equals different", s.Delete(ctx, hashTable, it, store.Cond{Attr: "v", Equals: attr.N("2")}), store.ErrConflict)
	wantItem(t, s, hashTable, it)
	wantErrIs(t, "Delete Equals missing attribute", s.Delete(ctx, hashTable, it, store.Cond{Attr: "w", Equals: attr.N("1")}), store.ErrConflict)
	wantItem(t, s, hashTable, it)

	// Equal value: deleted.
	wantNoErr(t, "Delete Equals same", s.Delete(ctx, hashTable, it, store.Cond{Attr: "v", Equals: attr.N("1")}))
	wantMissing(t, s, hashTable, it)

	// On a missing item an attribute condition cannot hold.
	wantErrIs(t, "Delete Equals on missing", s.Delete(ctx, hashTable, it, store.Cond{Attr: "v", Equals: attr.N("1")}), store.ErrConflict)
	// Absent on a missing item holds: a no-op, not an error.
	wantNoErr(t, "Delete Absent on missing", s.Delete(ctx, hashTable, it, store.Cond{Absent: true}))
	wantMissing(t, s, hashTable, it)
}

// ---- validation ----

func testTooLarge(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	ctx := t.Context()
	// "pk" + "big" + "data" is 2+3+4 bytes of names; "big" is 3 bytes.
	fixed := len("pk") + len("big") + len("data")
	sized := func(n int) attr.Item {
		return attr.Item{"pk": attr.S("big"), "data": attr.B(make([]byte, n-fixed))}
	}
	if got := store.ItemSize(sized(store.MaxItemSize)); got != store.MaxItemSize {
		t.Fatalf("test setup: ItemSize = %d, want %d", got, store.MaxItemSize)
	}

	// One byte over: ErrTooLarge, nothing written, with or without a Cond.
	over := sized(store.MaxItemSize + 1)
	wantErrIs(t, "Put over limit", s.Put(ctx, hashTable, over, store.Cond{}), store.ErrTooLarge)
	wantMissing(t, s, hashTable, over)
	wantErrIs(t, "Put over limit, Absent", s.Put(ctx, hashTable, over, store.Cond{Absent: true}), store.ErrTooLarge)
	wantMissing(t, s, hashTable, over)
	huge := attr.Item{"pk": attr.S("big"), "data": attr.S(strings.Repeat("x", 2*store.MaxItemSize))}
	wantErrIs(t, "Put far over limit", s.Put(ctx, hashTable, huge, store.Cond{}), store.ErrTooLarge)
	wantMissing(t, s, hashTable, huge)
	wantScan(t, s, hashTable, 0, nil)

	// Exactly at the limit is accepted and round-trips.
	at := sized(store.MaxItemSize)
	wantNoErr(t, "Put at limit", s.Put(ctx, hashTable, at, store.Cond{}))
	wantItem(t, s, hashTable, at)

	// A too-large replacement leaves the old item intact.
	small := attr.Item{"pk": attr.S("big"), "data": attr.B{1}}
	put(t, s, hashTable, small)
	wantErrIs(t, "Put over limit replacing", s.Put(ctx, hashTable, over, store.Cond{}), store.ErrTooLarge)
	wantItem(t, s, hashTable, small)

	// Many attributes adding up over the limit, none large alone.
	many := attr.Item{"pk": attr.S("many")}
	for i := 0; store.ItemSize(many) <= store.MaxItemSize; i++ {
		many[fmt.Sprintf("a%06d", i)] = attr.S(strings.Repeat("y", 1000))
	}
	wantErrIs(t, "Put many attributes over limit", s.Put(ctx, hashTable, many, store.Cond{}), store.ErrTooLarge)
	wantMissing(t, s, hashTable, many)
}

func testMissingKeyAttribute(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	createTable(t, s, rangeTable)
	ctx := t.Context()
	cases := []struct {
		name string
		tbl  store.Table
		it   attr.Item
	}{
		{"no partition key", hashTable, attr.Item{"v": attr.S("x")}},
		{"partition key under other name", hashTable, attr.Item{"PK": attr.S("x")}},
		{"no sort key", rangeTable, attr.Item{"pk": attr.S("x"), "v": attr.S("x")}},
		{"no partition key, sort key", rangeTable, attr.Item{"sk": attr.S("x")}},
		{"partition key Bool", hashTable, attr.Item{"pk": attr.Bool(true)}},
		{"partition key Null", hashTable, attr.Item{"pk": attr.Null{}}},
		{"partition key SS", hashTable, attr.Item{"pk": attr.SS{"a"}}},
		{"partition key M", hashTable, attr.Item{"pk": attr.M{"a": attr.S("b")}}},
		{"sort key L", rangeTable, attr.Item{"pk": attr.S("x"), "sk": attr.L{attr.S("b")}}},
	}
	for _, tc := range cases {
		err := s.Put(ctx, tc.tbl, tc.it, store.Cond{})
		if err == nil {
			t.Errorf("%s: Put: nil error", tc.name)
		}
		err = s.Put(ctx, tc.tbl, tc.it, store.Cond{Absent: true})
		if err == nil {
			t.Errorf("%s: Put Absent: nil error", tc.name)
		}
		it, err := s.Get(ctx, tc.tbl, tc.it)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Get = %v, %v; want an error other than ErrNotFound", tc.name, it, err)
		}
		if err := s.Delete(ctx, tc.tbl, tc.it, store.Cond{}); err == nil {
			t.Errorf("%s: Delete: nil error", tc.name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	wantScan(t, s, hashTable, 0, nil)
	wantScan(t, s, rangeTable, 0, nil)
}

func testCanceledContext(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	old := attr.Item{"pk": attr.S("a"), "v": attr.S("old")}
	put(t, s, hashTable, old)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, hashTable, attr.Item{"pk": attr.S("a"), "v": attr.S("new")}, store.Cond{}); err == nil {
		t.Error("Put with canceled context: nil error")
	}
	if err := s.Put(ctx, hashTable, attr.Item{"pk": attr.S("b")}, store.Cond{}); err == nil {
		t.Error("Put new item with canceled context: nil error")
	}
	if err := s.Delete(ctx, hashTable, old, store.Cond{}); err == nil {
		t.Error("Delete with canceled context: nil error")
	}
	if _, err := s.Get(ctx, hashTable, old); err == nil {
		t.Error("Get with canceled context: nil error")
	}
	if _, err := s.Scan(ctx, hashTable, nil, 0); err == nil {
		t.Error("Scan with canceled context: nil error")
	}
	// Whatever the backend did, a canceled call that failed wrote nothing.
	wantItem(t, s, hashTable, old)
	wantMissing(t, s, hashTable, attr.Item{"pk": attr.S("b")})
}

// ---- Scan ----

func testScanEmpty(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	createTable(t, s, rangeTable)
	for _, tbl := range []store.Table{hashTable, rangeTable} {
		for _, limit := range []int{-1, 0, 1, 7, 1000} {
			page, err := s.Scan(t.Context(), tbl, nil, limit)
			if err != nil {
				t.Fatalf("Scan(%s, limit %d) of empty table: %v", tbl.Name, limit, err)
			}
			if len(page.Items) != 0 || page.Next != nil {
				t.Fatalf("Scan(%s, limit %d) of empty table = %d items, Next %x; want none, nil",
					tbl.Name, limit, len(page.Items), page.Next)
			}
		}
	}
	// A table whose items were all deleted is empty again.
	it := attr.Item{"pk": attr.S("gone")}
	put(t, s, hashTable, it)
	wantNoErr(t, "Delete", s.Delete(t.Context(), hashTable, it, store.Cond{}))
	wantScan(t, s, hashTable, 3, nil)
}

// putMany writes items on a few goroutines.
func putMany(t *testing.T, s store.Store, tbl store.Table, items []attr.Item) {
	t.Helper()
	const workers = 8
	runParallel(t, workers, func(w int) error {
		for i := w; i < len(items); i += workers {
			if err := s.Put(t.Context(), tbl, items[i], store.Cond{}); err != nil {
				return fmt.Errorf("put %v: %w", items[i], err)
			}
		}
		return nil
	})
}

func testScanPagination(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	const n, limit = 250, 7
	items := make([]attr.Item, n)
	for i := range items {
		items[i] = attr.Item{"pk": attr.S(fmt.Sprintf("item-%03d", i)), "i": attr.N(strconv.Itoa(i))}
	}
	putMany(t, s, hashTable, items)

	// Follow cursors by hand: every page at most limit items, each item
	// seen exactly once, and the scan ends with a nil Next.
	seen := make([]int, n)
	var cursor []byte
	pages := 0
	for {
		pages++
		if pages > 10*n {
			t.Fatalf("Scan does not end after %d pages", pages)
		}
		page, err := s.Scan(t.Context(), hashTable, cursor, limit)
		if err != nil {
			t.Fatalf("Scan page %d: %v", pages, err)
		}
		if len(page.Items) > limit {
			t.Fatalf("Scan page %d: %d items, limit %d", pages, len(page.Items), limit)
		}
		for _, it := range page.Items {
			v, ok := it["i"].(attr.N)
			if !ok {
				t.Fatalf("Scan page %d: item without i: %v", pages, it)
			}
			i, err := strconv.Atoi(string(v))
			if err != nil || i < 0 || i >= n {
				t.Fatalf("Scan page %d: bad item %v", pages, it)
			}
			if !itemsEqual(it, items[i]) {
				t.Fatalf("Scan page %d: item %v, want %v", pages, it, items[i])
			}
			seen[i]++
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("item %d seen %d times", i, c)
		}
	}
	if pages < (n+limit-1)/limit {
		t.Errorf("%d pages for %d items at limit %d", pages, n, limit)
	}

	// Other page sizes see the same items.
	for _, l := range []int{1, 249, 250, 251} {
		wantScan(t, s, hashTable, l, items)
	}
}

func testScanDefaultLimit(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	items := make([]attr.Item, 120)
	for i := range items {
		items[i] = attr.Item{"pk": attr.S(strconv.Itoa(i))}
	}
	putMany(t, s, hashTable, items)
	// limit <= 0 means a backend default; following cursors sees all.
	wantScan(t, s, hashTable, 0, items)
	wantScan(t, s, hashTable, -5, items)
}

func testScanSortKeyTable(t *testing.T, s store.Store) {
	createTable(t, s, rangeTable)
	var items []attr.Item
	for p := range 10 {
		for k := range 9 {
			items = append(items, attr.Item{
				"pk": attr.S(fmt.Sprintf("p%d", p)),
				"sk": attr.S(strconv.Itoa(k)),
				"v":  attr.S(fmt.Sprintf("%d/%d", p, k)),
			})
		}
	}
	putMany(t, s, rangeTable, items)
	wantScan(t, s, rangeTable, 4, items)
	wantScan(t, s, rangeTable, 9, items)
}

func testScanAfterDelete(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	items := make([]attr.Item, 40)
	for i := range items {
		items[i] = attr.Item{"pk": attr.S(fmt.Sprintf("k%02d", i))}
	}
	putMany(t, s, hashTable, items)
	var kept []attr.Item
	for i, it := range items {
		if i%3 == 0 {
			wantNoErr(t, "Delete", s.Delete(t.Context(), hashTable, it, store.Cond{}))
		} else {
			kept = append(kept, it)
		}
	}
	wantScan(t, s, hashTable, 5, kept)

	// Deleting the item a cursor points at does not break the scan: the
	// rest of the table is still returned, each item once.
	page, err := s.Scan(t.Context(), hashTable, nil, 5)
	wantNoErr(t, "Scan", err)
	if page.Next == nil || len(page.Items) == 0 {
		t.Fatalf("Scan limit 5 of %d items: %d items, Next %x", len(kept), len(page.Items), page.Next)
	}
	first := map[string]bool{}
	for _, it := range page.Items {
		first[canonKey(t, hashTable, it)] = true
		wantNoErr(t, "Delete", s.Delete(t.Context(), hashTable, it, store.Cond{}))
	}
	var rest []attr.Item
	for _, it := range kept {
		if !first[canonKey(t, hashTable, it)] {
			rest = append(rest, it)
		}
	}
	seen := map[string]int{}
	cursor := page.Next
	for pages := 0; cursor != nil; pages++ {
		if pages > 1000 {
			t.Fatal("Scan does not end")
		}
		p, err := s.Scan(t.Context(), hashTable, cursor, 5)
		wantNoErr(t, "Scan", err)
		for _, it := range p.Items {
			seen[canonKey(t, hashTable, it)]++
		}
		cursor = p.Next
	}
	for _, it := range rest {
		if c := seen[canonKey(t, hashTable, it)]; c != 1 {
			t.Errorf("item %v seen %d times after its page's items were deleted", it, c)
		}
	}
	if len(seen) != len(rest) {
		t.Errorf("scan after deletes saw %d items, want %d", len(seen), len(rest))
	}
}

// ---- concurrency ----

func testConcurrentCounter(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	key := attr.Item{"pk": attr.S("counter")}
	put(t, s, hashTable, attr.Item{"pk": attr.S("counter"), "v": attr.N("0")})

	const workers = 50
	const maxTries = 100000
	var mu sync.Mutex
	var conflicts int
	runParallel(t, workers, func(w int) error {
		ctx := t.Context()
		for try := 0; try < maxTries; try++ {
			cur, err := s.Get(ctx, hashTable, key)
			if err != nil {
				return fmt.Errorf("worker %d: Get: %w", w, err)
			}
			old, ok := cur["v"].(attr.N)
			if !ok {
				return fmt.Errorf("worker %d: counter is %v", w, cur)
			}
			n, err := strconv.Atoi(string(old))
			if err != nil {
				return fmt.Errorf("worker %d: counter %q: %w", w, old, err)
			}
			next := attr.Item{
				"pk":   attr.S("counter"),
				"v":    attr.N(strconv.Itoa(n + 1)),
				"last": attr.N(strconv.Itoa(w)),
			}
			err = s.Put(ctx, hashTable, next, store.Cond{Attr: "v", Equals: old})
			if err == nil {
				return nil
			}
			if !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("worker %d: Put: %w", w, err)
			}
			mu.Lock()
			conflicts++
			mu.Unlock()
		}
		return fmt.Errorf("worker %d: still conflicting after %d tries", w, maxTries)
	})
	got := get(t, s, hashTable, key)
	if !attr.Equal(got["v"], attr.N(strconv.Itoa(workers))) {
		t.Fatalf("counter = %v after %d increments (%d conflicts retried); lost updates", got["v"], workers, conflicts)
	}
}

func testConcurrentCreateIfAbsent(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	const workers = 30
	var mu sync.Mutex
	var winners []int
	runParallel(t, workers, func(w int) error {
		it := attr.Item{"pk": attr.S("once"), "w": attr.N(strconv.Itoa(w))}
		err := s.Put(t.Context(), hashTable, it, store.Cond{Absent: true})
		switch {
		case err == nil:
			mu.Lock()
			winners = append(winners, w)
			mu.Unlock()
			return nil
		case errors.Is(err, store.ErrConflict):
			return nil
		default:
			return fmt.Errorf("worker %d: %w", w, err)
		}
	})
	if len(winners) != 1 {
		t.Fatalf("%d Puts with Absent succeeded on one key, want exactly 1 (winners %v)", len(winners), winners)
	}
	wantItem(t, s, hashTable, attr.Item{"pk": attr.S("once"), "w": attr.N(strconv.Itoa(winners[0]))})
}

func testConcurrentPuts(t *testing.T, s store.Store) {
	createTable(t, s, hashTable)
	createTable(t, s, rangeTable)
	const workers, each = 40, 10
	// Worker w's i-th write: even i to its own partition of hashTable, odd
	// i to one partition of rangeTable that every worker writes to, under
	// a sort key no other worker uses.
	write := func(w, i int) (store.Table, attr.Item) {
		if i%2 == 1 {
			return rangeTable, attr.Item{
				"pk": attr.S("shared"),
				"sk": attr.S(strconv.Itoa(w*each + i)),
				"v":  attr.S(fmt.Sprintf("%d-%d", w, i)),
			}
		}
		return hashTable, attr.Item{
			"pk": attr.S(fmt.Sprintf("w%02d-%d", w, i)),
			"v":  attr.S(fmt.Sprintf("%d-%d", w, i)),
		}
	}
	runParallel(t, workers, func(w int) error {
		for i := range each {
			tbl, it := write(w, i)
			if err := s.Put(t.Context(), tbl, it, store.Cond{Absent: true}); err != nil {
				return fmt.Errorf("worker %d Put %d: %w", w, i, err)
			}
		}
		return nil
	})
	var hashItems, rangeItems []attr.Item
	for w := range workers {
		for i := range each {
			tbl, it := write(w, i)
			wantItem(t, s, tbl, it)
			if tbl.Name == rangeTable.Name {
				rangeItems = append(rangeItems, it)
			} else {
				hashItems = append(hashItems, it)
			}
		}
	}
	wantScan(t, s, hashTable, 0, hashItems)
	wantScan(t, s, rangeTable, 0, rangeItems)
}
