//go:build !unix

package sink

import (
	"net"
	"os"
)

// openFlags: no O_NOFOLLOW or O_NONBLOCK here; the checks after the open
// (a regular file) still apply.
const openFlags = 0

func setBlocking(*os.File) error { return nil }

// peerClosed cannot look without blocking here: a closed peer is found
// by the write that fails.
func peerClosed(net.Conn) bool { return false }
