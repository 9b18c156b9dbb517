//go:build unix

package sink

import (
	"os"
	"syscall"
)

// openFlags are added to the file sink's open flags: O_NOFOLLOW refuses a
// symbolic link as the last component; O_NONBLOCK keeps the open of a FIFO
// from blocking (the file is then refused as not regular).
const openFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// setBlocking clears O_NONBLOCK on a regular file that openFlags opened
// (Linux ignores it there; other systems and file systems may not).
func setBlocking(f *os.File) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
