package storetest

import (
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// testSchemaMismatch: creating an existing table with another key schema
// (names or types) is an error, not a silent reuse.
func testSchemaMismatch(t *testing.T, s store.Store) {
	tbl := store.Table{Name: "storetest_schema", PartitionKey: "id"}
	createTable(t, s, tbl)
	for _, other := range []store.Table{
		{Name: tbl.Name, PartitionKey: "other"},
		{Name: tbl.Name, PartitionKey: "id", SortKey: "sk"},
		{Name: tbl.Name, PartitionKey: "id", PartitionType: store.KeyN},
		{Name: tbl.Name, PartitionKey: "id", PartitionType: store.KeyB},
	} {
		if err := s.CreateTable(t.Context(), other); err == nil {
			t.Errorf("CreateTable(%+v) over an existing table with another schema: no error", other)
		}
	}
	createTable(t, s, store.Table{Name: tbl.Name, PartitionKey: "id", PartitionType: store.KeyS}) // the same, spelled out
}

// testRefusedValues: what DynamoDB refuses or would silently change —
// strings that are not UTF-8 (a JSON encoder replaces the bad bytes),
// empty sets — every backend refuses, writing nothing and never echoing
// the value.
func testRefusedValues(t *testing.T, s store.Store) {
	createTable(t, s, indexTable)
	good := attr.Item{"pk": attr.S("k"), "v": attr.S("kept")}
	put(t, s, indexTable, good)
	const bad = "cnry\xffq7Zt" // q7Zt marks the value in any quoting
	for name, it := range map[string]attr.Item{
		"S":              {"pk": attr.S("k"), "v": attr.S(bad)},
		"attribute name": {"pk": attr.S("k"), bad: attr.S("x")},
		"SS member":      {"pk": attr.S("k"), "v": attr.SS{"ok", bad}},
		"nested S":       {"pk": attr.S("k"), "v": attr.L{attr.M{"a": attr.S(bad)}}},
		"map key":        {"pk": attr.S("k"), "v": attr.M{bad: attr.S("x")}},
		"empty SS":       {"pk": attr.S("k"), "v": attr.SS{}},
		"empty NS":       {"pk": attr.S("k"), "v": attr.NS{}},
		"empty BS":       {"pk": attr.S("k"), "v": attr.BS{}},
		"key":            {"pk": attr.S("k\xfe"), "v": attr.S("x")},
		"index value":    {"pk": attr.S("k"), "email": attr.S(bad)},
	} {
		err := s.Put(t.Context(), indexTable, it, store.Cond{})
		if err == nil {
			t.Errorf("Put with a refused %s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "q7Zt") {
			t.Errorf("Put with a refused %s: the error echoes the value: %v", name, err)
		}
	}
	wantItem(t, s, indexTable, good)
	wantScan(t, s, indexTable, 0, []attr.Item{good})
	if _, err := s.Get(t.Context(), indexTable, attr.Item{"pk": attr.S("k\xff")}); err == nil {
		t.Error("Get with a key that is not UTF-8: no error")
	}
	for _, v := range []string{"", "a\xff", strings.Repeat("e", store.MaxIndexValueLen+1)} {
		if _, err := s.Query(t.Context(), indexTable, "by_email", v, nil, 0); err == nil {
			t.Errorf("Query for a %d-byte value no item can hold: no error", len(v))
		}
	}
}
