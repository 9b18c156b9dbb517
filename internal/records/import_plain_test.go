package records_test

import (
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/store"
)

// TestImportPlaintext maps a plaintext table into a /v1 collection: each
// source attribute becomes the record attribute the map names, with its
// JSON type; a numeric key becomes its decimal string; items with
// attributes the map does not name, or values JSON cannot carry, are
// reported and left out. Started again once those are gone from the
// source, the import recognises every record, verifies clean and deletes
// the source items.
func TestImportPlaintext(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	e.src.table = store.Table{Name: "customers_v0", PartitionKey: "customer_id"}
	sc := records.Schema{PartitionKey: "id", Attributes: map[string]string{"country": records.ActionSign}, Searchable: map[string]int{"email": 16}}
	if _, _, err := e.svc.PutCollection(t.Context(), "customers", sc); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"id": "customer_id", "email": "email_address", "name": "full_name", "age": "age", "tags": "tags",
		"profile": "profile", "vip": "vip", "note": "note", "country": "country", "photo": "photo"}
	good, want, bad := plaintextItems()
	for _, it := range good {
		e.src.put(it)
	}
	for _, it := range bad {
		e.src.put(it)
	}
	req := records.ImportRequest{Source: records.ImportSource{Table: "customers_v0"}, Map: m, DeleteSource: true}
	if _, err := e.svc.StartImport(t.Context(), "customers", req); err != nil {
		t.Fatal(err)
	}
	job := waitImport(t, e.svc, "customers")
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "verifying", Items: 7, Imported: 2, Failed: 5, Verified: 2, Unverified: 5})
	if job.Layout != records.LayoutPlaintext || e.src.calls() != 0 {
		t.Errorf("layout %s, %d KMS calls; want plaintext and none", job.Layout, e.src.calls())
	}
	checkProblems(t, problems(t, e.svc, "customers"), map[string]string{
		`{"customer_id":"photo"}`: "unsupported_type", `{"customer_id":"set"}`: "unsupported_type",
		`{"customer_id":"extra"}`: "unmapped_attribute", `{"customer_id":true}`: "missing_key", `{"customer_id":".."}`: "bad_id"}, "importing")
	for id, doc := range want {
		r, err := e.svc.GetRecord(t.Context(), "customers", records.Key{ID: id})
		if err != nil || !attr.Equal(attr.M(r.Doc), attr.M(doc)) {
			t.Errorf("record %s = %v, %v; want %v", id, r.Doc, err, doc)
		}
	}
	page, err := e.svc.ListRecords(t.Context(), "customers", records.Query{Filters: map[string]string{"email": "ann@example.com"}})
	if err != nil || len(page.Records) != 1 || page.Records[0].Key.ID != "c1" {
		t.Errorf("search by email: %+v, %v; want c1", page.Records, err)
	}
	if e.src.len() != 7 {
		t.Errorf("%d source items after an import that was not clean, want all 7", e.src.len())
	}

	e.src.mu.Lock()
	for _, it := range bad {
		delete(e.src.items, keyString(it["customer_id"]))
	}
	e.src.mu.Unlock()
	if _, err := e.svc.StartImport(t.Context(), "customers", req); err != nil {
		t.Fatal(err)
	}
	job = waitImport(t, e.svc, "customers")
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "deleting", Items: 2, Imported: 2, Recognised: 2, Verified: 2, Deleted: 2})
	if e.src.len() != 0 || job.Clean == nil || !*job.Clean {
		t.Errorf("after a clean import with deleteSource: %d source items, clean %v", e.src.len(), job.Clean)
	}
}

// plaintextItems are the items of TestImportPlaintext's source: good ones
// by id with the records they become, and bad ones by their key's JSON.
func plaintextItems() (good, want, bad map[string]attr.Item) {
	good = map[string]attr.Item{
		"c1": {"customer_id": attr.S("c1"), "email_address": attr.S("ann@example.com"), "full_name": attr.S("Ann é"), "age": attr.N("42.0"),
			"tags": attr.L{attr.S("a"), attr.N("1")}, "profile": attr.M{"city": attr.S("Lyon"), "zip": attr.N("69001")},
			"vip": attr.Bool(true), "note": attr.Null{}, "country": attr.S("FR")},
		"17": {"customer_id": attr.N("17"), "email_address": attr.S("bob@example.com")},
	}
	want = map[string]attr.Item{
		"c1": {"id": attr.S("c1"), "email": attr.S("ann@example.com"), "name": attr.S("Ann é"), "age": attr.N("42"),
			"tags": attr.L{attr.S("a"), attr.N("1")}, "profile": attr.M{"city": attr.S("Lyon"), "zip": attr.N("69001")},
			"vip": attr.Bool(true), "note": attr.Null{}, "country": attr.S("FR")},
		"17": {"id": attr.S("17"), "email": attr.S("bob@example.com")},
	}
	bad = map[string]attr.Item{
		`{"customer_id":"photo"}`: {"customer_id": attr.S("photo"), "photo": attr.B{1, 2}},
		`{"customer_id":"set"}`:   {"customer_id": attr.S("set"), "tags": attr.SS{"x"}},
		`{"customer_id":"extra"}`: {"customer_id": attr.S("extra"), "password": attr.S("hunter2")},
		`{"customer_id":true}`:    {"customer_id": attr.Bool(true)},
		`{"customer_id":".."}`:    {"customer_id": attr.S("..")},
	}
	return good, want, bad
}
