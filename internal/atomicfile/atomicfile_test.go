package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// noTemps fails if dir holds a leftover temporary file.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteNewCreatesWithMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o600, 0o644, 0o640, 0o400} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			data := []byte("contents\x00\xff of " + mode.String())
			if err := WriteNew(path, data, mode); err != nil {
				t.Fatalf("WriteNew: %v", err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
				t.Errorf("mode %v; want a regular file with mode %v", fi.Mode(), mode)
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("contents %q (%v); want %q", got, err, data)
			}
			noTemps(t, dir)
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("%d entries in the directory; want only the file", len(ents))
			}
		})
	}
}

func TestWriteNewEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "empty")
	if err := WriteNew(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("stat: %v, %v", fi, err)
	}
	noTemps(t, dir)
}

func TestWriteNewRefusesExistingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteNew(path, []byte("new"), 0o600)
	if err == nil {
		t.Fatal("WriteNew replaced an existing file")
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("error %v; want one wrapping fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("existing file now holds %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("existing file's mode changed to %v", fi.Mode())
	}
	noTemps(t, dir)
}

func TestWriteNewRefusesSymlink(t *testing.T) {
	t.Parallel()
	t.Run("to a file", func(t *testing.T) {
		t.Parallel()
		dir, other := t.TempDir(), t.TempDir()
		target := filepath.Join(other, "target")
		if err := os.WriteFile(target, []byte("target"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		err := WriteNew(link, []byte("new"), 0o600)
		if err == nil {
			t.Fatal("WriteNew wrote through a symbolic link")
		}
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("error %v; want one wrapping fs.ErrExist", err)
		}
		if got, _ := os.ReadFile(target); string(got) != "target" {
			t.Errorf("the link's target now holds %q", got)
		}
		if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
			t.Errorf("the link's target's mode changed to %v", fi.Mode())
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced (%v)", err)
		}
		noTemps(t, dir)
		noTemps(t, other)
	})
	t.Run("dangling", func(t *testing.T) {
		t.Parallel()
		dir, other := t.TempDir(), t.TempDir()
		target := filepath.Join(other, "nowhere")
		link := filepath.Join(dir, "link")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		err := WriteNew(link, []byte("new"), 0o600)
		if err == nil {
			t.Fatal("WriteNew replaced a dangling symbolic link")
		}
		if !errors.Is(err, fs.ErrExist) {
			t.Errorf("error %v; want one wrapping fs.ErrExist", err)
		}
		if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the dangling link's target was created (%v)", err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced (%v)", err)
		}
		noTemps(t, dir)
		noTemps(t, other)
	})
}

func TestWriteNewMissingDir(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no", "such", "f")
	if err := WriteNew(path, []byte("x"), 0o600); err == nil {
		t.Fatal("WriteNew into a missing directory succeeded")
	}
}

// Of many concurrent writers of one path, exactly one wins, and the file
// holds its data whole.
func TestWriteNewConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = WriteNew(path, bytes.Repeat([]byte{byte('a' + i)}, 64<<10), 0o600)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		} else if !errors.Is(err, fs.ErrExist) {
			t.Errorf("writer %d: %v; want fs.ErrExist", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + winner)}, 64<<10)) {
		t.Error("the file does not hold the winner's data whole")
	}
	noTemps(t, dir)
}

func TestSyncDir(t *testing.T) {
	t.Parallel()
	if err := SyncDir(t.TempDir()); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("SyncDir of a missing directory: no error")
	}
}
