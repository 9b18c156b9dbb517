package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/store"
)

// tamperLog is a log of two chains: chain a with entries 0 to 14 in three
// batches of five, then chain b with entries 0 to 4 in one batch.
type tamperLog struct {
	*env
	a, b string
}

func newTamperLog(t *testing.T) *tamperLog {
	t.Helper()
	e := newEnv(t)
	var c clock
	var ids []string
	for _, sizes := range [][]int{{5, 5, 5}, {5}} {
		l := open(t, e.db, e.keys, audit.Options{Now: c.Now})
		for _, n := range sizes {
			es := make([]audit.Entry, n)
			for i := range es {
				es[i] = entry(i)
			}
			if err := l.AppendBatch(context.Background(), es); err != nil {
				t.Fatalf("AppendBatch: %v", err)
			}
		}
		got := listAll(t, l, audit.Filter{}, 0)
		ids = append(ids, got[len(got)-1].Chain)
		l.Close()
	}
	return &tamperLog{env: e, a: ids[0], b: ids[1]}
}

func key(chain string, n int) attr.Item {
	return attr.Item{"chain": attr.S(chain), "seq": attr.N(fmt.Sprint(n))}
}

func (tl *tamperLog) get(t *testing.T, chain string, n int) attr.Item {
	t.Helper()
	it, err := tl.db.Get(context.Background(), batchTable, key(chain, n))
	if err != nil {
		t.Fatalf("Get batch %d: %v", n, err)
	}
	return it
}

func (tl *tamperLog) put(t *testing.T, it attr.Item) {
	t.Helper()
	if err := tl.db.Put(context.Background(), batchTable, it, store.Cond{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

// edit applies fn to the entries of batch n of chain a and stores them.
func (tl *tamperLog) edit(t *testing.T, n int, fn func(attr.L) attr.L) {
	t.Helper()
	it := tl.get(t, tl.a, n)
	it["entries"] = fn(slices.Clone(it["entries"].(attr.L)))
	tl.put(t, it)
}

// setField returns an edit that sets field of the i-th entry of a batch.
func setField(i int, field string, v attr.Value) func(attr.L) attr.L {
	return func(l attr.L) attr.L {
		m := attr.M{}
		for k, x := range l[i].(attr.M) {
			m[k] = x
		}
		if v == nil {
			delete(m, field)
		} else {
			m[field] = v
		}
		l[i] = m
		return l
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const edited, missing, order = "MAC does not match (entry edited)", "entry missing before this one", "entries out of order"
	tests := []struct {
		name   string
		tamper func(t *testing.T, tl *tamperLog)
		seq    uint64 // of the problem, in chain a
		reason string // start of the problem's reason
	}{
		{"outcome ok to error", func(t *testing.T, tl *tamperLog) {
			tl.edit(t, 1, setField(0, "outcome", attr.S("error"))) // entry 5: entry(0), outcome ok
		}, 5, edited},
		{"time", editField(1, 2, "time", attr.S("2030-01-02T03:04:05.1Z")), 7, edited},
		{"token", editField(1, 2, "token", attr.S("token-9")), 7, edited},
		{"action", editField(1, 2, "action", attr.S("record.get")), 7, edited},
		{"collection", editField(2, 4, "collection", attr.S("other")), 14, edited},
		{"record", editField(0, 0, "record", attr.S("rec-99")), 0, edited},
		{"detail", editField(1, 2, "detail", attr.S("name=other")), 7, edited},
		{"mac", editField(1, 2, "mac", attr.B(make([]byte, 32))), 7, edited},
		{"seq", editField(1, 2, "seq", attr.N("8")), 8, missing},
		{"delete entry", editEntries(1, func(l attr.L) attr.L { return slices.Delete(l, 2, 3) }), 8, missing},
		{"delete first entry of batch", editEntries(1, func(l attr.L) attr.L { return l[1:] }), 6, missing},
		{"delete last entry of batch", editEntries(1, func(l attr.L) attr.L { return l[:4] }), 9, "batch 1 does not match its MAC"},
		{"delete newest entry", editEntries(2, func(l attr.L) attr.L { return l[:4] }), 14, "batch 2 does not match its MAC"},
		{"swap entries", editEntries(1, func(l attr.L) attr.L { l[1], l[2] = l[2], l[1]; return l }), 7, order},
		{"duplicate entry", editEntries(1, func(l attr.L) attr.L { return slices.Insert(l, 3, l[2]) }), 7, order},
		{"delete middle batch", deleteBatch(1), 10, "batch 1 missing"},
		{"delete first batch", deleteBatch(0), 5, "batch 0 missing"},
		{"batch mac", func(t *testing.T, tl *tamperLog) {
			it := tl.get(t, tl.a, 1)
			it["mac"] = attr.B(make([]byte, 32))
			tl.put(t, it)
		}, 10, "batch 1 does not match its MAC"},
		{"batch replayed", func(t *testing.T, tl *tamperLog) {
			it := tl.get(t, tl.a, 1)
			it["seq"] = attr.N("3")
			tl.put(t, it)
		}, 5, order},
		{"batch from another chain", func(t *testing.T, tl *tamperLog) {
			it := tl.get(t, tl.b, 0)
			it["chain"] = attr.S(tl.a)
			tl.put(t, it)
		}, 0, edited},
		{"chain row deleted", func(t *testing.T, tl *tamperLog) {
			if err := tl.db.Delete(context.Background(), chainTable, attr.Item{"chain": attr.S(tl.a)}, store.Cond{}); err != nil {
				t.Fatal(err)
			}
		}, 0, "chain missing from the chains table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tl := newTamperLog(t)
			tt.tamper(t, tl)
			r := verify(t, tl.db, tl.keys)
			if r.Chains != 2 || len(r.Problems) != 1 {
				t.Fatalf("Verify = %+v, want 2 chains, one problem", r)
			}
			p := r.Problems[0]
			if p.Chain != tl.a || p.Seq != tt.seq || !strings.HasPrefix(p.Reason, tt.reason) {
				t.Fatalf("problem %v, want chain %s entry %d: %s", p, tl.a, tt.seq, tt.reason)
			}
			if msg := p.Error(); !strings.Contains(msg, tl.a) || !strings.Contains(msg, fmt.Sprint("entry ", tt.seq, ":")) {
				t.Fatalf("Error() = %q does not name the chain and entry", msg)
			}
		})
	}
}

func editField(batch, i int, field string, v attr.Value) func(*testing.T, *tamperLog) {
	return editEntries(batch, setField(i, field, v))
}

func editEntries(batch int, fn func(attr.L) attr.L) func(*testing.T, *tamperLog) {
	return func(t *testing.T, tl *tamperLog) { tl.edit(t, batch, fn) }
}

func deleteBatch(n int) func(*testing.T, *tamperLog) {
	return func(t *testing.T, tl *tamperLog) {
		if err := tl.db.Delete(context.Background(), batchTable, key(tl.a, n), store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyMalformed checks that batches of the wrong shape are problems
// at the first entry they hold, and never a panic.
func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	shapes := map[string]func(attr.Item){
		"entries not a list":    func(it attr.Item) { it["entries"] = attr.S("x") },
		"no entries":            func(it attr.Item) { it["entries"] = attr.L{} },
		"entry not a map":       func(it attr.Item) { it["entries"].(attr.L)[1] = attr.N("1") },
		"no batch mac":          func(it attr.Item) { delete(it, "mac") },
		"entry without mac":     func(it attr.Item) { setField(0, "mac", nil)(it["entries"].(attr.L)) },
		"mac of the wrong type": func(it attr.Item) { setField(0, "mac", attr.S("m"))(it["entries"].(attr.L)) },
		"seq not a number":      func(it attr.Item) { setField(0, "seq", attr.S("5"))(it["entries"].(attr.L)) },
		"negative seq":          func(it attr.Item) { setField(0, "seq", attr.N("-5"))(it["entries"].(attr.L)) },
		"seq with a fraction":   func(it attr.Item) { setField(0, "seq", attr.N("5.5"))(it["entries"].(attr.L)) },
		"token missing":         func(it attr.Item) { setField(0, "token", nil)(it["entries"].(attr.L)) },
		"time not a string":     func(it attr.Item) { setField(0, "time", attr.N("1"))(it["entries"].(attr.L)) },
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tl := newTamperLog(t)
			it := tl.get(t, tl.a, 1)
			it["entries"] = slices.Clone(it["entries"].(attr.L))
			shape(it)
			tl.put(t, it)
			r := verify(t, tl.db, tl.keys)
			want := audit.Problem{Chain: tl.a, Seq: 5, Reason: "batch 1 malformed"}
			if len(r.Problems) != 1 || r.Problems[0] != want {
				t.Fatalf("Verify = %+v, want %v", r, want)
			}
			if _, _, err := open(t, tl.db, tl.keys, audit.Options{}).List(context.Background(), audit.Filter{}, "", 0); err == nil {
				t.Fatal("List read a malformed batch without error")
			}
		})
	}
}

// TestVerifyTruncated checks what the log cannot show: a chain cut after
// a whole batch reads as a chain that ended.
func TestVerifyTruncated(t *testing.T) {
	t.Parallel()
	tl := newTamperLog(t)
	deleteBatch(2)(t, tl)
	if r := verify(t, tl.db, tl.keys); r.Entries != 15 || len(r.Problems) != 0 {
		t.Fatalf("Verify = %+v, want 15 entries and no problem", r)
	}
}

func TestVerifyOtherKey(t *testing.T) {
	t.Parallel()
	tl := newTamperLog(t)
	if r := verify(t, tl.db, tl.keys); len(r.Problems) != 0 || r.Chains != 2 || r.Entries != 20 {
		t.Fatalf("untampered log: %+v, want 2 chains, 20 entries, no problem", r)
	}
	other := newKeys(t, tl.db, "other_keys")
	if _, err := audit.Verify(context.Background(), tl.db, other, nil); err == nil {
		t.Fatal("Verify with no audit key succeeded")
	}
	if _, err := other.Create(context.Background(), audit.KeyID); err != nil {
		t.Fatal(err)
	}
	r := verify(t, tl.db, other)
	if len(r.Problems) != 2 {
		t.Fatalf("under another key: %+v, want a problem in each chain", r)
	}
	for _, p := range r.Problems {
		if p.Seq != 0 || p.Reason != "MAC does not match (entry edited)" {
			t.Fatalf("under another key: %v, want entry 0 failing its MAC", p)
		}
	}
}

func TestVerifyProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{})
	const n = 2600
	es := make([]audit.Entry, n)
	for i := range es {
		es[i] = entry(i)
	}
	if err := l.AppendBatch(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	var calls []int
	r, err := audit.Verify(context.Background(), e.db, e.keys, func(done int) { calls = append(calls, done) })
	if err != nil || r.Entries != n || len(r.Problems) != 0 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	if len(calls) < 3 || calls[len(calls)-1] != n {
		t.Fatalf("progress calls %v, want some and then %d", calls, n)
	}
	for i := 1; i < len(calls)-1; i++ {
		if calls[i]-calls[i-1] < 1000 {
			t.Fatalf("progress calls %v closer than 1000 entries", calls)
		}
	}
}

// scanHook wraps a store and runs hook once, after the first Scan.
type scanHook struct {
	audit.Backend
	once sync.Once
	hook func()
}

func (b *scanHook) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	p, err := b.Backend.Scan(ctx, t, cursor, limit)
	b.once.Do(b.hook)
	return p, err
}

// TestVerifyWhileWriting checks that a chain started while Verify reads
// the tables is not reported.
func TestVerifyWhileWriting(t *testing.T) {
	t.Parallel()
	tl := newTamperLog(t)
	hooked := &scanHook{Backend: tl.db, hook: func() {
		l := open(t, tl.db, tl.keys, audit.Options{})
		appendAll(t, l, []audit.Entry{entry(0)})
	}}
	r := verify(t, hooked, tl.keys)
	if len(r.Problems) != 0 {
		t.Fatalf("Verify = %+v, want no problem", r)
	}
	if r = verify(t, tl.db, tl.keys); r.Chains != 3 || r.Entries != 21 || len(r.Problems) != 0 {
		t.Fatalf("Verify after = %+v, want 3 chains, 21 entries", r)
	}
}
