//go:build !unix

package sink

import "os"

// openFlags: no O_NOFOLLOW or O_NONBLOCK here; the checks after the open
// (a regular file) still apply.
const openFlags = 0

func setBlocking(*os.File) error { return nil }
