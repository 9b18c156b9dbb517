package journal

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and the metadata needed to read it back),
// not its times: cheaper than fsync for a file whose size never changes.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
