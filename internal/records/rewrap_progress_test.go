package records_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// gatedScan is a store whose scans of one table, once gated, each wait
// for a token on pages: a test sees a job between two of its pages.
type gatedScan struct {
	*bolt.Store
	table string
	gated atomic.Bool
	pages chan struct{}
}

func (g *gatedScan) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	if t.Name == g.table && g.gated.Load() {
		select {
		case <-g.pages:
		case <-ctx.Done():
			return store.Page{}, ctx.Err()
		}
	}
	return g.Store.Scan(ctx, t, cursor, limit)
}

// A count reports its progress page by page: scanned counts the records
// counted so far, while items stays the last completed count (0 during
// the first), so that scanned/items moves during a count instead of
// being 100% (items was set to scanned at every page).
func TestRewrapCountReportsProgress(t *testing.T) {
	t.Parallel()
	const n = 250 // pages of 100: 100, 200, then the count ends
	e := newEnv(t)
	g := &gatedScan{Store: e.db, table: "col_c", pages: make(chan struct{})}
	svc, err := records.Open(t.Context(), g, e.keys(t), hierarchy.NewCache(0, 100, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	v := &v1Env{env: e, svc: svc}
	v.create(t, "c", keysSchema)
	for i := range n {
		v.putRec(t, "c", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	v.rotate(t, "c")
	g.gated.Store(true)
	if _, err := svc.StartRewrap(t.Context(), "c", records.RewrapOptions{}); err != nil {
		t.Fatal(err)
	}
	// step lets one page through and waits for the job to show want.
	step := func(what string, want func(records.RewrapJob) bool) {
		t.Helper()
		g.pages <- struct{}{}
		var j records.RewrapJob
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if j, err = svc.RewrapStatus(t.Context(), "c"); err == nil && want(j) {
				return
			}
		}
		t.Fatalf("%s: job %+v", what, j)
	}
	counting := func(pass int, scanned, items int64) func(records.RewrapJob) bool {
		return func(j records.RewrapJob) bool {
			return j.Pass == pass && j.Phase == "counting" && j.Scanned == scanned && j.Items == items
		}
	}
	step("pass 1, first page counted", counting(1, 100, 0))
	step("pass 1, second page counted", counting(1, 200, 0))
	step("pass 1 counted", func(j records.RewrapJob) bool { return j.Phase == "rewrapping" && j.Items == n && j.ToRewrap == n })
	for range 3 {
		g.pages <- struct{}{}
	}
	step("pass 2, first page counted", counting(2, 100, n))
	step("pass 2, second page counted", counting(2, 200, n))
	g.gated.Store(false)
	close(g.pages)
	if j := v.waitJob(t, "c"); j.State != records.JobDone || j.Items != n || j.Rewrapped != n || j.Pass != 2 {
		t.Fatalf("job at the end: %+v; want done, %d items, %d rewrapped, 2 passes", j, n, n)
	}
}
