package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sealstore/sealstore/attr"
)

// Segment files are named segPrefix + a 10-digit number + segSuffix.
const (
	segPrefix = "audit-"
	segSuffix = ".journal"
	// headerLen is a record's length and checksum, 4 bytes each.
	headerLen = 8
	// maxRecord bounds a record (and a segment).
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segment is one segment file.
type segment struct {
	f    *os.File
	path string
	num  uint64
	idx  uint32 // its index in Journal.segs
	end  int64  // where the next record goes
}

func segmentName(num uint64) string {
	return fmt.Sprintf("%s%010d%s", segPrefix, num, segSuffix)
}

// segmentNumber is the number in a segment file's name, or 0.
func segmentNumber(name string) uint64 {
	s := strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || len(s) != 10 {
		return 0
	}
	return n
}

func openSegment(path string, num uint64, size int64) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() != size {
		err = fmt.Errorf("%d bytes, not %d (made with another segment size?)", st.Size(), size)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	return &segment{f: f, path: path, num: num}, nil
}

// createSegment makes segment num in dir: a file of size zero bytes,
// written out and synced (with the directory), so that appending to it
// later changes data blocks only.
func createSegment(dir string, num uint64, size int64) (*segment, error) {
	path := filepath.Join(dir, segmentName(num))
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	err = zeroFill(f, size)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &segment{f: f, path: path, num: num}, nil
}

func zeroFill(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// emptySegment reports whether the segment file at path holds no record.
func emptySegment(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [4]byte
	_, err = io.ReadFull(f, hdr[:])
	return err == nil && binary.BigEndian.Uint32(hdr[:]) == 0
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// read calls index with every record of the segment, in order, and sets
// end after the last one. A record cut short or failing its checksum
// ends the segment: a torn write.
func (s *segment) read(index func(seg *segment, off, n int64, payload []byte) error) error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	var hdr [headerLen]byte
	for off := int64(0); off+headerLen <= size; {
		if _, err := s.f.ReadAt(hdr[:], off); err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		if n == 0 || off+headerLen+n > size {
			break
		}
		payload := make([]byte, n)
		if _, err := s.f.ReadAt(payload, off+headerLen); err != nil {
			return err
		}
		if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
			break
		}
		if err := index(s, off, headerLen+n, payload); err != nil {
			return fmt.Errorf("record at %d: %w", off, err)
		}
		off += headerLen + n
		s.end = off
	}
	return nil
}

// clearTail zeroes the segment after its last record, where a torn write
// may have left bytes, and syncs it.
func (s *segment) clearTail() error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	dirty := false
	for off := s.end; off < st.Size(); off += int64(len(buf)) {
		n := min(int64(len(buf)), st.Size()-off)
		got := make([]byte, n)
		if _, err := s.f.ReadAt(got, off); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if allZero(got) {
			continue
		}
		if _, err := s.f.WriteAt(buf[:n], off); err != nil {
			return err
		}
		dirty = true
	}
	if dirty {
		return s.f.Sync()
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (s *segment) write(rec []byte, off int64) error {
	_, err := s.f.WriteAt(rec, off)
	return err
}

func (s *segment) sync() error { return fdatasync(s.f) }

// readRecord returns the payload of the record at off, n bytes long.
func (s *segment) readRecord(off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := s.f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	if crc32.Checksum(buf[headerLen:], castagnoli) != binary.BigEndian.Uint32(buf[4:headerLen]) {
		return nil, errors.New("record checksum does not match")
	}
	return buf[headerLen:], nil
}

func (s *segment) close() { s.f.Close() }

// encodeRecord is the record of item it, with key key, of table name.
func encodeRecord(name string, key, it attr.Item) ([]byte, error) {
	payload, err := attr.MarshalTyped(attr.M{"t": attr.S(name), "k": attr.M(key), "i": attr.M(it)})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if len(payload) > maxRecord-headerLen {
		return nil, errors.New("journal: item too large")
	}
	rec := make([]byte, headerLen, headerLen+len(payload))
	binary.BigEndian.PutUint32(rec, uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(payload, castagnoli))
	return append(rec, payload...), nil
}

func decodeRecord(payload []byte) (name string, key, it attr.Item, err error) {
	v, err := attr.UnmarshalTyped(payload)
	m, ok := v.(attr.M)
	if err != nil || !ok {
		return "", nil, nil, errors.New("journal: record is not an item")
	}
	t, ok1 := m["t"].(attr.S)
	k, ok2 := m["k"].(attr.M)
	i, ok3 := m["i"].(attr.M)
	if !ok1 || !ok2 || !ok3 {
		return "", nil, nil, errors.New("journal: record is not an item")
	}
	return string(t), attr.Item(k), attr.Item(i), nil
}

// rawKey is a key's canonical bytes, as a map key.
func rawKey(key attr.Item) (string, error) {
	b, err := attr.MarshalTyped(attr.M(key))
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	return string(b), nil
}
