package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// writeChain stores entries as one chain of one batch, sealed as the
// writer seals them, in each entry's own format.
func writeChain(t *testing.T, db Backend, ks keySet, entries []sealed) {
	t.Helper()
	ctx := context.Background()
	if err := db.Put(ctx, chainTable, chainRow(testChain, time.Now()), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	prev := ks.genesis(testChain)
	for i := range entries {
		entries[i].seq = uint64(i)
		entries[i].mac = ks.entryMAC(testChain, prev, &entries[i])
		prev = entries[i].mac
	}
	b := batch{chain: testChain, entries: entries}
	b.mac = ks.batchMAC(testChain, 0, &entries[len(entries)-1])
	if err := db.Put(ctx, batchTable, b.item(), store.Cond{}); err != nil {
		t.Fatal(err)
	}
}

func openDB(t *testing.T) *bolt.Store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tbl := range Tables() {
		if err := db.CreateTable(context.Background(), tbl); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// Entries written before the ETag (format 1: no format attribute, a MAC
// over fewer fields) verify, and list without the new fields; a chain
// mixing both formats verifies.
func TestFormat1EntriesVerify(t *testing.T) {
	t.Parallel()
	beacon := secret.Random(32)
	ks, _ := loadKeys(context.Background(), staticKeys{beacon})
	db := openDB(t)
	old := sealed{format: format1, time: "2026-11-01T00:00:00Z", token: "app", action: "record.put", collection: "c", record: "r1", outcome: "ok"}
	cur := sealEntry(&Entry{Time: time.Now(), Token: "app", Action: "record.put", Collection: "c", Record: "r1", Outcome: "ok", ETag: `"e1"`, RequestID: "q1", Client: "192.0.2.1"})
	writeChain(t, db, ks, []sealed{old, cur})
	if _, ok := batches1(t, db)[0][attrEntries].(attr.L)[0].(attr.M)[attrFormat]; ok {
		t.Fatal("a format-1 entry was stored with a format attribute")
	}
	rep, err := Verify(context.Background(), db, staticKeys{beacon}, nil)
	if err != nil || len(rep.Problems) != 0 || rep.Entries != 2 {
		t.Fatalf("Verify: %+v, %v; want 2 entries, no problem", rep, err)
	}
}

// A format-2 entry cannot pass for a format-1 one: stripping its new
// fields (and its format) breaks its MAC.
func TestFormat2FieldsCannotBeStripped(t *testing.T) {
	t.Parallel()
	beacon := secret.Random(32)
	ks, _ := loadKeys(context.Background(), staticKeys{beacon})
	db := openDB(t)
	cur := sealEntry(&Entry{Time: time.Now(), Token: "app", Action: "record.put", Collection: "c", Record: "r1", Outcome: "ok", ETag: `"e1"`})
	writeChain(t, db, ks, []sealed{cur})
	it := batches1(t, db)[0]
	e := it[attrEntries].(attr.L)[0].(attr.M)
	for _, name := range []string{attrFormat, attrETag, attrRequest, attrClient} {
		delete(e, name)
	}
	if err := db.Put(context.Background(), batchTable, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), db, staticKeys{beacon}, nil)
	if err != nil || len(rep.Problems) != 1 {
		t.Fatalf("Verify after stripping the format-2 fields: %+v, %v; want the entry reported", rep, err)
	}
	// Editing the ETag alone breaks it too.
	e[attrFormat], e[attrETag], e[attrRequest], e[attrClient] = number(format2), attr.S(`"other"`), attr.S(""), attr.S("")
	if err := db.Put(context.Background(), batchTable, it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if rep, _ := Verify(context.Background(), db, staticKeys{beacon}, nil); len(rep.Problems) != 1 {
		t.Fatalf("Verify after editing the ETag: %+v; want the entry reported", rep)
	}
}

func batches1(t *testing.T, db Backend) []attr.Item {
	t.Helper()
	var out []attr.Item
	if err := scan(context.Background(), db, batchTable, func(it attr.Item) error { out = append(out, it); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
