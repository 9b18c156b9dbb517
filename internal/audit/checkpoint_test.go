package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/store"
)

// memSink keeps what it is given, or fails while down.
type memSink struct {
	mu   sync.Mutex
	recs []audit.SinkRecord
	down bool
}

func (s *memSink) Name() string { return "mem" }

func (s *memSink) Write(recs []audit.SinkRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("sink unreachable")
	}
	s.recs = append(s.recs, recs...)
	return nil
}

func (s *memSink) lines(kind string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, r := range s.recs {
		if r.Kind == kind {
			out = append(out, r.JSON)
		}
	}
	return out
}

// Every entry reaches the sinks as it is stored, and the checkpoints of
// every chain at Close; the checkpoints parse back and match the trail.
func TestSinksAndCheckpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sink := &memSink{}
	l, err := audit.Open(context.Background(), e.db, e.keys, audit.Options{Sinks: []audit.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	es := []audit.Entry{entry(0), entry(1), entry(2)}
	appendAll(t, l, es)
	entries := sink.lines("entry")
	if len(entries) != 3 {
		t.Fatalf("the sink got %d entries; want 3", len(entries))
	}
	var first struct {
		Type, Action, Record, Chain, MAC string
		Seq                              uint64
	}
	if err := json.Unmarshal(entries[0], &first); err != nil || first.Type != "entry" || first.Action != es[0].Action ||
		first.Record != es[0].Record || first.Chain == "" || len(first.MAC) != 64 || first.Seq != 0 {
		t.Errorf("first entry line %s (%v)", entries[0], err)
	}
	l.Close()
	cps, err := audit.ParseCheckpoints(sink.lines("checkpoint"))
	if err != nil || len(cps) != 1 || cps[0].Chain != first.Chain || cps[0].Seq != 2 {
		t.Fatalf("checkpoints at Close: %+v, %v; want one at entry 2 of %s", cps, err, first.Chain)
	}
	rep, err := audit.VerifyWith(context.Background(), e.db, e.keys, audit.VerifyOptions{Checkpoints: cps})
	if err != nil || len(rep.Problems) != 0 || len(rep.Checkpoints) != 0 {
		t.Fatalf("an intact trail with its checkpoint: %+v, %v", rep, err)
	}
}

// With checkpoints kept outside, verify names a deleted chain, a
// truncated chain and a checkpoint that is not the deployment's.
func TestCheckpointsShowDeletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name   string
		edit   func(t *testing.T, db *envDB, chain string)
		forge  bool
		reason string
	}{
		{"deleted chain", func(t *testing.T, db *envDB, chain string) {
			db.deleteChain(t, chain, true)
		}, false, "chain deleted"},
		{"newest batches deleted", func(t *testing.T, db *envDB, chain string) {
			db.deleteLastBatch(t, chain)
		}, false, "chain truncated"},
		{"forged checkpoint", func(*testing.T, *envDB, string) {}, true, "not sealed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sink := &memSink{}
			l, err := audit.Open(ctx, e.db, e.keys, audit.Options{Sinks: []audit.Sink{sink}, MaxBatch: 1})
			if err != nil {
				t.Fatal(err)
			}
			appendAll(t, l, []audit.Entry{entry(0), entry(1), entry(2)})
			l.Close()
			cps, err := audit.ParseCheckpoints(sink.lines("checkpoint"))
			if err != nil || len(cps) != 1 {
				t.Fatalf("checkpoints: %+v, %v", cps, err)
			}
			if c.forge {
				cps[0].Seq = 99
			}
			c.edit(t, &envDB{e.db}, cps[0].Chain)
			rep, err := audit.VerifyWith(ctx, e.db, e.keys, audit.VerifyOptions{Checkpoints: cps})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Checkpoints) != 1 || rep.Checkpoints[0].Chain != cps[0].Chain || !strings.Contains(rep.Checkpoints[0].Reason, c.reason) {
				t.Errorf("%s: checkpoint problems %+v; want one naming chain %s and saying %q", c.name, rep.Checkpoints, cps[0].Chain, c.reason)
			}
		})
	}
}

// A sink that fails is reported and, unless required, fails nothing.
func TestFailingSink(t *testing.T) {
	t.Parallel()
	for _, required := range []bool{false, true} {
		e := newEnv(t)
		sink := &memSink{down: true}
		var mu sync.Mutex
		failures := 0
		l := open(t, e.db, e.keys, audit.Options{Sinks: []audit.Sink{sink}, SinkRequired: required,
			SinkFailed: func(string, error) { mu.Lock(); failures++; mu.Unlock() }})
		err := l.Append(context.Background(), entry(0))
		if required != (err != nil) {
			t.Errorf("sink required %v: Append with the sink down = %v", required, err)
		}
		mu.Lock()
		if failures != 1 {
			t.Errorf("sink required %v: %d failures reported; want 1", required, failures)
		}
		mu.Unlock()
		// The entry is stored either way.
		if rep := verify(t, e.db, e.keys); rep.Entries != 1 {
			t.Errorf("sink required %v: %d entries stored; want 1", required, rep.Entries)
		}
	}
}

// envDB edits a test store as someone with write access to it would.
type envDB struct {
	db interface {
		audit.Backend
		Delete(context.Context, store.Table, attr.Item, store.Cond) error
	}
}

func (d *envDB) deleteChain(t *testing.T, chain string, row bool) {
	t.Helper()
	for _, it := range batches(t, d.db) {
		if it["chain"] == attr.S(chain) {
			if err := d.db.Delete(context.Background(), batchTable, attr.Item{"chain": it["chain"], "seq": it["seq"]}, store.Cond{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if row {
		if err := d.db.Delete(context.Background(), chainTable, attr.Item{"chain": attr.S(chain)}, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *envDB) deleteLastBatch(t *testing.T, chain string) {
	t.Helper()
	var last attr.Item
	for _, it := range batches(t, d.db) {
		if it["chain"] == attr.S(chain) && (last == nil || string(it["seq"].(attr.N)) > string(last["seq"].(attr.N))) {
			last = it
		}
	}
	if err := d.db.Delete(context.Background(), batchTable, attr.Item{"chain": last["chain"], "seq": last["seq"]}, store.Cond{}); err != nil {
		t.Fatal(err)
	}
}
