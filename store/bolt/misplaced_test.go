package bolt

import (
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// Someone with the database file copies one record's item over another's
// key. Scan and Query report the key each item is found under, so that
// the caller sees an item that is not the record its key names (rather
// than the copied record twice and the other not at all).
func TestPagesReportStorageKeys(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "db")
	tbl := store.Table{Name: "people", PartitionKey: "id", Indexes: []store.Index{{Name: "by_email", Attr: "email"}}}
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.CreateTable(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	a := attr.Item{"id": attr.S("a"), "email": attr.S("a@x")}
	b := attr.Item{"id": attr.S("b"), "email": attr.S("b@x")}
	for _, it := range []attr.Item{a, b} {
		if err := s.Put(ctx, tbl, it, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	// The edit: a's stored bytes under b's key.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	ka, _ := encodeKey(tbl, a)
	kb, _ := encodeKey(tbl, b)
	err = db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketName(tbl.Name))
		return bk.Put(kb, append([]byte(nil), bk.Get(ka)...))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, err := s.Scan(ctx, tbl, nil, 0)
	if err != nil || len(page.Items) != 2 || len(page.Keys) != 2 {
		t.Fatalf("Scan: %+v, %v", page, err)
	}
	for i, it := range page.Items {
		if !attr.Equal(it["id"], attr.S("a")) {
			t.Fatalf("item %d is %v; the edit put a's item under both keys", i, it)
		}
	}
	if !attr.Equal(page.Keys[0]["id"], attr.S("a")) || !attr.Equal(page.Keys[1]["id"], attr.S("b")) {
		t.Errorf("Scan keys %v; want a and b, where the items are stored", page.Keys)
	}
	// The index still points b@x at b's key, which now holds a's item.
	page, err = s.Query(ctx, tbl, "by_email", "b@x", nil, 0)
	if err != nil || len(page.Items) != 1 || !attr.Equal(page.Items[0]["id"], attr.S("a")) || !attr.Equal(page.Keys[0]["id"], attr.S("b")) {
		t.Errorf("Query b@x: items %v under keys %v, %v; want a's item under b's key", page.Items, page.Keys, err)
	}
}
