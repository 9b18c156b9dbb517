package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sealstore/sealstore/internal/api"
)

// drain stops accepting connections and waits for in-flight requests.
func (s *service) drain(servers []*httpServer) error {
	timeout := s.cfg.DrainTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Seconds, a number: durations in the logs are numbers with their
	// unit in the name (duration_ms in the request log).
	s.log.Info("draining", slog.Float64("timeout_s", timeout.Seconds()))
	var errs []error
	for _, srv := range servers {
		err := shutdown(ctx, srv)
		if errors.Is(err, context.DeadlineExceeded) {
			srv.Close()
			err = fmt.Errorf("in-flight requests did not finish within the drain timeout (%s); they were cut off", timeout)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// shutdown is srv.Shutdown, except that it does not wait for connections
// on which no request has begun: net/http counts a connection that has
// sent nothing yet as busy for 5 s, and clients leave such connections
// open whenever they ran requests in parallel. Once no connection is in
// the middle of a request, the rest are closed.
func shutdown(ctx context.Context, srv *httpServer) error {
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if !srv.conns.busy() {
				srv.Close()
				return <-done
			}
		}
	}
}

// httpServer is an http.Server that knows its connections' states.
type httpServer struct {
	*http.Server
	conns *connTracker
}

// connTracker counts the connections in the middle of a request.
type connTracker struct {
	mu     sync.Mutex
	active map[net.Conn]bool
}

func (t *connTracker) observe(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateActive {
		t.active[c] = true
	} else {
		delete(t.active, c)
	}
}

func (t *connTracker) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.active) > 0
}

func newHTTPServer(h http.Handler, log *slog.Logger) *httpServer {
	t := &connTracker{active: map[net.Conn]bool{}}
	return &httpServer{conns: t, Server: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Above api.MaxHeaderBytes, which the handler enforces, so
		// that a request over it is answered in its route's error shape.
		MaxHeaderBytes: api.ServerMaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:      t.observe,
	}}
}
