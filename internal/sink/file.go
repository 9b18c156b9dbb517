package sink

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// File is the file sink: JSON lines, one record a line, appended to one
// path. It is safe for concurrent use.
//
// Its choices:
//
//   - The file is opened O_WRONLY|O_APPEND|O_CREATE, and never truncated.
//     A new file gets mode 0600; an existing file keeps its mode and owner
//     (a rotation tool's own "create" mode is respected).
//   - The path's last component must not be a symbolic link (it is opened
//     O_NOFOLLOW), and it must name a regular file: a link planted there
//     cannot steer audit lines into another file this process may write,
//     such as its database or its key file, and a FIFO cannot block it.
//     Directories above it may be links.
//   - Each Write is one write(2) of all its lines, so other appenders and
//     readers see whole batches, as far as the OS keeps appends whole
//     (local file systems do; Go splits writes over 1 GiB). If a write
//     fails partway (a full disk), the next Write starts with a newline,
//     so that the torn line stays one line that readers can skip.
//   - Write does not fsync; Close does.
//   - Reopen opens the path again (for rotation: mv the file, then
//     SIGHUP). If that fails, the sink keeps the file it has open, so that
//     nothing is lost (after a mv that is the renamed file), Reopen
//     returns the error, and each later Write tries the path again until
//     it opens. If the old file was deleted rather than renamed, its lines
//     written in between are lost with it.
type File struct {
	path string

	mu     sync.Mutex
	f      *os.File // nil once closed
	retry  bool     // a Reopen failed: Write tries the path again
	torn   bool     // the file may end in a partial line
	buf    []byte   // reused between Writes
	closed bool
}

// maxKeptBuf bounds the buffer kept between Writes.
const maxKeptBuf = 1 << 20

// OpenFile opens path for appending, creating it with mode 0600 if it does
// not exist. It refuses a path whose last component is a symbolic link or
// that is not a regular file.
func OpenFile(path string) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &File{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|openFlags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sink: open audit file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if err == nil {
		err = setBlocking(f)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("sink: open audit file: %w", err)
	}
	return f, nil
}

// Name returns "file".
func (s *File) Name() string { return "file" }

// Write appends one line per record, all in one write(2). It returns
// ErrInvalidRecord (wrapped) having written nothing if a record is
// invalid, and ErrClosed after Close.
func (s *File) Write(recs []Record) error {
	if err := check(recs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	if s.retry {
		_ = s.reopen() // on failure the open file still takes the lines
	}
	buf := s.buf[:0]
	if s.torn {
		buf = append(buf, '\n')
	}
	for _, r := range recs {
		buf = append(buf, r.JSON...)
		buf = append(buf, '\n')
	}
	n, err := s.f.Write(buf)
	if cap(buf) <= maxKeptBuf {
		s.buf = buf[:0]
	}
	if err != nil {
		s.torn = n > 0 && buf[n-1] != '\n' || n == 0 && s.torn
		return fmt.Errorf("sink: write audit file: %w", err)
	}
	s.torn = false
	return nil
}

// Reopen opens the path again and switches to it, closing the old file.
// On failure the old file stays in use and later Writes try the path
// again; the error says why it failed.
func (s *File) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.reopen()
}

func (s *File) reopen() error {
	f, err := openAppend(s.path)
	if err != nil {
		s.retry = true
		return err
	}
	old := s.f
	s.f, s.retry = f, false
	if s.torn && !sameFile(old, f) {
		s.torn = false // the partial line stays in the old file
	}
	if err := old.Close(); err != nil {
		return fmt.Errorf("sink: close the old audit file: %w", err)
	}
	return nil
}

func sameFile(a, b *os.File) bool {
	ai, err1 := a.Stat()
	bi, err2 := b.Stat()
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}

// Close fsyncs and closes the file. Later calls return nil.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := errors.Join(s.f.Sync(), s.f.Close())
	s.f = nil
	if err != nil {
		return fmt.Errorf("sink: close audit file: %w", err)
	}
	return nil
}
