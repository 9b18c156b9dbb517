//go:build unix

package sink

import (
	"errors"
	"net"
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

// peerClosed reports whether the peer of stream connection c has closed
// or reset it, without blocking. A syslog server sends nothing, so a
// socket with something to read has met EOF or an error: writing to it
// would succeed once, into the send buffer, and lose what it carries.
// Bytes a server does send are read and dropped, so that a close after
// them is seen by a later call.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [512]byte
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_DONTWAIT)
		switch {
		case rerr == nil:
			closed = n == 0 // EOF
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EINTR):
		default:
			closed = true
		}
		return true // never wait for readability
	})
	return closed || err != nil
}
