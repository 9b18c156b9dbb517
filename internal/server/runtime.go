package server

import (
	"os"
	"runtime/debug"
)

// GC settings of the service, unless GOGC or GOMEMLIMIT set others.
const (
	gcPercent   = 400
	memoryLimit = 96 << 20
)

// TuneGC sets the service's garbage collector: a collection after the
// heap grows by 400% rather than 100%, under a soft limit of 96 MiB. Each
// request allocates a few dozen short-lived objects (mostly inside the
// standard library's HMAC and HKDF) over a live heap of a few MiB, so at
// the default the collector runs every few hundred requests; at 400% it
// runs a quarter as often, and the limit keeps the heap, and with it the
// process's memory, bounded. GOGC and GOMEMLIMIT still win. Call it once,
// from main.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
