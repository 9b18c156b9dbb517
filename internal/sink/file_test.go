package sink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entry returns an entry record whose JSON is {"n":n}.
func entry(n int) Record {
	return Record{Kind: KindEntry, Time: time.Unix(1700000000, 0), JSON: fmt.Appendf(nil, `{"n":%d}`, n)}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openFile(t *testing.T, path string) *File {
	t.Helper()
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func write(t *testing.T, s Sink, recs ...Record) {
	t.Helper()
	if err := s.Write(recs); err != nil {
		t.Fatalf("%s Write: %v", s.Name(), err)
	}
}

func TestFileWritesExactLines(t *testing.T) {
	t.Parallel()
	checkpoint := Record{Kind: KindCheckpoint, JSON: []byte(`{"kind":"checkpoint","mac":"AAAA"}`)}
	tests := []struct {
		name    string
		batches [][]Record
		want    string
	}{
		{"one", [][]Record{{entry(1)}}, "{\"n\":1}\n"},
		{"batch", [][]Record{{entry(1), entry(2), checkpoint}},
			"{\"n\":1}\n{\"n\":2}\n{\"kind\":\"checkpoint\",\"mac\":\"AAAA\"}\n"},
		{"batches", [][]Record{{entry(1)}, {}, {entry(2), entry(3)}}, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"},
		{"empty", [][]Record{{}, nil}, ""},
		{"unicode", [][]Record{{{Kind: KindEntry, JSON: []byte(`{"who":"Zoë ☃"}`)}}}, "{\"who\":\"Zoë ☃\"}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			f := openFile(t, path)
			for _, b := range tt.batches {
				write(t, f, b...)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file holds %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFileAppendsNeverTruncates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(path, []byte("{\"old\":true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(t, openFile(t, path), entry(1))
	write(t, openFile(t, path), entry(2)) // a second opener appends too
	want := "{\"old\":true}\n{\"n\":1}\n{\"n\":2}\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.jsonl")
	openFile(t, fresh)
	existing := filepath.Join(dir, "existing.jsonl")
	if err := os.WriteFile(existing, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(existing, 0o640); err != nil { // whatever the umask
		t.Fatal(err)
	}
	openFile(t, existing)
	for path, want := range map[string]os.FileMode{fresh: 0o600, existing: 0o640} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
		}
	}
}

func TestFileRotationByReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f := openFile(t, path)
	write(t, f, entry(1), entry(2))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, f, entry(3)) // before the SIGHUP: still the old file
	if err := f.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, f, entry(4))
	if got, want := readFile(t, path+".1"), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"; got != want {
		t.Errorf("rotated file holds %q, want %q", got, want)
	}
	if got, want := readFile(t, path), "{\"n\":4}\n"; got != want {
		t.Errorf("new file holds %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", fi.Mode().Perm())
	}
}

// A failed Reopen keeps the old file, and Write opens the path once it can.
func TestFileFailedReopenKeepsOldFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f := openFile(t, path)
	write(t, f, entry(1))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil { // the path cannot be opened
		t.Fatal(err)
	}
	if err := f.Reopen(); err == nil {
		t.Fatal("Reopen of a directory succeeded")
	}
	write(t, f, entry(2))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, f, entry(3))
	if got, want := readFile(t, path+".1"), "{\"n\":1}\n{\"n\":2}\n"; got != want {
		t.Errorf("old file holds %q, want %q", got, want)
	}
	if got, want := readFile(t, path), "{\"n\":3}\n"; got != want {
		t.Errorf("new file holds %q, want %q", got, want)
	}
}

func TestFileRefusesPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"symlink to a file", func(t *testing.T, path string) {
			target := filepath.Join(filepath.Dir(path), "key")
			if err := os.WriteFile(target, []byte("KEY"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, path string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(path), "nowhere"), path); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", makeFIFO},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "audit.jsonl")
			tt.make(t, path)
			if f, err := OpenFile(path); err == nil {
				_ = f.Close()
				t.Fatal("OpenFile succeeded")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "key")); err == nil && string(b) != "KEY" {
				t.Errorf("the link's target was written: %q", b)
			}
			if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
				t.Error("the dangling link's target was created")
			}
		})
	}
}

func TestFileRefusesInvalidBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  Record
	}{
		{"unknown kind", Record{Kind: "audit", JSON: []byte(`{}`)}},
		{"no kind", Record{JSON: []byte(`{}`)}},
		{"empty JSON", Record{Kind: KindEntry}},
		{"LF", Record{Kind: KindEntry, JSON: []byte("{\n}")}},
		{"CR", Record{Kind: KindEntry, JSON: []byte("{\r}")}},
		{"not an object", Record{Kind: KindEntry, JSON: []byte(`[1]`)}},
		{"two objects", Record{Kind: KindEntry, JSON: []byte(`{}{}`)}},
		{"not JSON", Record{Kind: KindEntry, JSON: []byte(`{"a":}`)}},
		{"not UTF-8", Record{Kind: KindEntry, JSON: []byte("{\"a\":\"\xff\"}")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			f := openFile(t, path)
			err := f.Write([]Record{entry(1), tt.rec})
			if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "record 1") {
				t.Errorf("Write = %v, want ErrInvalidRecord for record 1", err)
			}
			if got := readFile(t, path); got != "" {
				t.Errorf("file holds %q after a refused batch", got)
			}
		})
	}
}

func TestFileClosed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write(t, f, entry(1))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Write([]Record{entry(2)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := f.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close = %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got := readFile(t, path); got != "{\"n\":1}\n" {
		t.Errorf("file holds %q", got)
	}
	if f.Name() != "file" {
		t.Errorf("Name = %q", f.Name())
	}
}
