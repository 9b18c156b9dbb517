package dynamo_test

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/dynamo"
)

// TestKeySchema: the key schema of a table made elsewhere is read back,
// with its key types; a missing table is ErrNotFound.
func TestKeySchema(t *testing.T) {
	t.Parallel()
	s := open(t)
	for _, want := range []store.Table{
		{Name: "plain", PartitionKey: "item_id", PartitionType: store.KeyS},
		{Name: "sorted", PartitionKey: "n", PartitionType: store.KeyN, SortKey: "b", SortType: store.KeyB},
	} {
		if err := s.CreateTable(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := s.KeySchema(t.Context(), want.Name)
		if err != nil || got.Name != want.Name || got.PartitionKey != want.PartitionKey || got.PartitionType.Type() != want.PartitionType ||
			got.SortKey != want.SortKey || got.SortType.Type() != want.SortType.Type() {
			t.Errorf("KeySchema(%s) = %+v, %v; want %+v", want.Name, got, err, want)
		}
	}
	if _, err := s.KeySchema(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeySchema of a missing table: %v, want ErrNotFound", err)
	}
}

// TestDeleteUnchanged: an item is deleted only while every attribute it
// was read with still holds that value: a change to any one of them (of
// any type), its removal, or the item's absence is ErrConflict.
func TestDeleteUnchanged(t *testing.T) {
	t.Parallel()
	s := open(t)
	tbl := store.Table{Name: "src", PartitionKey: "id"}
	if err := s.CreateTable(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	read := attr.Item{
		"id": attr.S("a"), "s": attr.S("x"), "n": attr.N("1.50"), "b": attr.B{1, 2}, "t": attr.Bool(true), "z": attr.Null{},
		"l": attr.L{attr.S("p"), attr.N("2")}, "m": attr.M{"k": attr.S("v")}, "ss": attr.SS{"q", "r"}, "e": attr.S(""),
	}
	changes := []struct {
		name string
		v    attr.Value
	}{
		{"s", attr.S("y")}, {"n", attr.N("1.51")}, {"b", attr.B{1, 3}}, {"t", attr.Bool(false)}, {"z", attr.S("now set")},
		{"l", attr.L{attr.S("p")}}, {"l", attr.L{attr.S("p"), attr.S("2")}}, {"l", attr.S("pp")},
		{"m", attr.M{"k": attr.S("w")}}, {"m", attr.M{"k": attr.S("v"), "k2": attr.S("v")}}, {"m", attr.M{"j": attr.S("v")}},
		{"ss", attr.SS{"q"}}, {"e", attr.S("filled")},
	}
	for _, c := range changes {
		stored := maps.Clone(read)
		stored[c.name] = c.v
		put(t, s, tbl, stored)
		if err := s.DeleteUnchanged(t.Context(), tbl, read); !errors.Is(err, store.ErrConflict) {
			t.Errorf("attribute %s changed to %v: DeleteUnchanged = %v, want ErrConflict", c.name, c.v, err)
		}
		removed := maps.Clone(read)
		delete(removed, c.name)
		put(t, s, tbl, removed)
		if err := s.DeleteUnchanged(t.Context(), tbl, read); !errors.Is(err, store.ErrConflict) {
			t.Errorf("attribute %s removed: DeleteUnchanged = %v, want ErrConflict", c.name, err)
		}
		if _, err := s.Get(t.Context(), tbl, read); err != nil {
			t.Fatalf("the changed item is gone: %v", err)
		}
	}
	checkTooWide(t, s, tbl)
	same := maps.Clone(read)
	same["n"] = attr.N("1.5") // the same number
	same["ss"] = attr.SS{"r", "q"}
	put(t, s, tbl, same)
	if err := s.DeleteUnchanged(t.Context(), tbl, read); err != nil {
		t.Fatalf("DeleteUnchanged of the unchanged item: %v", err)
	}
	if _, err := s.Get(t.Context(), tbl, read); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after DeleteUnchanged: Get = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUnchanged(t.Context(), tbl, read); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteUnchanged of a missing item = %v, want ErrConflict", err)
	}
}

func put(t *testing.T, s *dynamo.Store, tbl store.Table, it attr.Item) {
	t.Helper()
	if err := s.Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// checkTooWide: an item with more attributes than one condition can
// compare is refused with an error of its own, and kept.
func checkTooWide(t *testing.T, s *dynamo.Store, tbl store.Table) {
	t.Helper()
	wide := attr.Item{"id": attr.S("wide")}
	for i := range 300 {
		wide[fmt.Sprintf("attribute%03d", i)] = attr.S("v")
	}
	put(t, s, tbl, wide)
	if err := s.DeleteUnchanged(t.Context(), tbl, wide); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteUnchanged of an item too wide for one condition = %v, want an error of its own", err)
	}
	if _, err := s.Get(t.Context(), tbl, wide); err != nil {
		t.Errorf("the wide item: %v", err)
	}
}
