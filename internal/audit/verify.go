package audit

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"slices"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// Problem is the first point at which a chain fails to verify. Seq is the
// position, as stored, of the first entry that fails: for an edited entry
// that entry, for a removed entry or batch the first entry after the gap.
// Where no entry follows (entries cut from the end of a batch), it is the
// position of the first entry missing.
type Problem struct {
	Chain  string
	Seq    uint64
	Reason string
}

func (p Problem) Error() string {
	return fmt.Sprintf("audit: chain %s entry %d: %s", p.Chain, p.Seq, p.Reason)
}

// Report is the outcome of Verify.
type Report struct {
	Chains  int
	Entries int // entries checked; a chain's entries after its problem are not
	// Problems has at most one Problem per chain, its first; none if the
	// log verifies.
	Problems []Problem
	// Checkpoints is what the checkpoints given to VerifyWith show: chains
	// deleted, truncated or rewritten since, and checkpoints that are not
	// this deployment's.
	Checkpoints []CheckpointProblem
}

// VerifyOptions tune VerifyWith.
type VerifyOptions struct {
	// Progress, if not nil, is called with the number of entries checked
	// so far, about every 1000 entries and at the end.
	Progress func(done int)
	// Checkpoints are compared with the trail: see Report.Checkpoints.
	Checkpoints []Checkpoint
}

// progressEvery is how many entries Verify checks between progress calls.
const progressEvery = 1000

// Verify checks every chain in db under the audit key of keys: that its
// batches are numbered from 0 without a gap, that its entries are numbered
// from 0 without a gap, that each entry's MAC covers its fields and links to
// the entry before it, and that each batch ends where it was written to.
// It also reports a chain with entries that is missing from the chains
// table (List would not show it). A chain that ends is not a problem.
//
// The error is for a failure to read the log or the key; what is wrong with
// the log is in the Report. progress, if not nil, is called with the number
// of entries checked so far, about every 1000 entries and at the end.
func Verify(ctx context.Context, db Backend, keys Keys, progress func(done int)) (Report, error) {
	return VerifyWith(ctx, db, keys, VerifyOptions{Progress: progress})
}

// VerifyWith is Verify, comparing the trail with checkpoints too.
func VerifyWith(ctx context.Context, db Backend, keys Keys, o VerifyOptions) (Report, error) {
	progress := o.Progress
	ks, err := loadKeys(ctx, keys)
	if err != nil {
		return Report{}, err
	}
	// Batches first: a chain's row is written before its first batch, so
	// every chain seen here is also in the chains table read after, even
	// while a server is writing.
	batches, err := batchNumbers(ctx, db)
	if err != nil {
		return Report{}, err
	}
	rows, err := listChains(ctx, db)
	if err != nil {
		return Report{}, err
	}
	v := verifier{db: db, keys: ks, progress: progress, cps: newCheckpointCheck(ks, o.Checkpoints), ends: map[string]chainEnd{}}
	ids := chainIDs(rows, batches)
	for _, id := range ids {
		p, err := v.chain(ctx, id, batches[id])
		if err != nil {
			return Report{}, err
		}
		if _, found := slices.BinarySearch(rows, id); p == nil && !found {
			p = &Problem{Chain: id, Reason: "chain missing from the chains table"}
		}
		if p != nil {
			v.report.Problems = append(v.report.Problems, *p)
		}
	}
	v.report.Chains = len(ids)
	v.report.Checkpoints = v.cps.check(v.ends)
	if progress != nil && v.reported != v.report.Entries {
		progress(v.report.Entries)
	}
	return v.report, nil
}

// batchNumbers returns the numbers of the stored batches of every chain,
// keeping only the keys of the items it reads.
func batchNumbers(ctx context.Context, db Backend) (map[string][]uint64, error) {
	nums := make(map[string][]uint64)
	err := scan(ctx, db, batchTable, func(it attr.Item) error {
		chain, ok := it[attrChain].(attr.S)
		n, err := parseNumber(it[attrSeq])
		if !ok || err != nil {
			return fmt.Errorf("audit: %s: item key %w", batchTable.Name, errMalformed)
		}
		nums[string(chain)] = append(nums[string(chain)], n)
		return nil
	})
	return nums, err
}

// chainIDs returns the ids of the chains table and of stored batches,
// sorted, each once.
func chainIDs(rows []string, batches map[string][]uint64) []string {
	ids := slices.Clone(rows)
	for id := range batches {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// verifier is one Verify call.
type verifier struct {
	db       Backend
	keys     keySet
	progress func(int)
	reported int
	report   Report
	cps      *checkpointCheck
	ends     map[string]chainEnd // how far each chain verified
}

// chain checks the batches nums of chain id.
func (v *verifier) chain(ctx context.Context, id string, nums []uint64) (prob *Problem, err error) {
	slices.Sort(nums)
	w := chainWalk{id: id, prev: v.keys.genesis(id)}
	w.want, w.wanted = v.cps.wanted(id)
	defer func() { v.ends[id] = chainEnd{next: w.next, mac: w.wantMAC, broken: prob != nil} }()
	for _, n := range nums {
		b, err := getBatch(ctx, v.db, id, n)
		if err != nil && !errors.Is(err, errMalformed) && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("audit: read chain %s batch %d: %w", id, n, err)
		}
		if n != w.batch {
			seq := w.next
			if err == nil {
				seq = b.entries[0].seq
			}
			return &Problem{Chain: id, Seq: seq, Reason: fmt.Sprintf("batch %d missing", w.batch)}, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return &Problem{Chain: id, Seq: w.next, Reason: fmt.Sprintf("batch %d missing", n)}, nil
		}
		if err != nil {
			return &Problem{Chain: id, Seq: w.next, Reason: fmt.Sprintf("batch %d malformed", n)}, nil
		}
		checked, p := w.check(v.keys, &b)
		v.done(checked)
		if p != nil {
			return p, nil
		}
	}
	return nil, nil
}

func (v *verifier) done(n int) {
	v.report.Entries += n
	if v.progress != nil && v.report.Entries-v.reported >= progressEvery {
		v.reported = v.report.Entries
		v.progress(v.reported)
	}
}

// chainWalk is how far a chain has verified.
type chainWalk struct {
	id    string
	batch uint64 // number of the next batch
	next  uint64 // position of the next entry
	prev  []byte // MAC of the last entry checked

	want    uint64 // a checkpoint's position, if wanted
	wanted  bool
	wantMAC []byte // the MAC found there
}

// check checks batch b, the chain's next, and returns the number of its
// entries checked and the first problem.
func (w *chainWalk) check(k keySet, b *batch) (int, *Problem) {
	for i := range b.entries {
		s := &b.entries[i]
		if s.seq != w.next {
			return i, w.misplaced(s, b.entries[i+1:])
		}
		if !hmac.Equal(s.mac, k.entryMAC(w.id, w.prev, s)) {
			return i, &Problem{Chain: w.id, Seq: s.seq, Reason: "MAC does not match (entry edited)"}
		}
		if w.wanted && s.seq == w.want {
			w.wantMAC = s.mac
		}
		w.prev = s.mac
		w.next++
	}
	if !hmac.Equal(b.mac, k.batchMAC(w.id, b.n, &b.entries[len(b.entries)-1])) {
		reason := fmt.Sprintf("batch %d does not match its MAC (entries cut from its end, or batch edited)", b.n)
		return len(b.entries), &Problem{Chain: w.id, Seq: w.next, Reason: reason}
	}
	w.batch++
	return len(b.entries), nil
}

// misplaced explains entry s, found where entry w.next belongs; rest are
// the entries after s in its batch.
func (w *chainWalk) misplaced(s *sealed, rest []sealed) *Problem {
	reason := "entry missing before this one"
	later := slices.ContainsFunc(rest, func(r sealed) bool { return r.seq == w.next })
	if s.seq < w.next || later {
		reason = "entries out of order"
	}
	return &Problem{Chain: w.id, Seq: s.seq, Reason: reason}
}
