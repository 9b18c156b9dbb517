package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// line is the JSON of one record of the concurrency test.
type line struct {
	W, B, I, N int // writer, batch, index in the batch, batch size
	Pad        string
}

// Writers appending to one path, two through one File and two through
// files of their own, while a reader follows the file: every line the
// reader sees whole is one record, each batch's lines are adjacent, and at
// the end every record is there once, each writer's in order.
func TestFileConcurrentWritesAreWholeLines(t *testing.T) {
	t.Parallel()
	const writers, batches = 4, 60
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	shared := openFile(t, path)
	sinks := []*File{shared, shared, openFile(t, path), openFile(t, path)}
	var wg sync.WaitGroup
	done := make(chan struct{})
	seen := make(chan []line, 1)
	go func() { seen <- follow(t, path, done) }()
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for b := range batches {
				if err := sinks[w].Write(batch(rng, w, b)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	lines := <-seen
	checkConcurrentLines(t, lines, writers, batches)
}

// batch returns 1 to 12 records of writer w's batch b, padded so that
// batches cross page boundaries.
func batch(rng *rand.Rand, w, b int) []Record {
	recs := make([]Record, 1+rng.IntN(12))
	for i := range recs {
		js, err := json.Marshal(line{W: w, B: b, I: i, N: len(recs), Pad: strings.Repeat("x", rng.IntN(1500))})
		if err != nil {
			panic(err)
		}
		recs[i] = Record{Kind: KindEntry, JSON: js}
	}
	return recs
}

// follow reads path as it grows until done is closed and the file is read
// to its end, checking each whole line as it comes.
func follow(t *testing.T, path string, done <-chan struct{}) []line {
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer f.Close()
	var lines []line
	var pending []byte
	buf := make([]byte, 64<<10)
	for finished := false; ; {
		n, err := f.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			var l line
			if err := json.Unmarshal(pending[:i], &l); err != nil {
				t.Errorf("torn line %.80q: %v", pending[:i], err)
			}
			lines, pending = append(lines, l), pending[i+1:]
		}
		if err == io.EOF && finished {
			break
		}
		if err == io.EOF {
			select {
			case <-done:
				finished = true // one more read to the end
			default:
			}
		} else if err != nil {
			t.Error(err)
			return lines
		}
	}
	if len(pending) != 0 {
		t.Errorf("the file ends in a partial line %.80q", pending)
	}
	return lines
}

func checkConcurrentLines(t *testing.T, lines []line, writers, batches int) {
	t.Helper()
	last := make([]line, writers) // each writer's last line seen
	for w := range last {
		last[w] = line{W: w, B: -1, I: 0, N: 1}
	}
	for k, l := range lines {
		prev := last[l.W]
		want := line{W: l.W, B: prev.B, I: prev.I + 1, N: prev.N}
		if prev.I+1 == prev.N {
			want = line{W: l.W, B: prev.B + 1, I: 0, N: l.N}
		}
		if l.B != want.B || l.I != want.I || l.N != want.N {
			t.Fatalf("line %d is writer %d batch %d record %d/%d, want batch %d record %d", k, l.W, l.B, l.I, l.N, want.B, want.I)
		}
		if l.I > 0 && lines[k-1].W != l.W {
			t.Fatalf("line %d: batch %d of writer %d is split by another writer's line", k, l.B, l.W)
		}
		last[l.W] = l
	}
	for w, l := range last {
		if l.B != batches-1 || l.I != l.N-1 {
			t.Errorf("writer %d: last line is batch %d record %d/%d, want the last of batch %d", w, l.B, l.I, l.N, batches-1)
		}
	}
}

// Reopen from another goroutine (a SIGHUP handler) while Writes go on,
// the file renamed before each: every line lands whole in exactly one
// of the files, in order.
func TestFileReopenDuringWrites(t *testing.T) {
	t.Parallel()
	const records, rotations = 400, 8
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	f := openFile(t, path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := range records {
			if err := f.Write([]Record{entry(n)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range rotations {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, i)); err != nil {
			t.Fatal(err)
		}
		if err := f.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	var all []string
	for i := range rotations {
		all = append(all, strings.Split(readFile(t, fmt.Sprintf("%s.%d", path, i)), "\n")...)
	}
	all = append(all, strings.Split(readFile(t, path), "\n")...)
	next := 0
	for _, l := range all {
		if l == "" {
			continue
		}
		if want := fmt.Sprintf(`{"n":%d}`, next); l != want {
			t.Fatalf("line %q, want %q", l, want)
		}
		next++
	}
	if next != records {
		t.Errorf("%d records in the files, want %d", next, records)
	}
}
