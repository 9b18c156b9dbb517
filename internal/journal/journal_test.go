package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

var tbl = store.Table{Name: "batches", PartitionKey: "chain", SortKey: "seq", SortType: store.KeyN}

func item(chain string, seq int, size int) attr.Item {
	return attr.Item{"chain": attr.S(chain), "seq": attr.N(fmt.Sprint(seq)), "body": attr.B(make([]byte, size))}
}

func open(t *testing.T, dir string, seg int64) *Journal {
	t.Helper()
	j, err := Open(dir, Options{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.CreateTable(context.Background(), tbl); err != nil {
		t.Fatal(err)
	}
	return j
}

func scanAll(t *testing.T, j *Journal) []attr.Item {
	t.Helper()
	var out []attr.Item
	var cursor []byte
	for {
		p, err := j.Scan(context.Background(), tbl, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out
		}
		cursor = p.Next
	}
}

// Items written across several segments are all there after a reopen,
// each once, and a key is never replaced.
func TestPutGetScanReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, dir, 4096)
	const n = 40 // ~300 bytes each: about 14 per segment
	for i := range n {
		if err := j.Put(ctx, tbl, item("c", i, 250), store.Cond{Absent: true}); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if err := j.Put(ctx, tbl, item("c", 3, 1), store.Cond{Absent: true}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Put of a key held: %v; want ErrConflict", err)
	}
	if err := j.Put(ctx, tbl, item("c", 99, 1), store.Cond{Attr: "seq", Equals: attr.N("1")}); err == nil {
		t.Error("a conditional Put other than Absent was accepted")
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	if len(segs) < 3 {
		t.Fatalf("%d segments for %d items of ~300 bytes in 4 KiB segments; want several", len(segs), n)
	}
	j = open(t, dir, 4096)
	defer j.Close()
	if got := scanAll(t, j); len(got) != n {
		t.Fatalf("after reopen: %d items; want %d", len(got), n)
	}
	it, err := j.Get(ctx, tbl, attr.Item{"chain": attr.S("c"), "seq": attr.N("17")})
	if err != nil || !attr.Equal(attr.M(it), attr.M(item("c", 17, 250))) {
		t.Errorf("Get 17: %v, %v", it, err)
	}
	if _, err := j.Get(ctx, tbl, attr.Item{"chain": attr.S("c"), "seq": attr.N("1000")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of a missing key: %v", err)
	}
	if err := j.Put(ctx, tbl, item("c", 3, 1), store.Cond{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("after reopen, Put of a key held: %v; want ErrConflict", err)
	}
}

// A power loss tears the last write: at Open the journal ends before it,
// the rest of the segment is zeroed, and appending goes on from there.
func TestTornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, dir, 1<<16)
	for i := range 5 {
		if err := j.Put(ctx, tbl, item("c", i, 100), store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	last := j.cur.end
	j.Close()
	// Tear the fifth record: keep its header and half its payload, then
	// garbage, as a partial write would leave.
	seg := filepath.Join(dir, segmentName(1))
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("garbage garbage garbage"), last-60); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0, 0, 1, 0, 9, 9, 9, 9, 1, 2, 3}, last+500); err != nil { // a stray header further on
		t.Fatal(err)
	}
	f.Close()

	j = open(t, dir, 1<<16)
	if got := scanAll(t, j); len(got) != 4 {
		t.Fatalf("after a torn write: %d items; want the 4 before it", len(got))
	}
	if err := j.Put(ctx, tbl, item("c", 4, 10), store.Cond{Absent: true}); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
	j.Close()
	j = open(t, dir, 1<<16)
	defer j.Close()
	if got := scanAll(t, j); len(got) != 5 {
		t.Fatalf("after recovery and one more Put: %d items; want 5", len(got))
	}
}

// When no next segment can be made (the disk is full), Puts that need one
// fail as unavailable and what is stored stays readable; once a segment
// can be made again, Puts go on, without a reopen.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, dir, 2048)
	defer j.Close()
	var full atomic.Bool
	full.Store(true)
	j.mu.Lock()
	// The spare prepared at Open may already exist: fail it too.
	if r := <-j.spare; r.seg != nil {
		r.seg.close()
		os.Remove(r.seg.path)
	}
	real := j.create
	j.create = func(dir string, num uint64, size int64) (*segment, error) {
		if full.Load() {
			return nil, syscall.ENOSPC
		}
		return real(dir, num, size)
	}
	ch := make(chan spareResult, 1)
	ch <- spareResult{err: syscall.ENOSPC}
	j.spare = ch
	j.mu.Unlock()

	var err error
	n := 0
	for ; n < 100; n++ {
		if err = j.Put(ctx, tbl, item("c", n, 300), store.Cond{}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || !errors.Is(err, store.ErrUnavailable) || n == 0 {
		t.Fatalf("Put %d on a full disk: %v; want ErrFull after some Puts", n, err)
	}
	if got := scanAll(t, j); len(got) != n {
		t.Fatalf("on a full disk: %d items readable; want %d", len(got), n)
	}
	full.Store(false)
	if err := j.Put(ctx, tbl, item("c", n, 300), store.Cond{}); err != nil {
		t.Fatalf("Put once there is room again: %v", err)
	}
	if got := scanAll(t, j); len(got) != n+1 {
		t.Fatalf("after the disk has room: %d items; want %d", len(got), n+1)
	}
}

// The spare a run made but did not use is not counted as the journal's
// end: the next run appends to the last segment with records.
func TestUnusedSpareIgnored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	for run := range 3 {
		j := open(t, dir, 1<<16)
		if err := j.Put(ctx, tbl, item("c", run, 10), store.Cond{}); err != nil {
			t.Fatal(err)
		}
		j.Close()
	}
	segs, _ := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	if len(segs) > 2 {
		t.Errorf("%d segment files after 3 short runs; want the one in use and a spare", len(segs))
	}
	j := open(t, dir, 1<<16)
	defer j.Close()
	if got := scanAll(t, j); len(got) != 3 {
		t.Fatalf("%d items; want 3", len(got))
	}
}

// Ready says whether a next segment can be made, and is ready again once
// the disk has room.
func TestReady(t *testing.T) {
	t.Parallel()
	j := open(t, t.TempDir(), 4096)
	defer j.Close()
	if err := j.Ready(); err != nil {
		t.Fatalf("Ready on an empty journal: %v", err)
	}
	var full atomic.Bool
	j.mu.Lock()
	if r := <-j.spare; r.seg != nil {
		r.seg.close()
		os.Remove(r.seg.path)
	}
	ch := make(chan spareResult, 1)
	ch <- spareResult{err: syscall.ENOSPC}
	j.spare = ch
	real := j.create
	j.create = func(dir string, num uint64, size int64) (*segment, error) {
		if full.Load() {
			return nil, syscall.ENOSPC
		}
		return real(dir, num, size)
	}
	j.mu.Unlock()
	full.Store(true)
	if err := j.Ready(); !errors.Is(err, ErrFull) {
		t.Fatalf("Ready on a full disk: %v; want ErrFull", err)
	}
	full.Store(false)
	if err := j.Ready(); err != nil {
		t.Fatalf("Ready once the disk has room: %v", err)
	}
	// The segment Ready made is the one the journal moves to.
	for i := range 30 {
		if err := j.Put(context.Background(), tbl, item("c", i, 200), store.Cond{}); err != nil {
			t.Fatalf("Put %d after Ready: %v", i, err)
		}
	}
}

// InsecureDelete takes one item out, as an attacker rewriting the files
// would; the rest survive a reopen.
func TestInsecureDelete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	j := open(t, dir, 2048)
	for i := range 20 {
		if err := j.Put(ctx, tbl, item("c", i, 200), store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.InsecureDelete(ctx, tbl, item("c", 7, 0)); err != nil {
		t.Fatal(err)
	}
	if err := j.Put(ctx, tbl, item("c", 20, 200), store.Cond{}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = open(t, dir, 2048)
	defer j.Close()
	got := scanAll(t, j)
	if len(got) != 20 {
		t.Fatalf("%d items after deleting one of 21; want 20", len(got))
	}
	if _, err := j.Get(ctx, tbl, item("c", 7, 0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted item: %v", err)
	}
}
