package audit_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
)

// twoChains writes 25 entries with one log, then 5 with another, and
// returns them in the order List must give them.
func twoChains(t *testing.T, e *env) []audit.Entry {
	t.Helper()
	var c clock
	var want []audit.Entry
	for _, n := range []int{25, 5} {
		l := open(t, e.db, e.keys, audit.Options{Now: c.Now})
		for range n {
			x := entry(len(want))
			x.Time = c.Now()
			want = append(want, x)
		}
		appendAll(t, l, want[len(want)-n:])
		l.Close()
	}
	return want
}

func TestAppendList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := twoChains(t, e)
	l := open(t, e.db, e.keys, audit.Options{})
	for _, limit := range []int{0, 1, 7, 25, 1000, 5000} {
		t.Run(fmt.Sprint("limit=", limit), func(t *testing.T) {
			got := listAll(t, l, audit.Filter{}, limit)
			if len(got) != len(want) {
				t.Fatalf("listed %d entries, want %d", len(got), len(want))
			}
			for i := range got {
				if !sameEntry(got[i], want[i]) {
					t.Fatalf("entry %d = %+v, want %+v", i, got[i], want[i])
				}
				wantSeq := uint64(i)
				if i >= 25 {
					wantSeq = uint64(i - 25)
				}
				if got[i].Seq != wantSeq || got[i].Time.Location() != time.UTC {
					t.Fatalf("entry %d: Seq %d, want %d; time %v", i, got[i].Seq, wantSeq, got[i].Time)
				}
				if i > 0 && (got[i].Chain == got[i-1].Chain) != (i != 25) {
					t.Fatalf("entry %d: chain %s after %s", i, got[i].Chain, got[i-1].Chain)
				}
			}
		})
	}
	if r := verify(t, e.db, e.keys); r.Chains != 2 || r.Entries != 30 || len(r.Problems) != 0 {
		t.Fatalf("Verify = %+v, want 2 chains, 30 entries, no problems", r)
	}
}

func TestListFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := twoChains(t, e)
	l := open(t, e.db, e.keys, audit.Options{})
	tests := []struct {
		name string
		f    audit.Filter
		keep func(audit.Entry) bool
	}{
		{"token", audit.Filter{Token: "token-1"}, func(x audit.Entry) bool { return x.Token == "token-1" }},
		{"action", audit.Filter{Action: "record.put"}, func(x audit.Entry) bool { return x.Action == "record.put" }},
		{"collection", audit.Filter{Collection: "coll-0"}, func(x audit.Entry) bool { return x.Collection == "coll-0" }},
		{"record", audit.Filter{Record: "rec-17"}, func(x audit.Entry) bool { return x.Record == "rec-17" }},
		{"outcome", audit.Filter{Outcome: "denied"}, func(x audit.Entry) bool { return x.Outcome == "denied" }},
		{"since", audit.Filter{Since: want[20].Time}, func(x audit.Entry) bool { return !x.Time.Before(want[20].Time) }},
		{"until", audit.Filter{Until: want[3].Time}, func(x audit.Entry) bool { return x.Time.Before(want[3].Time) }},
		{"window", audit.Filter{Since: want[10].Time, Until: want[27].Time, Outcome: "ok"},
			func(x audit.Entry) bool {
				return x.Outcome == "ok" && !x.Time.Before(want[10].Time) && x.Time.Before(want[27].Time)
			}},
		{"nothing", audit.Filter{Token: "nobody"}, func(audit.Entry) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var exp []audit.Entry
			for _, x := range want {
				if tt.keep(x) {
					exp = append(exp, x)
				}
			}
			got := listAll(t, l, tt.f, 2)
			if len(got) != len(exp) {
				t.Fatalf("listed %d entries, want %d", len(got), len(exp))
			}
			for i := range got {
				if !sameEntry(got[i], exp[i]) {
					t.Fatalf("entry %d = %+v, want %+v", i, got[i], exp[i])
				}
			}
		})
	}
}

// TestListBounded checks that a List whose filter matches nothing stops
// after a bounded number of batches and hands back a cursor.
func TestListBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{MaxBatch: 1})
	es := make([]audit.Entry, 150)
	for i := range es {
		es[i] = entry(i)
	}
	if err := l.AppendBatch(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	page, next, err := l.List(context.Background(), audit.Filter{Token: "nobody"}, "", 10)
	if err != nil || len(page) != 0 || next == "" {
		t.Fatalf("List = %d entries, cursor %q, %v; want none and a cursor", len(page), next, err)
	}
	if got := listAll(t, l, audit.Filter{Record: "rec-149"}, 10); len(got) != 1 || got[0].Seq != 149 {
		t.Fatalf("walking on found %+v, want entry 149", got)
	}
}

func TestListBadCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{})
	appendAll(t, l, []audit.Entry{entry(0), entry(1)})
	_, good, err := l.List(context.Background(), audit.Filter{}, "", 1)
	if err != nil || good == "" {
		t.Fatalf("List: cursor %q, %v", good, err)
	}
	bad := []string{"!", "AAAA", "AQ", "Ag", good + "A", good + "AA", good[:len(good)-1], "=" + good, good + "="}
	for _, c := range bad {
		if _, _, err := l.List(context.Background(), audit.Filter{}, c, 1); !errors.Is(err, audit.ErrBadCursor) {
			t.Errorf("List(cursor %q) = %v, want ErrBadCursor", c, err)
		}
	}
}

func TestAppendConcurrent(t *testing.T) {
	t.Parallel()
	for _, maxBatch := range []int{0, 5} {
		t.Run(fmt.Sprint("MaxBatch=", maxBatch), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			l := open(t, e.db, e.keys, audit.Options{MaxBatch: maxBatch})
			const workers, each = 64, 16
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						x := audit.Entry{Token: fmt.Sprint("w", w), Action: "record.get", Record: fmt.Sprint(i), Outcome: "ok"}
						if err := l.Append(context.Background(), x); err != nil {
							t.Errorf("worker %d Append %d: %v", w, i, err)
						}
					}
				})
			}
			wg.Wait()
			checkConcurrent(t, e, l, workers, each, maxBatch)
		})
	}
}

// checkConcurrent checks that each worker's entries are stored once, in
// the order it appended them, in one chain that verifies, and in fewer
// batches than entries.
func checkConcurrent(t *testing.T, e *env, l *audit.Log, workers, each, maxBatch int) {
	t.Helper()
	got := listAll(t, l, audit.Filter{}, 1000)
	if len(got) != workers*each {
		t.Fatalf("listed %d entries, want %d", len(got), workers*each)
	}
	next := map[string]int{}
	for i, x := range got {
		if x.Record != fmt.Sprint(next[x.Token]) || x.Seq != uint64(i) || x.Chain != got[0].Chain {
			t.Fatalf("entry %d: %+v; want record %d of %s, seq %d, one chain", i, x, next[x.Token], x.Token, i)
		}
		next[x.Token]++
	}
	stored := batches(t, e.db)
	if len(stored) >= workers*each {
		t.Errorf("%d entries in %d batches: no batching", workers*each, len(stored))
	}
	for _, it := range stored {
		if n := len(it["entries"].(attr.L)); maxBatch > 0 && n > maxBatch {
			t.Errorf("a batch of %d entries, MaxBatch %d", n, maxBatch)
		}
	}
	if r := verify(t, e.db, e.keys); len(r.Problems) != 0 || r.Entries != workers*each {
		t.Fatalf("Verify = %+v", r)
	}
}

func TestAppendTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var c clock
	l := open(t, e.db, e.keys, audit.Options{Now: c.Now})
	paris := time.FixedZone("CET", 3600)
	given := time.Date(2031, 5, 6, 7, 8, 9, 123456789, paris)
	appendAll(t, l, []audit.Entry{{Action: "a"}, {Action: "b", Time: given}})
	got := listAll(t, l, audit.Filter{}, 0)
	if len(got) != 2 || !got[0].Time.Equal(epoch.Add(time.Millisecond)) || !got[1].Time.Equal(given) {
		t.Fatalf("times %v, want the clock's first reading, then %v", got, given)
	}
	if got[1].Time.Location() != time.UTC {
		t.Fatalf("time %v not UTC", got[1].Time)
	}
}

func TestAppendInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{})
	refused := []audit.Entry{
		{},
		{Token: "t", Outcome: "ok"},
		{Action: "a", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Action: "a", Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, x := range refused {
		if err := l.Append(context.Background(), x); err == nil {
			t.Errorf("Append(bad entry %d) succeeded", i)
		}
	}
	// Odd strings are recorded, made storable.
	long := strings.Repeat("é", 600) // 1200 bytes
	odd := []audit.Entry{
		{Action: "a", Token: "\xff", Collection: long, Record: "r\xc0x", Outcome: "\xed\xa0\x80"},
		{Action: "a", Collection: strings.Repeat("c", 1023) + "é"},
	}
	want := []audit.Entry{
		{Action: "a", Token: "\uFFFD", Collection: long[:1024], Record: "r\uFFFDx", Outcome: "\uFFFD"},
		{Action: "a", Collection: strings.Repeat("c", 1023)},
	}
	appendAll(t, l, odd)
	got := listAll(t, l, audit.Filter{}, 0)
	if len(got) != len(want) {
		t.Fatalf("%d entries stored, want %d", len(got), len(want))
	}
	for i := range got {
		want[i].Time = got[i].Time
		if !sameEntry(got[i], want[i]) {
			t.Errorf("stored %+v, want %+v", got[i], want[i])
		}
	}
	if r := verify(t, e.db, e.keys); len(r.Problems) != 0 {
		t.Fatalf("Verify: %+v", r)
	}
}

func TestAppendContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := newGated(e.db)
	l := open(t, g, e.keys, audit.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Append(ctx, entry(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	res := make(chan error)
	go func() { res <- l.Append(ctx, entry(1)) }()
	<-g.entered // the writer is storing entry 1
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Append canceled while writing = %v", err)
	}
	close(g.release)
	l.Close()
	got := listAll(t, l, audit.Filter{}, 0)
	if len(got) != 1 || got[0].Record != "rec-1" {
		t.Fatalf("stored %+v, want entry 1 only (written although its caller left)", got)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{})
	appendAll(t, l, []audit.Entry{entry(0)})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), entry(1)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := listAll(t, l, audit.Filter{}, 0); len(got) != 1 {
		t.Fatalf("List after Close: %d entries", len(got))
	}
}

// TestCloseFlushes checks that Close stores what is still queued.
func TestCloseFlushes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := newGated(e.db)
	l := open(t, g, e.keys, audit.Options{})
	res := make(chan error, 10)
	go func() { res <- l.Append(context.Background(), entry(0)) }()
	<-g.entered
	for i := 1; i < 10; i++ {
		go func() { res <- l.Append(context.Background(), entry(i)) }()
	}
	for l.Pending() < 9 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error)
	go func() { closed <- l.Close() }()
	close(g.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if err := <-res; err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if got := listAll(t, l, audit.Filter{}, 0); len(got) != 10 {
		t.Fatalf("%d entries after Close, want 10", len(got))
	}
	if n := len(batches(t, e.db)); n != 2 {
		t.Fatalf("%d batches, want 2 (the first entry, then the nine queued behind it)", n)
	}
}

func TestWriteFailure(t *testing.T) {
	t.Parallel()
	outage := fmt.Errorf("injected: %w", store.ErrUnavailable)
	for _, written := range []bool{false, true} {
		t.Run(fmt.Sprint("written=", written), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			fb := &faultyBackend{Backend: e.db}
			l := open(t, fb, e.keys, audit.Options{})
			appendAll(t, l, []audit.Entry{entry(0), entry(1)})
			fb.fail(outage, written)
			if err := l.Append(context.Background(), entry(2)); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Append on a failing store = %v", err)
			}
			fb.fail(nil, false)
			appendAll(t, l, []audit.Entry{entry(3), entry(4)})
			got := listAll(t, l, audit.Filter{}, 0)
			want := []int{0, 1, 3, 4}
			if written {
				want = []int{0, 1, 2, 3, 4}
			}
			checkFailover(t, got, want)
			if r := verify(t, e.db, e.keys); r.Chains != 2 || len(r.Problems) != 0 || r.Entries != len(want) {
				t.Fatalf("Verify = %+v, want 2 chains, %d entries, no problem", r, len(want))
			}
		})
	}
}

// checkFailover checks that got holds the entries numbered want, and that
// entries 3 and 4 start a new chain.
func checkFailover(t *testing.T, got []audit.Entry, want []int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("listed %d entries, want %d", len(got), len(want))
	}
	for i, n := range want {
		if got[i].Record != fmt.Sprint("rec-", n) {
			t.Fatalf("entry %d is %s, want rec-%d", i, got[i].Record, n)
		}
	}
	k := len(got) - 2
	if got[k].Chain == got[0].Chain || got[k].Seq != 0 || got[k+1].Seq != 1 || got[k+1].Chain != got[k].Chain {
		t.Fatalf("entries after the failure: %+v, want a new chain from 0", got[k:])
	}
}

// TestChainRowFailure checks a failure to start a chain: it fails the
// batch, and the next batch starts another chain.
func TestChainRowFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fb := &faultyBackend{Backend: e.db}
	l := open(t, fb, e.keys, audit.Options{})
	fb.fail(errors.New("injected"), false)
	if err := l.Append(context.Background(), entry(0)); err == nil {
		t.Fatal("Append on a failing store succeeded")
	}
	fb.fail(nil, false)
	appendAll(t, l, []audit.Entry{entry(1)})
	if r := verify(t, e.db, e.keys); r.Chains != 1 || r.Entries != 1 || len(r.Problems) != 0 {
		t.Fatalf("Verify = %+v", r)
	}
}

func TestRecordID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := open(t, e.db, e.keys, audit.Options{})
	id := recID(t, l, "people", "p1")
	if raw, err := hex.DecodeString(id); err != nil || len(raw) != 16 {
		t.Fatalf("RecordID = %q, want 32 hex digits", id)
	}
	if id == "p1" || strings.Contains(id, "p1") {
		t.Fatalf("RecordID %q shows the id", id)
	}
	if again := recID(t, l, "people", "p1"); again != id {
		t.Fatalf("RecordID changed: %q, then %q", id, again)
	}
	other := open(t, e.db, e.keys, audit.Options{})
	if got := recID(t, other, "people", "p1"); got != id {
		t.Fatalf("another log over the same key: %q, want %q", got, id)
	}
	distinct := map[string]string{id: "people/p1"}
	for _, p := range [][2]string{{"pets", "p1"}, {"people", "p2"}, {"peoplep", "1"}, {"", "peoplep1"}, {"people", ""}} {
		got := recID(t, l, p[0], p[1])
		if prev, dup := distinct[got]; dup {
			t.Fatalf("RecordID(%q, %q) = RecordID of %s", p[0], p[1], prev)
		}
		distinct[got] = p[0] + "/" + p[1]
	}
	stranger := open(t, e.db, newKeys(t, e.db, "other_keys"), audit.Options{})
	if recID(t, stranger, "people", "p1") == id {
		t.Fatal("RecordID is the same under another key")
	}
}

// raceKeys is a Keys whose key appears between Open's first look and its
// Create, as when another server creates it at the same moment.
type raceKeys struct {
	*keystore.Store
	mu      sync.Mutex
	creates int
}

func (k *raceKeys) Create(ctx context.Context, id string) (string, error) {
	k.mu.Lock()
	k.creates++
	k.mu.Unlock()
	if _, err := k.Store.Create(ctx, id); err != nil {
		return "", err
	}
	return k.Store.Create(ctx, id) // the other server's, and then ours
}

func TestOpenKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rk := &raceKeys{Store: e.keys}
	l := open(t, e.db, rk, audit.Options{})
	l2 := open(t, e.db, rk, audit.Options{})
	if rk.creates != 0 {
		t.Fatalf("Open called Create %d times; the key is made on first use", rk.creates)
	}
	appendAll(t, l, []audit.Entry{entry(0)})
	appendAll(t, l2, []audit.Entry{entry(1)})
	if rk.creates != 1 {
		t.Fatalf("Create called %d times, want once", rk.creates)
	}
	if _, err := e.keys.Create(context.Background(), audit.KeyID); !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("the audit branch key was not created: %v", err)
	}

	// A key service that is down: Open works (a server starts), every
	// Append and RecordID fails, nothing is created, and once the service
	// is back the same Log works.
	down := &switchKeys{Keys: e.keys, err: errors.New("key service down")}
	l3 := open(t, e.db, down, audit.Options{})
	if err := l3.Append(context.Background(), entry(2)); !errors.Is(err, down.err) {
		t.Fatalf("Append with the key service down: %v", err)
	}
	if _, err := l3.RecordID(context.Background(), "c", "id"); !errors.Is(err, down.err) {
		t.Fatalf("RecordID with the key service down: %v", err)
	}
	if down.creates != 0 {
		t.Fatalf("Create called %d times while the key could not be read", down.creates)
	}
	down.err = nil
	appendAll(t, l3, []audit.Entry{entry(3)})

	failing := failingKeys{err: errors.New("key service down")}
	if _, err := audit.Verify(context.Background(), e.db, failing, nil); err == nil {
		t.Fatal("Verify without a key succeeded")
	}
}

// switchKeys fails BeaconKey and Create with err while it is set.
type switchKeys struct {
	audit.Keys
	err     error
	creates int
}

func (k *switchKeys) BeaconKey(ctx context.Context, id string) (secret.Bytes, error) {
	if k.err != nil {
		return secret.Bytes{}, k.err
	}
	return k.Keys.BeaconKey(ctx, id)
}

func (k *switchKeys) Create(ctx context.Context, id string) (string, error) {
	k.creates++
	if k.err != nil {
		return "", k.err
	}
	return k.Keys.Create(ctx, id)
}

type failingKeys struct{ err error }

func (k failingKeys) Create(context.Context, string) (string, error) { return "", k.err }
func (k failingKeys) BeaconKey(context.Context, string) (secret.Bytes, error) {
	return secret.Bytes{}, k.err
}
