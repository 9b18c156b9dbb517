package api

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// bodyReadTimeout bounds the reading of a request body (huma's default
// for the routes it reads bodies of).
const bodyReadTimeout = 5 * time.Second

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the request body (at most limit+1 bytes: huma answers
// 413 past limit) before huma does, so that a body that cannot be read is
// the client's fault, as it is: 400 for a malformed chunked encoding or a
// connection that ended within the body, 408 for one that stalled. huma
// would answer every error but a timeout with a 500.
func (s *server) readBody(limit int64) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		r, _ := humago.Unwrap(ctx)
		if r.Body == nil || r.Body == http.NoBody {
			next(ctx)
			return
		}
		_ = ctx.SetReadDeadline(time.Now().Add(bodyReadTimeout))
		buf := bodyBufs.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf.Cap() <= 1<<20 {
				bodyBufs.Put(buf)
			}
		}()
		_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
		if err != nil {
			status, msg := http.StatusBadRequest, "the request body could not be read (a malformed chunked encoding, or the connection ended within the body)"
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				status, msg = http.StatusRequestTimeout, "request body read timeout"
			}
			ctx.SetHeader("Connection", "close")
			_ = huma.WriteErr(s.api, ctx, status, msg)
			return
		}
		// The body is read. net/http now reads the connection in the
		// background while the handler runs, and cancels the request's
		// context if that read fails: no read deadline may be set from
		// here on (huma's is turned off in register), or a handler still
		// working when it passed, such as a batch of writes to a slow
		// store, would be canceled. The route's timeout bounds the handler.
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		next(ctx)
	}
}
