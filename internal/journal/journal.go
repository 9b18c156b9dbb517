// Package journal is an append-only store of items in files: the audit
// trail's storage on the embedded default. An item Put is written to the
// current segment file with one write(2) before Put returns, so a process
// killed afterwards loses nothing; Sync makes everything written so far
// durable with one fdatasync, and a caller may group many Puts under one
// Sync. A journal refuses to replace an item: Put succeeds only for a key
// it does not hold (store.Cond{Absent: true}, or no condition), as an
// append-only log should.
//
// Segments are fixed-size files, zero-filled before use so that an
// fdatasync writes data blocks only (no file size or extent change); the
// next segment is prepared in the background. Each record is its length,
// its CRC-32C and its bytes; a zero length marks the end of a segment's
// records. At Open every segment is read: a record that is cut short or
// fails its checksum ends the journal (a write torn by a power loss), and
// what follows it is zeroed before anything is appended.
//
// The checksum detects accidents, not an attacker: what the journal holds
// must be authenticated by its user (the audit trail's entries are
// HMAC-chained).
//
// Only where each item is stays in memory (index.go: about 16 bytes an
// item for the audit trail's batches); Get and Scan read the files. Every
// segment stays open, one file descriptor each.
package journal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// DefaultSegmentSize is the size of a segment file.
const DefaultSegmentSize = 8 << 20

// Options tune a Journal; the zero value is the default.
type Options struct {
	// SegmentSize is the size of each segment file; zero:
	// DefaultSegmentSize. An item larger than a segment cannot be Put.
	SegmentSize int64
}

// Journal is an append-only store of items in a directory.
type Journal struct {
	dir     string
	segSize int64
	create  func(dir string, num uint64, size int64) (*segment, error) // createSegment; tests fail it

	mu      sync.Mutex
	tables  map[string]*table // by name
	segs    []*segment        // every segment, oldest first; a slot's seg indexes it
	cur     *segment          // being appended to, the last of segs
	unsyncd []*segment        // written since the last Sync, cur last
	spare   chan spareResult  // the next segment, being prepared
	closed  bool
	failed  error // a write that left the journal in doubt: every later Put fails
}

// length (header included).
type place struct {
	seg    *segment
	off, n int64
}

// Open opens the journal in dir, creating the directory (mode 0700) if it
// is missing, and reads every segment.
func Open(dir string, o Options) (*Journal, error) {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentSize < headerLen+1 || o.SegmentSize > maxRecord {
		return nil, fmt.Errorf("journal: segment size %d out of range", o.SegmentSize)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, segSize: o.SegmentSize, create: createSegment, tables: map[string]*table{}}
	if err := j.load(); err != nil {
		j.closeFiles()
		return nil, err
	}
	j.prepareSpare()
	return j, nil
}

// load reads the segments in order, indexing their records, and leaves
// the last one open for appending.
func (j *Journal) load() error {
	names, err := segmentNames(j.dir)
	if err != nil {
		return err
	}
	// A segment that was being made when the process stopped, and a
	// last segment with no record (the spare of the last run), are made
	// again when needed.
	leftovers, _ := filepath.Glob(filepath.Join(j.dir, segPrefix+"*"+segSuffix+".new"))
	for _, p := range leftovers {
		os.Remove(p)
	}
	for len(names) > 1 && emptySegment(filepath.Join(j.dir, names[len(names)-1])) {
		os.Remove(filepath.Join(j.dir, names[len(names)-1]))
		names = names[:len(names)-1]
	}
	for i, name := range names {
		seg, err := openSegment(filepath.Join(j.dir, name), segmentNumber(name), j.segSize)
		if err != nil {
			return err
		}
		j.adopt(seg)
		if err := seg.read(j.index); err != nil {
			return fmt.Errorf("journal: %s: %w", name, err)
		}
		if i < len(names)-1 {
			seg.end = j.segSize // full: nothing more is appended to it
		}
	}
	if j.cur == nil {
		return j.advance(nil)
	}
	return j.cur.clearTail()
}

// index records the item a record holds.
func (j *Journal) index(seg *segment, off, n int64, payload []byte) error {
	name, key, _, err := decodeRecord(payload)
	if err != nil {
		return err
	}
	tb := j.tables[name]
	if tb == nil {
		tb = newTable(store.Table{Name: name})
		j.tables[name] = tb
	}
	return tb.set(key, slot{seg: seg.idx, off: uint32(off), n: uint32(n)})
}

// adopt makes seg the current segment, the last of j.segs.
func (j *Journal) adopt(seg *segment) {
	seg.idx = uint32(len(j.segs))
	j.segs = append(j.segs, seg)
	j.cur = seg
}

// place is where a slot is, resolved (under j.mu).
func (j *Journal) place(s slot) place {
	return place{seg: j.segs[s.seg], off: int64(s.off), n: int64(s.n)}
}

func (p place) slot() slot { return slot{seg: p.seg.idx, off: uint32(p.off), n: uint32(p.n)} }

// CreateTable makes t known; a journal's tables exist once named.
func (j *Journal) CreateTable(_ context.Context, t store.Table) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errClosed
	}
	tb := j.tables[t.Name]
	if tb == nil {
		j.tables[t.Name] = newTable(t)
		return nil
	}
	tb.t = t
	return nil
}

// Put appends it to table t. It fails with store.ErrConflict if the key
// is already held (the journal never replaces an item), and refuses any
// condition but Absent. The item is handed to the OS before Put returns;
// Sync makes it durable.
func (j *Journal) Put(ctx context.Context, t store.Table, it attr.Item, c store.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Attr != "" {
		return fmt.Errorf("journal: table %s: only absent-key puts are supported", t.Name)
	}
	key, err := store.KeyOf(t, it)
	if err != nil {
		return err
	}
	rec, err := encodeRecord(t.Name, key, it)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	tb, err := j.table(t)
	if err != nil {
		return err
	}
	if _, held, err := tb.lookup(key); err != nil || held {
		return cmp.Or(err, fmt.Errorf("journal: table %s: %w", t.Name, store.ErrConflict))
	}
	p, err := j.append(rec)
	if err != nil {
		return err
	}
	return tb.set(key, p.slot())
}

// InsecureReplace appends it to table t whatever the journal holds under
// its key, and points the key at it: what someone able to write the files
// can do (a record appended under a key already held wins when the
// journal is read again). It is for tests that play that attacker; the
// service never calls it.
func (j *Journal) InsecureReplace(ctx context.Context, t store.Table, it attr.Item) error {
	key, err := store.KeyOf(t, it)
	if err != nil {
		return err
	}
	rec, err := encodeRecord(t.Name, key, it)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	tb, err := j.table(t)
	if err != nil {
		return err
	}
	p, err := j.append(rec)
	if err != nil {
		return err
	}
	return tb.set(key, p.slot())
}

// table returns the known table t (under j.mu).
func (j *Journal) table(t store.Table) (*table, error) {
	if j.closed {
		return nil, errClosed
	}
	if j.failed != nil {
		return nil, j.failed
	}
	tb := j.tables[t.Name]
	if tb == nil {
		return nil, fmt.Errorf("journal: no table %s", t.Name)
	}
	return tb, nil
}

// append writes rec at the end of the journal (under j.mu), moving to the
// next segment when the current one is full.
func (j *Journal) append(rec []byte) (place, error) {
	if int64(len(rec)) > j.segSize {
		return place{}, fmt.Errorf("journal: a %d-byte record does not fit in a segment", len(rec))
	}
	if j.cur.end+int64(len(rec)) > j.segSize {
		if err := j.advance(j.cur); err != nil {
			return place{}, err
		}
	}
	seg := j.cur
	off := seg.end
	if err := seg.write(rec, off); err != nil {
		// A short write leaves bytes that a later record would follow:
		// the journal cannot go on safely until it is reopened.
		j.failed = fmt.Errorf("journal: %w: write %s: %w", store.ErrUnavailable, seg.path, err)
		return place{}, j.failed
	}
	seg.end = off + int64(len(rec))
	if len(j.unsyncd) == 0 || j.unsyncd[len(j.unsyncd)-1] != seg {
		j.unsyncd = append(j.unsyncd, seg)
	}
	return place{seg: seg, off: off, n: int64(len(rec))}, nil
}

// Sync makes every item Put before it durable: one fdatasync of each
// segment written since the last Sync.
func (j *Journal) Sync() error {
	j.mu.Lock()
	segs := j.unsyncd
	j.unsyncd = nil
	j.mu.Unlock()
	for i, seg := range segs {
		if err := seg.sync(); err != nil {
			j.mu.Lock()
			j.unsyncd = append(segs[i:], j.unsyncd...)
			j.mu.Unlock()
			return fmt.Errorf("journal: %w: sync %s: %w", store.ErrUnavailable, seg.path, err)
		}
	}
	return nil
}

// Get returns the item of t with the key attributes of key, or
// store.ErrNotFound.
func (j *Journal) Get(ctx context.Context, t store.Table, key attr.Item) (attr.Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := store.KeyOf(t, key)
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	tb := j.tables[t.Name]
	var p place
	ok := false
	if tb != nil {
		var i uint32
		if i, ok, err = tb.lookup(k); ok {
			p = j.place(tb.order[i])
		}
	}
	closed := j.closed
	j.mu.Unlock()
	switch {
	case err != nil:
		return nil, err
	case closed:
		return nil, errClosed
	case !ok:
		return nil, store.ErrNotFound
	}
	return j.readAt(p)
}

func (j *Journal) readAt(p place) (attr.Item, error) {
	payload, err := p.seg.readRecord(p.off, p.n)
	if err != nil {
		return nil, fmt.Errorf("journal: %w: read %s: %w", store.ErrUnavailable, p.seg.path, err)
	}
	_, _, it, err := decodeRecord(payload)
	return it, err
}

// Scan returns up to limit items of t (limit <= 0: 100) after cursor, in
// the order they were first written; items written during a scan are
// found by it. A cursor is a position in that order.
func (j *Journal) Scan(ctx context.Context, t store.Table, cursor []byte, limit int) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = 100
	}
	from := 0
	if cursor != nil {
		n, err := strconv.Atoi(string(cursor))
		if err != nil || n < 0 {
			return store.Page{}, fmt.Errorf("journal: table %s: not a cursor of this journal", t.Name)
		}
		from = n
	}
	j.mu.Lock()
	var places []place
	next := -1
	if tb := j.tables[t.Name]; tb != nil && from < len(tb.order) {
		end := min(from+limit, len(tb.order))
		for _, sl := range tb.order[from:end] {
			places = append(places, j.place(sl))
		}
		if end < len(tb.order) {
			next = end
		}
	}
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return store.Page{}, errClosed
	}
	var page store.Page
	for _, p := range places {
		it, err := j.readAt(p)
		if err != nil {
			return store.Page{}, err
		}
		page.Items = append(page.Items, it)
	}
	if next >= 0 {
		page.Next = []byte(strconv.Itoa(next))
	}
	return page, nil
}

// Close syncs and closes the journal; later calls fail.
func (j *Journal) Close() error {
	err := j.Sync()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	if j.spare != nil {
		if r := <-j.spare; r.seg != nil {
			r.seg.close()
		}
	}
	j.closeFiles()
	return err
}

func (j *Journal) closeFiles() {
	for _, seg := range j.segs {
		seg.close()
	}
}

var errClosed = fmt.Errorf("journal: %w: closed", store.ErrUnavailable)

// segmentNames lists the segment files of dir, oldest first.
func segmentNames(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var names []string
	for _, de := range des {
		if n := de.Name(); strings.HasPrefix(n, segPrefix) && strings.HasSuffix(n, segSuffix) && segmentNumber(n) > 0 {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(a, b int) bool { return segmentNumber(names[a]) < segmentNumber(names[b]) })
	return names, nil
}

// ErrFull reports that no next segment could be made (the disk is full):
// the journal takes no more items until one can be.
var ErrFull = errors.New("journal: no room for the next segment")
