package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// indexTable has one index over "email" and one over "country".
var indexTable = store.Table{
	Name: "storetest_indexed", PartitionKey: "pk",
	Indexes: []store.Index{{Name: "by_email", Attr: "email"}, {Name: "by_country", Attr: "country"}},
}

// queryAll follows Next cursors of one query until the end.
func queryAll(t *testing.T, s store.Store, tbl store.Table, index, value string, limit int) ([]attr.Item, error) {
	t.Helper()
	var items []attr.Item
	var cursor []byte
	for pages := 0; pages < 10000; pages++ {
		page, err := s.Query(t.Context(), tbl, index, value, cursor, limit)
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(page.Items) > limit {
			return nil, fmt.Errorf("query page of %d items, limit %d", len(page.Items), limit)
		}
		if err := pageKeys(tbl, page); err != nil {
			return nil, fmt.Errorf("query page: %w", err)
		}
		items = append(items, page.Items...)
		if page.Next == nil {
			return items, nil
		}
		cursor = page.Next
	}
	return nil, errors.New("query has no end")
}

// wantQuery fails unless the query returns exactly the items whose pk is in
// pks (compared as whole items with want), allowing index reads to lag for
// up to 10 seconds, as DynamoDB's global secondary indexes may.
func wantQuery(t *testing.T, s store.Store, tbl store.Table, index, value string, limit int, want ...attr.Item) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); ; {
		got, err := queryAll(t, s, tbl, index, value, limit)
		if err != nil {
			t.Fatalf("Query(%s=%q): %v", index, value, err)
		}
		last = sameItems(tbl, got, want)
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Query(%s=%q, limit %d): %s", index, value, limit, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sameItems describes how got differs from want (in any order), or "".
func sameItems(tbl store.Table, got, want []attr.Item) string {
	key := func(it attr.Item) string {
		k, _ := store.KeyOf(tbl, it)
		b, _ := attr.MarshalTyped(attr.M(k))
		return string(b)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d items, want %d", len(got), len(want))
	}
	left := slices.Clone(want)
	for _, g := range got {
		i := slices.IndexFunc(left, func(w attr.Item) bool { return key(w) == key(g) && itemsEqual(w, g) })
		if i < 0 {
			return fmt.Sprintf("unexpected or stale item %v", keyString(tbl, g))
		}
		left = slices.Delete(left, i, i+1)
	}
	return ""
}

func person(pk, email, country string) attr.Item {
	it := attr.Item{"pk": attr.S(pk), "name": attr.S("n-" + pk)}
	if email != "" {
		it["email"] = attr.S(email)
	}
	if country != "" {
		it["country"] = attr.S(country)
	}
	return it
}

func testQuery(t *testing.T, s store.Store) {
	createTable(t, s, indexTable)
	ann := person("ann", "a@x", "NL")
	bob := person("bob", "b@x", "NL")
	cat := person("cat", "", "FR") // not in by_email
	dan := person("dan", "d@x", "")
	for _, it := range []attr.Item{ann, bob, cat, dan} {
		put(t, s, indexTable, it)
	}
	wantQuery(t, s, indexTable, "by_email", "a@x", 0, ann)
	wantQuery(t, s, indexTable, "by_country", "NL", 0, ann, bob)
	wantQuery(t, s, indexTable, "by_country", "FR", 0, cat)
	wantQuery(t, s, indexTable, "by_country", "DE", 0)
	// Values are compared exactly: no prefix or case folding.
	wantQuery(t, s, indexTable, "by_email", "a@", 0)
	wantQuery(t, s, indexTable, "by_email", "A@X", 0)

	// Replacing an item moves it between index values; dropping the
	// attribute takes it out of the index; deleting takes it out of all.
	bob2 := person("bob", "b2@x", "FR")
	put(t, s, indexTable, bob2)
	ann2 := person("ann", "", "NL")
	put(t, s, indexTable, ann2)
	wantNoErr(t, "Delete dan", s.Delete(t.Context(), indexTable, dan, store.Cond{}))
	wantQuery(t, s, indexTable, "by_country", "NL", 0, ann2)
	wantQuery(t, s, indexTable, "by_country", "FR", 0, cat, bob2)
	wantQuery(t, s, indexTable, "by_email", "b@x", 0)
	wantQuery(t, s, indexTable, "by_email", "b2@x", 0, bob2)
	wantQuery(t, s, indexTable, "by_email", "a@x", 0)
	wantQuery(t, s, indexTable, "by_email", "d@x", 0)

	// A failed conditional write changes no index.
	err := s.Put(t.Context(), indexTable, person("cat", "c@x", "DE"), store.Cond{Absent: true})
	wantErrIs(t, "Put existing with Absent", err, store.ErrConflict)
	wantQuery(t, s, indexTable, "by_country", "DE", 0)
	wantQuery(t, s, indexTable, "by_country", "FR", 0, cat, bob2)

	if _, err := s.Query(t.Context(), indexTable, "no_such_index", "x", nil, 0); err == nil {
		t.Fatal("Query on an index the table does not have: no error")
	}
}

func testQueryPagination(t *testing.T, s store.Store) {
	createTable(t, s, indexTable)
	var same []attr.Item
	for i := range 23 {
		it := person(fmt.Sprintf("p%02d", i), fmt.Sprintf("e%d", i), "NL")
		same = append(same, it)
		put(t, s, indexTable, it)
		put(t, s, indexTable, person(fmt.Sprintf("q%02d", i), "", "BE"))
	}
	for _, limit := range []int{0, 1, 5, 23, 100} {
		wantQuery(t, s, indexTable, "by_country", "NL", limit, same...)
	}
}

func testQueryBadIndexValue(t *testing.T, s store.Store) {
	createTable(t, s, indexTable)
	good := person("k", "k@x", "NL")
	put(t, s, indexTable, good)
	// DynamoDB refuses an item whose index attribute has the wrong type or
	// an empty or over-long value; so does every backend, writing nothing.
	for name, v := range map[string]attr.Value{
		"N":       attr.N("1"),
		"B":       attr.B{1},
		"empty S": attr.S(""),
		"2049 B":  attr.S(strings.Repeat("e", store.MaxIndexValueLen+1)),
	} {
		bad := person("k", "", "NL")
		bad["email"] = v
		if err := s.Put(t.Context(), indexTable, bad, store.Cond{}); err == nil {
			t.Errorf("Put with a %s index value: no error", name)
		}
	}
	wantItem(t, s, indexTable, good)
	wantQuery(t, s, indexTable, "by_email", "k@x", 0, good)
	long := person("l", strings.Repeat("e", store.MaxIndexValueLen), "")
	put(t, s, indexTable, long)
	wantQuery(t, s, indexTable, "by_email", strings.Repeat("e", store.MaxIndexValueLen), 0, long)
}

func testAddIndex(t *testing.T, s store.Store) {
	plain := store.Table{Name: indexTable.Name, PartitionKey: "pk"}
	createTable(t, s, plain)
	ann := person("ann", "a@x", "NL")
	bob := person("bob", "b@x", "NL")
	put(t, s, plain, ann)
	put(t, s, plain, bob)
	// Creating the table again with indexes adds them, filled from the
	// items already stored.
	createTable(t, s, indexTable)
	createTable(t, s, indexTable) // and again: idempotent
	wantQuery(t, s, indexTable, "by_country", "NL", 0, ann, bob)
	wantQuery(t, s, indexTable, "by_email", "b@x", 0, bob)
	cat := person("cat", "c@x", "NL")
	put(t, s, plain, cat) // maintained whatever Table value the writer passes
	wantQuery(t, s, indexTable, "by_country", "NL", 0, ann, bob, cat)
}

// testAddIndexSkipsBadValues: an index added over an attribute some items
// hold with another type leaves those items out of that index only; they
// stay in the others, and replacing or deleting them leaves no stale entry.
func testAddIndexSkipsBadValues(t *testing.T, s store.Store) {
	byEmail := store.Table{Name: indexTable.Name, PartitionKey: "pk", Indexes: indexTable.Indexes[:1]}
	createTable(t, s, byEmail)
	odd := attr.Item{"pk": attr.S("odd"), "email": attr.S("a@x"), "country": attr.N("31")}
	put(t, s, byEmail, odd)
	createTable(t, s, indexTable) // adds by_country; odd's country is a number
	wantQuery(t, s, indexTable, "by_email", "a@x", 0, odd)
	// A new write must fit every index (DynamoDB refuses it otherwise).
	if err := s.Put(t.Context(), indexTable, odd, store.Cond{}); err == nil {
		t.Fatal("Put of an item whose indexed attribute is a number: no error")
	}
	replaced := attr.Item{"pk": attr.S("odd"), "email": attr.S("new@x"), "country": attr.S("NL")}
	put(t, s, indexTable, replaced)
	wantQuery(t, s, indexTable, "by_email", "a@x", 0)
	wantQuery(t, s, indexTable, "by_email", "new@x", 0, replaced)
	wantQuery(t, s, indexTable, "by_country", "NL", 0, replaced)
	wantNoErr(t, "Delete", s.Delete(t.Context(), indexTable, replaced, store.Cond{}))
	wantQuery(t, s, indexTable, "by_email", "new@x", 0)
	wantQuery(t, s, indexTable, "by_country", "NL", 0)
}
