package records_test

import (
	"context"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// laggingIndex is a store whose index queries also return stale copies
// of items, as a DynamoDB global secondary index may while it catches up.
type laggingIndex struct {
	*bolt.Store
	stale []attr.Item
}

func (l *laggingIndex) Query(ctx context.Context, t store.Table, index, value string, cursor []byte, limit int) (store.Page, error) {
	p, err := l.Store.Query(ctx, t, index, value, cursor, limit)
	if err != nil {
		return p, err
	}
	p.Items = append(p.Items, l.stale...)
	for _, it := range l.stale { // each stale item stands where it was stored
		k, err := store.KeyOf(t, it)
		if err != nil {
			return p, err
		}
		p.Keys = append(p.Keys, k)
	}
	return p, nil
}

// A search returns what the table holds now, not what a lagging index
// still shows: a record changed or deleted since is not a match.
func TestSearchRechecksLaggingIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	db := &laggingIndex{Store: e.db}
	svc, err := records.Open(t.Context(), db, e.keys(t), hierarchy.NewCache(0, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	sc := records.Schema{PartitionKey: "id", Searchable: map[string]int{"email": 8}}
	if _, _, err := svc.PutCollection(t.Context(), "people", sc); err != nil {
		t.Fatal(err)
	}
	table := store.Table{Name: "col_people", PartitionKey: "id"}
	for _, id := range []string{"changed", "deleted"} {
		if _, err := svc.PutRecord(t.Context(), "people", records.Key{ID: id}, attr.Item{"email": attr.S("a@x")}, records.Precondition{}); err != nil {
			t.Fatal(err)
		}
		old, err := e.db.Get(t.Context(), table, attr.Item{"id": attr.S(id)})
		if err != nil {
			t.Fatal(err)
		}
		db.stale = append(db.stale, old)
	}
	if _, err := svc.PutRecord(t.Context(), "people", records.Key{ID: "changed"}, attr.Item{"email": attr.S("b@x")}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteRecord(t.Context(), "people", records.Key{ID: "deleted"}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	page, err := svc.ListRecords(t.Context(), "people", records.Query{Filters: map[string]string{"email": "a@x"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Records {
		t.Errorf("search for a@x returned %q (email %v): the index's stale copy, not the record", r.Key.ID, r.Doc["email"])
	}
	page, err = svc.ListRecords(t.Context(), "people", records.Query{Filters: map[string]string{"email": "b@x"}})
	if err != nil || len(page.Records) != 1 || page.Records[0].Key.ID != "changed" {
		t.Fatalf("search for b@x: %+v, %v; want the changed record once", page.Records, err)
	}
}
