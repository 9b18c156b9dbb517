// Package faultproxy is a TCP proxy for tests that must see a server, such
// as an emulator, go away and come back without restarting it.
//
// A Proxy listens on 127.0.0.1 and copies bytes both ways between each
// client and a new connection to its target. Down cuts every connection and
// resets new ones as soon as they are accepted, so clients fail at once
// rather than hang; Up lets connections through again. A Proxy is safe for
// concurrent use, and Close returns only once every goroutine it started
// has ended.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections to one target address.
type Proxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // ends at Close, aborting dials to the target
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	down   bool
	closed bool
	conns  map[net.Conn]struct{} // live connections, both sides
}

// New starts a proxy on 127.0.0.1 in front of target, a host:port. It
// dials target only when a client connects.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr returns the host:port that the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns "http://" followed by Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Down closes every live connection and resets each new one as soon as it
// is accepted, until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		abort(c)
	}
}

// Up ends Down: new connections reach the target again.
func (p *Proxy) Up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// Close stops listening, closes every connection and waits for the proxy's
// goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for c := range p.conns {
		abort(c)
	}
	p.mu.Unlock()
	p.cancel()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of file descriptors, say: try again shortly
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !p.track(c) {
			abort(c)
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// track adds c to the live connections, unless the proxy is down or
// closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// release closes c and forgets it.
func (p *Proxy) release(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// forward connects client to the target and copies both ways until both
// directions have ended.
func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	defer p.release(client)
	var d net.Dialer
	upstream, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		abort(client)
		return
	}
	if !p.track(upstream) { // Down or Close while dialing
		abort(upstream)
		return
	}
	defer p.release(upstream)
	done := make(chan struct{})
	go func() {
		pipe(upstream, client)
		close(done)
	}()
	pipe(client, upstream)
	<-done
}

// pipe copies src to dst. At the end of src it passes the end on to dst and
// leaves the other direction open; on an error it closes both.
func pipe(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		dst.Close()
	}
}

// abort closes c with a TCP reset, so that its peer gets an error at once.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
