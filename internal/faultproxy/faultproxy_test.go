package faultproxy_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/faultproxy"
)

// fast bounds every read and write: a proxy that hangs fails the test
// instead of passing late.
const fast = 30 * time.Second

// echo starts a TCP echo server for the test and returns its address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// start returns a proxy in front of target, closed when the test ends.
func start(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// dial connects to p, with every read and write bounded by fast.
func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), fast)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(fast))
	return c
}

// roundTrip sends msg on c and checks that it comes back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo differs from what was sent")
	}
}

// cutOff checks that c fails at once, with an error and not a timeout.
func cutOff(t *testing.T, c net.Conn) {
	t.Helper()
	c.Write([]byte("x")) // may succeed: the reset can come after it
	_, err := c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read on a cut connection: %v, want a prompt error", err)
	}
}

// refused checks that a new connection through p fails at once: on connect
// if the reset beats it, else on the first read.
func refused(t *testing.T, p *faultproxy.Proxy) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), fast)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("dial: %v, want a prompt error", err)
		}
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(fast))
	cutOff(t, c)
}

func TestForwardsBothWays(t *testing.T) {
	t.Parallel()
	p := start(t, echo(t))
	if p.URL() != "http://"+p.Addr() {
		t.Errorf("URL() = %q, Addr() = %q", p.URL(), p.Addr())
	}
	big := make([]byte, 4<<20)
	rand.Read(big)
	for i := range 4 {
		t.Run(fmt.Sprint("conn", i), func(t *testing.T) {
			t.Parallel()
			roundTrip(t, dial(t, p), big)
		})
	}
}

func TestHalfClose(t *testing.T) {
	t.Parallel()
	p := start(t, echo(t))
	c := dial(t, p)
	if _, err := c.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last words" {
		t.Fatalf("after CloseWrite read %q, %v; want the echo, then the end", got, err)
	}
}

func TestDownAndUp(t *testing.T) {
	t.Parallel()
	p := start(t, echo(t))
	live := dial(t, p)
	roundTrip(t, live, []byte("before"))

	p.Down()
	cutOff(t, live)
	for range 3 {
		refused(t, p)
	}
	p.Down() // twice is the same as once

	p.Up()
	roundTrip(t, dial(t, p), []byte("after"))
}

func TestTargetGone(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	refused(t, start(t, gone))
}

func TestClose(t *testing.T) {
	t.Parallel()
	p := start(t, echo(t))
	live := dial(t, p)
	roundTrip(t, live, []byte("before"))

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(fast):
		t.Fatal("Close did not return: a goroutine is stuck")
	}
	cutOff(t, live)
	if c, err := net.DialTimeout("tcp", p.Addr(), fast); err == nil {
		c.Close()
		t.Fatal("the proxy accepts connections after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
