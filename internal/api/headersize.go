package api

import (
	"fmt"
	"net/http"
)

// Header size limits. A request whose line and header fields exceed
// MaxHeaderBytes is answered 431 in its route's error shape
// (problem+json; on the reference routes, FastAPI's). The HTTP server
// itself refuses, as text/plain before any handler runs, only those over
// ServerMaxHeaderBytes (http.Server.MaxHeaderBytes, to which net/http
// adds 4096 bytes), which it must read into memory to hand over.
const (
	MaxHeaderBytes       = 64 << 10
	ServerMaxHeaderBytes = 256 << 10
)

// headerBytes is the size of a request's line and header fields about as
// sent: each field as "Name: value\r\n", Host included, and the blank line.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2 + len("Host: \r\n") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": \r\n") + len(v)
		}
	}
	return n
}

// headersTooLarge answers a request whose header fields exceed
// MaxHeaderBytes.
func headersTooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if isReferencePath(r.URL.Path) {
		writeReferenceError(w, http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large")
		return
	}
	writeProblem(w, http.StatusRequestHeaderFieldsTooLarge,
		fmt.Sprintf("the request line and header fields exceed %d KiB", MaxHeaderBytes>>10))
}
