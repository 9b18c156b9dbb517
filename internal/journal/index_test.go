package journal

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// Keys in and out of runs: counting up, a gap, counting down, numbers
// that are not a uint64 written canonically, another partition, a
// replaced item; Get, Put's conflict and Scan's order hold before and
// after a reopen.
func TestIndexKeysOutsideRuns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, dir, 4096)
	seqs := []string{"5", "6", "7", "9", "8", "4", "1.5", "010", "-3", "18446744073709551616"}
	var want []attr.Item
	for _, chain := range []string{"a", "b"} {
		for _, n := range seqs {
			it := attr.Item{"chain": attr.S(chain), "seq": attr.N(n), "body": attr.S(chain + n)}
			if err := j.Put(ctx, tbl, it, store.Cond{Absent: true}); err != nil {
				t.Fatalf("Put %s %s: %v", chain, n, err)
			}
			want = append(want, it)
		}
	}
	replaced := attr.Item{"chain": attr.S("a"), "seq": attr.N("6"), "body": attr.S("replaced")}
	if err := j.InsecureReplace(ctx, tbl, replaced); err != nil {
		t.Fatal(err)
	}
	want[1] = replaced
	check := func(j *Journal, when string) {
		t.Helper()
		for _, it := range want {
			got, err := j.Get(ctx, tbl, attr.Item{"chain": it["chain"], "seq": it["seq"]})
			if err != nil || !attr.Equal(attr.M(got), attr.M(it)) {
				t.Errorf("%s: Get %v = %v, %v; want %v", when, it["seq"], got, err, it)
			}
			if err := j.Put(ctx, tbl, it, store.Cond{Absent: true}); !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: Put of held key %v %v: %v; want ErrConflict", when, it["chain"], it["seq"], err)
			}
		}
		for _, n := range []string{"3", "11", "2", "1"} {
			if _, err := j.Get(ctx, tbl, attr.Item{"chain": attr.S("a"), "seq": attr.N(n)}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: Get of absent seq %s: %v; want ErrNotFound", when, n, err)
			}
		}
		got := scanAll(t, j)
		if len(got) != len(want) {
			t.Fatalf("%s: Scan found %d items; want %d", when, len(got), len(want))
		}
		for i := range want {
			if !attr.Equal(attr.M(got[i]), attr.M(want[i])) {
				t.Errorf("%s: Scan item %d = %v; want %v", when, i, got[i], want[i])
			}
		}
	}
	check(j, "open")
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, dir, 4096)
	defer j.Close()
	check(j, "reopened")
}

// TestIndexMemory bounds the memory the journal keeps per audit batch
// (keys counting up in one chain): 177 bytes when it kept every key as a
// string in a map and in a slice; a slot and its run entry now.
func TestIndexMemory(t *testing.T) {
	j := open(t, t.TempDir(), 64<<20)
	defer j.Close()
	ctx := context.Background()
	const n = 200_000
	put := func(from, to int) {
		for i := from; i < to; i++ {
			if err := j.Put(ctx, tbl, item("2026-12-07T10:48:41.123456789Z-0123456789abcdef", i, 16), store.Cond{Absent: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Measured between two points well after the start, where the next
	// segment is long prepared and the slices have grown alike.
	put(0, n/2)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	put(n/2, n/2+n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perItem := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes of heap per item", perItem)
	if perItem > 40 {
		t.Errorf("the index keeps %.1f bytes per item; want at most 40 (12 for its slot, 4 for its run entry, and the slices' spare capacity)", perItem)
	}
}
