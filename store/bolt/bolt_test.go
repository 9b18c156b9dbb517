package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
	"github.com/sealstore/sealstore/store/storetest"
)

var (
	users  = store.Table{Name: "users", PartitionKey: "id"}
	events = store.Table{Name: "events", PartitionKey: "user", SortKey: "at", PartitionType: store.KeyN, SortType: store.KeyN}
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "db"))
	})
}

// open opens path and closes it when the test ends.
func open(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// guard runs fn and returns its error, failing the test if fn panics or
// does not return (so a hang is reported rather than waiting for the test
// binary's timeout).
func guard(t *testing.T, what string, fn func() error) error {
	t.Helper()
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{panicked: true, value: p}
			}
		}()
		done <- result{err: fn()}
	}()
	select {
	case r := <-done:
		if r.panicked {
			t.Fatalf("%s panicked: %v", what, r.value)
		}
		return r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return after 30s", what)
		return nil
	}
}

func mustPut(t *testing.T, s *bolt.Store, tbl store.Table, it attr.Item) {
	t.Helper()
	if err := s.Put(t.Context(), tbl, it, store.Cond{}); err != nil {
		t.Fatalf("Put(%s, %v): %v", tbl.Name, it, err)
	}
}

func mustCreate(t *testing.T, s *bolt.Store, tbls ...store.Table) {
	t.Helper()
	for _, tbl := range tbls {
		if err := s.CreateTable(t.Context(), tbl); err != nil {
			t.Fatalf("CreateTable(%s): %v", tbl.Name, err)
		}
	}
}

func wantItem(t *testing.T, s *bolt.Store, tbl store.Table, want attr.Item) {
	t.Helper()
	got, err := s.Get(t.Context(), tbl, want)
	if err != nil {
		t.Fatalf("Get(%s, %v): %v", tbl.Name, want, err)
	}
	if !attr.Equal(attr.M(got), attr.M(want)) {
		t.Fatalf("Get(%s) = %v, want %v", tbl.Name, got, want)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	first := open(t, path)
	mustCreate(t, first, users)

	second, err := bolt.Open(path, 50*time.Millisecond)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	// A zero or negative wait also fails at once with ErrLocked.
	for _, wait := range []time.Duration{0, -time.Second} {
		_, err = bolt.Open(path, wait)
		if !errors.Is(err, bolt.ErrLocked) {
			t.Fatalf("Open with lockWait %v: %v, want ErrLocked", wait, err)
		}
	}

	// The failed Opens did not disturb the first.
	it := attr.Item{"id": attr.S("a")}
	mustPut(t, first, users, it)
	wantItem(t, first, users, it)

	// Once the first is closed the file can be opened again.
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	third := open(t, path)
	wantItem(t, third, users, it)
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{
		dir,                                 // a directory
		filepath.Join(dir, "missing", "db"), // parent does not exist
	} {
		s, err := bolt.Open(path, 50*time.Millisecond)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s): nil error", path)
			continue
		}
		if errors.Is(err, bolt.ErrLocked) {
			t.Errorf("Open(%s): %v; should not be ErrLocked", path, err)
		}
	}
	// A file that is not a bbolt database.
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, make([]byte, 64*1024), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := bolt.Open(junk, 50*time.Millisecond); err == nil {
		s.Close()
		t.Error("Open of a zero-filled file: nil error")
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, users, events)
	u := attr.Item{"id": attr.S("u1"), "name": attr.S("Ann"), "tags": attr.SS{"a", "b"}, "n": attr.N("1.5")}
	e1 := attr.Item{"user": attr.N("1"), "at": attr.N("1"), "what": attr.S("login")}
	e2 := attr.Item{"user": attr.N("1"), "at": attr.N("2"), "what": attr.M{"x": attr.L{attr.Bool(true)}}}
	gone := attr.Item{"id": attr.S("gone")}
	for _, w := range []struct {
		tbl store.Table
		it  attr.Item
	}{{users, u}, {events, e1}, {events, e2}, {users, gone}} {
		mustPut(t, s, w.tbl, w.it)
	}
	if err := s.Delete(t.Context(), users, gone, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path)
	wantItem(t, s, users, u)
	wantItem(t, s, events, e1)
	wantItem(t, s, events, e2)
	if _, err := s.Get(t.Context(), users, gone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted item after reopen: %v, want ErrNotFound", err)
	}
	// Tables and their schemas persist: same schema is fine, another is not.
	mustCreate(t, s, users, events)
	if err := s.CreateTable(t.Context(), store.Table{Name: "users", PartitionKey: "other"}); err == nil {
		t.Fatal("CreateTable with another key schema after reopen: nil error")
	}
	// Scan still sees exactly the live items.
	page, err := s.Scan(t.Context(), users, nil, 0)
	if err != nil || len(page.Items) != 1 || page.Next != nil {
		t.Fatalf("Scan users after reopen = %d items, Next %x, %v; want 1 item", len(page.Items), page.Next, err)
	}
}

// copyFile copies the database file as it is on disk right now: what a
// crash at this moment would leave behind.
func copyFile(t *testing.T, from string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "crash-copy")
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestPutIsCommittedWhenItReturns(t *testing.T) {
	// A Put that returned nil is in the file at once, without Close: a copy
	// of the file taken right after (as a crash would leave it) has it.
	path := filepath.Join(t.TempDir(), "db")
	s := open(t, path)
	mustCreate(t, s, users)
	it := attr.Item{"id": attr.S("k"), "v": attr.N("1")}
	mustPut(t, s, users, it)

	c := open(t, copyFile(t, path))
	wantItem(t, c, users, it)

	// The same for a Delete and a replacing Put.
	it2 := attr.Item{"id": attr.S("k"), "v": attr.N("2")}
	mustPut(t, s, users, it2)
	other := attr.Item{"id": attr.S("other")}
	mustPut(t, s, users, other)
	if err := s.Delete(t.Context(), users, other, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	c = open(t, copyFile(t, path))
	wantItem(t, c, users, it2)
	if _, err := c.Get(t.Context(), users, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted item in copy: %v, want ErrNotFound", err)
	}
}

func TestConcurrentPutsSurviveReopen(t *testing.T) {
	// Group-committed writes: every Put that returned nil is durable.
	path := filepath.Join(t.TempDir(), "db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, events)
	const workers, each = 32, 20
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				it := attr.Item{"user": attr.N(strconv.Itoa(w)), "at": attr.N(strconv.Itoa(i))}
				if err := s.Put(context.Background(), events, it, store.Cond{Absent: true}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Copy before Close: the file must already hold every write.
	crash := copyFile(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, crash} {
		r := open(t, p)
		for w := range workers {
			for i := range each {
				wantItem(t, r, events, attr.Item{"user": attr.N(strconv.Itoa(w)), "at": attr.N(strconv.Itoa(i))})
			}
		}
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s := open(t, path)
	mustCreate(t, s, users)
	mustPut(t, s, users, attr.Item{"id": attr.S("x")})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("file mode %v, want -rw-------", fi.Mode().Perm())
	}
}

func TestPing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of open store: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping with canceled context: %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err = guard(t, "Ping after Close", func() error { return s.Ping(t.Context()) })
	if err == nil {
		t.Fatal("Ping after Close: nil error")
	}
}

func TestClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, users)
	kept := attr.Item{"id": attr.S("kept")}
	mustPut(t, s, users, kept)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := guard(t, "second Close", s.Close); err != nil {
		t.Errorf("second Close: %v", err)
	}

	ctx := t.Context()
	// Writes after Close fail with ErrUnavailable.
	writes := []struct {
		name string
		fn   func() error
	}{
		{"Put", func() error { return s.Put(ctx, users, attr.Item{"id": attr.S("new")}, store.Cond{}) }},
		{"Put Absent", func() error { return s.Put(ctx, users, attr.Item{"id": attr.S("new")}, store.Cond{Absent: true}) }},
		{"Delete", func() error { return s.Delete(ctx, users, kept, store.Cond{}) }},
		{"CreateTable", func() error { return s.CreateTable(ctx, events) }},
	}
	for _, w := range writes {
		err := guard(t, w.name+" after Close", w.fn)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", w.name, err)
		}
	}
	// Reads after Close fail (and do not panic).
	reads := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, users, kept); return err }},
		{"Scan", func() error { _, err := s.Scan(ctx, users, nil, 0); return err }},
	}
	for _, r := range reads {
		err := guard(t, r.name+" after Close", r.fn)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after Close: %v, want an error other than ErrNotFound", r.name, err)
		}
	}
	if t.Failed() {
		return
	}
	// Nothing was written after Close.
	r := open(t, path)
	wantItem(t, r, users, kept)
	if _, err := r.Get(t.Context(), users, attr.Item{"id": attr.S("new")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("item Put after Close is in the file: %v", err)
	}
}

func TestCloseDuringWrites(t *testing.T) {
	// Writes racing Close either succeed (and are then in the file) or
	// fail with ErrUnavailable; none panics or hangs.
	path := filepath.Join(t.TempDir(), "db")
	s, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, users)
	const workers = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	ok := make([][]string, workers)
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			<-start
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", w, i)
				err := s.Put(context.Background(), users, attr.Item{"id": attr.S(id)}, store.Cond{})
				if err == nil {
					ok[w] = append(ok[w], id)
					continue
				}
				if !errors.Is(err, store.ErrUnavailable) {
					errs[w] = fmt.Errorf("Put %s racing Close: %w", id, err)
				}
				return
			}
		})
	}
	close(start)
	// Let at least one write through before closing.
	for {
		if _, err := s.Get(t.Context(), users, attr.Item{"id": attr.S("0-0")}); err == nil {
			break
		}
	}
	if err := guard(t, "Close during writes", s.Close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := guard(t, "writers after Close", func() error { wg.Wait(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	r := open(t, path)
	n := 0
	for _, ids := range ok {
		for _, id := range ids {
			wantItem(t, r, users, attr.Item{"id": attr.S(id)})
			n++
		}
	}
	if n == 0 {
		t.Fatal("no write succeeded before Close")
	}
}

func TestScanGarbageCursor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db"))
	mustCreate(t, s, users, events)
	for i := range 20 {
		mustPut(t, s, users, attr.Item{"id": attr.S(fmt.Sprintf("u%02d", i))})
		mustPut(t, s, events, attr.Item{"user": attr.N(strconv.Itoa(i)), "at": attr.N(strconv.Itoa(i))})
	}
	// A real cursor from the other table, too.
	other, err := s.Scan(t.Context(), events, nil, 3)
	if err != nil || other.Next == nil {
		t.Fatalf("Scan events: %v, Next %x", err, other.Next)
	}
	cursors := [][]byte{
		{},
		{0},
		{0xff},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x00, 0x05, 0x00, 0x01},
		[]byte("garbage cursor"),
		make([]byte, 70000),
		other.Next,
	}
	for _, tbl := range []store.Table{users, events} {
		for i, c := range cursors {
			for _, limit := range []int{0, 1, 5} {
				what := fmt.Sprintf("Scan(%s, cursor %d, limit %d)", tbl.Name, i, limit)
				// Follow the pages: each call must return, without panicking,
				// and the scan must end.
				err := guard(t, what, func() error {
					cur := c
					for pages := 0; pages < 1000; pages++ {
						page, err := s.Scan(context.Background(), tbl, cur, limit)
						if err != nil {
							return nil // an error is an acceptable answer
						}
						if page.Next == nil {
							return nil
						}
						cur = page.Next
					}
					return errors.New("scan did not end")
				})
				if err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
		}
	}
}

func TestScanDefaultLimit(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db"))
	mustCreate(t, s, users)
	n := bolt.DefaultScanLimit + 5
	for i := range n {
		mustPut(t, s, users, attr.Item{"id": attr.S(strconv.Itoa(i))})
	}
	for _, limit := range []int{0, -1} {
		page, err := s.Scan(t.Context(), users, nil, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != bolt.DefaultScanLimit || page.Next == nil {
			t.Fatalf("Scan limit %d: %d items, Next %x; want %d and a cursor", limit, len(page.Items), page.Next, bolt.DefaultScanLimit)
		}
		page, err = s.Scan(t.Context(), users, page.Next, limit)
		if err != nil || len(page.Items) != 5 || page.Next != nil {
			t.Fatalf("second page: %d items, Next %x, %v; want 5, nil", len(page.Items), page.Next, err)
		}
	}
	// A full last page ends with a nil cursor, not an empty extra page.
	page, err := s.Scan(t.Context(), users, nil, n)
	if err != nil || len(page.Items) != n || page.Next != nil {
		t.Fatalf("Scan limit %d of %d items: %d items, Next %x, %v", n, n, len(page.Items), page.Next, err)
	}
}

func TestCreateTableSchemaConflict(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db"))
	mustCreate(t, s, events)
	for _, tbl := range []store.Table{
		{Name: "events", PartitionKey: "user"},
		{Name: "events", PartitionKey: "at", SortKey: "user"},
		{Name: "events", PartitionKey: "user", SortKey: "other"},
	} {
		if err := s.CreateTable(t.Context(), tbl); err == nil {
			t.Errorf("CreateTable(%+v) over %+v: nil error", tbl, events)
		}
	}
	for _, tbl := range []store.Table{{Name: "", PartitionKey: "id"}, {Name: "x"}} {
		if err := s.CreateTable(t.Context(), tbl); err == nil {
			t.Errorf("CreateTable(%+v): nil error", tbl)
		}
	}
}

func TestUnknownTable(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "db"))
	ctx := t.Context()
	nope := store.Table{Name: "nope", PartitionKey: "id"}
	it := attr.Item{"id": attr.S("a")}
	if err := s.Put(ctx, nope, it, store.Cond{}); err == nil {
		t.Error("Put to a table never created: nil error")
	}
	if err := s.Delete(ctx, nope, it, store.Cond{}); err == nil {
		t.Error("Delete from a table never created: nil error")
	}
	if _, err := s.Get(ctx, nope, it); err == nil {
		t.Error("Get from a table never created: nil error")
	}
	if _, err := s.Scan(ctx, nope, nil, 0); err == nil {
		t.Error("Scan of a table never created: nil error")
	}
}
