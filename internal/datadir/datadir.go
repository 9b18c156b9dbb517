// Package datadir lays out the embedded default's data directory: the
// bbolt database, the local root key file (mode 0600) and a self-signed
// TLS certificate, created on first use and reused afterwards.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store/bolt"
)

// Default is the data directory used when none is given.
const Default = "sealstore-data"

// File names inside the data directory.
const (
	DBFile   = "sealstore.db"
	RootFile = "root.key"
	// AuditDir holds the audit trail's journal (package journal).
	AuditDir = "audit"
	CertFile = "tls-cert.pem"
	KeyFile  = "tls-key.pem"
)

// lockWait is how long Open waits for another process to release the
// database before saying the directory is in use.
const lockWait = 500 * time.Millisecond

// Dir is an open data directory.
type Dir struct {
	Path  string
	Store *bolt.Store
	Root  *localroot.Key
}

// Open opens the data directory at path, creating it and whatever it lacks.
// It refuses a directory that is a symbolic link, belongs to another user
// or that group or others may write, a root key or TLS key file that others
// may read, and a database without its root key (that data could never be
// read again). The database lock is taken before anything is created, so
// two servers starting at once cannot both initialize the directory.
func Open(path string) (_ *Dir, err error) {
	if err := ensureDir(path); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(path, DBFile)
	rootPath := filepath.Join(path, RootFile)
	fresh := !exists(dbPath)
	db, err := bolt.Open(dbPath, lockWait)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			if fresh {
				// Leave no database behind whose root key was never made;
				// removed while the lock is still held.
				os.Remove(dbPath)
			}
			db.Close()
		}
	}()
	root, err := openRoot(rootPath, fresh)
	if err != nil {
		return nil, err
	}
	if err := EnsureCert(path); err != nil {
		return nil, err
	}
	return &Dir{Path: path, Store: db, Root: root}, nil
}

// ensureDir creates the data directory (mode 0700) or checks the existing
// one: a real directory, owned by this user, that no one else may write.
func ensureDir(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	switch {
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory (symbolic links are refused)", path)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("data directory %s has mode %04o: group or others may write it (chmod 700 %s)", path, fi.Mode().Perm(), path)
	case !ownedByMe(fi):
		return fmt.Errorf("data directory %s belongs to another user", path)
	}
	return nil
}

func openRoot(path string, fresh bool) (*localroot.Key, error) {
	if exists(path) {
		return localroot.Load(path)
	}
	if !fresh {
		return nil, fmt.Errorf("data directory: the database exists but its root key %s is missing: without it the stored records cannot be read", path)
	}
	return localroot.Create(path)
}

func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// ErrInUse is matched by OpenStore's error while another process (a
// server) holds the directory's database.
var ErrInUse = errors.New("in use by a running sealstore server")

// OpenStore opens the database of an existing data directory, for the
// offline tools (tokens). It fails, with an error matching ErrInUse, if a
// server holds the directory.
func OpenStore(path string) (*bolt.Store, error) {
	dbPath := filepath.Join(path, DBFile)
	if !exists(dbPath) {
		return nil, fmt.Errorf("no sealstore database in %s (run 'sealstore serve --data-dir %s' once to create it)", path, path)
	}
	db, err := bolt.Open(dbPath, lockWait)
	if errors.Is(err, bolt.ErrLocked) {
		return nil, fmt.Errorf("%s is %w: stop it first", path, ErrInUse)
	}
	return db, err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// Close closes the database.
func (d *Dir) Close() error { return d.Store.Close() }

// EnsureCertIn makes sure the directory at path exists with the checks of
// Open and holds a self-signed certificate, for a server whose data lives
// elsewhere (DynamoDB) but that has no --tls-cert.
func EnsureCertIn(path string) error {
	if err := ensureDir(path); err != nil {
		return err
	}
	return EnsureCert(path)
}
