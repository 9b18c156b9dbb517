//go:build unix

package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// server is a fake syslog server: it collects the messages it receives,
// one a datagram or one an octet-counted frame on a stream.
type server struct {
	t       *testing.T
	network string // "unixgram", "unix" or "tcp"
	where   string // its path or host:port
	msgs    chan []byte

	mu      sync.Mutex
	closers []io.Closer // the socket or listener, and accepted connections
	accepts int
}

// startServer starts a fake server on network; where is a path for the
// unix networks (empty: a new one in a temporary directory) or host:port.
func startServer(t *testing.T, network, where string) *server {
	t.Helper()
	if where == "" && network != "tcp" {
		where = filepath.Join(t.TempDir(), "log")
	}
	if where == "" {
		where = "127.0.0.1:0"
	}
	s := &server{t: t, network: network, where: where, msgs: make(chan []byte, 1000)}
	if network == "unixgram" {
		c, err := net.ListenPacket("unixgram", where)
		if err != nil {
			t.Fatal(err)
		}
		s.closers = append(s.closers, c)
		go s.readDatagrams(c)
	} else {
		l, err := net.Listen(network, where)
		if err != nil {
			t.Fatal(err)
		}
		s.where = l.Addr().String()
		s.closers = append(s.closers, l)
		go s.accept(l, s.readFrames)
	}
	t.Cleanup(s.stop)
	return s
}

// address is the sink's Address for the server.
func (s *server) address() string {
	return map[string]string{"unixgram": "unixgram://", "unix": "unix://", "tcp": "tcp://"}[s.network] + s.where
}

func (s *server) readDatagrams(c net.PacketConn) {
	buf := make([]byte, 1<<16)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		s.msgs <- append([]byte(nil), buf[:n]...)
	}
}

func (s *server) accept(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.closers = append(s.closers, c)
		s.accepts++
		s.mu.Unlock()
		go serve(c)
	}
}

func (s *server) readFrames(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		msg, err := readFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.t.Errorf("server: %v", err)
			}
			return
		}
		s.msgs <- msg
	}
}

// stop closes the server's socket and every connection it accepted.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.closers {
		_ = c.Close()
	}
	s.closers = nil
}

func (s *server) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// next waits for the next message and parses it.
func (s *server) next(t *testing.T) message {
	t.Helper()
	raw := <-s.msgs
	m, err := parse5424(raw)
	if err != nil {
		t.Fatalf("server got %q: %v", raw, err)
	}
	return m
}

// startStalled starts a TCP server that accepts and never reads, with a
// small receive buffer so that the sender's buffers fill soon.
func startStalled(t *testing.T) string {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, closers: []io.Closer{l}}
	go s.accept(l, func(net.Conn) {})
	t.Cleanup(s.stop)
	return "tcp://" + l.Addr().String()
}

// frame is an RFC 6587 octet-counted frame of msg.
func frame(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

// readFrame reads one RFC 6587 octet-counted frame: MSG-LEN SP SYSLOG-MSG,
// MSG-LEN a NONZERO-DIGIT then DIGITs.
func readFrame(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(' ')
	if err != nil {
		return nil, err
	}
	digits := head[:len(head)-1]
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 || strconv.Itoa(n) != digits {
		return nil, fmt.Errorf("MSG-LEN %q is not a number without a leading zero", digits)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("frame of %d octets: %w", n, err)
	}
	return msg, nil
}
