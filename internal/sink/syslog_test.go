//go:build unix

package sink

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func dial(t *testing.T, cfg SyslogConfig) *Syslog {
	t.Helper()
	s, err := DialSyslog(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Each transport delivers each record as one message that parses as RFC
// 5424, with the PRI of its kind, in order.
func TestSyslogTransports(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 12, 0, 0, 5000, time.UTC)
	tests := []struct {
		name, network string
		facility, pri int // the entry's PRI; the checkpoint's is one more
	}{
		{"unixgram", "unixgram", 0, 85},
		{"unix datagram", "unixgram", 16, 133},
		{"unix stream", "unix", 0, 85},
		{"tcp", "tcp", 4, 37},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.network, "")
			addr := srv.address()
			if tt.name == "unix datagram" {
				addr = "unix://" + srv.where // unix:// finds the socket's type
			}
			s := dial(t, SyslogConfig{Address: addr, Facility: tt.facility, Hostname: "test.host"})
			recs := []Record{
				{KindEntry, at, []byte(`{"n":1}`)},
				{KindCheckpoint, at, []byte(`{"n":2,"mac":"AAAA"}`)},
				{KindEntry, at, []byte(`{"n":3,"who":"Zoë"}`)},
			}
			write(t, s, recs...)
			for i, r := range recs {
				m := srv.next(t)
				pri, msgid := tt.pri, "audit"
				if r.Kind == KindCheckpoint {
					pri, msgid = tt.pri+1, "checkpoint"
				}
				want := message{pri: pri, timestamp: "2025-03-01T12:00:00.000005Z", hostname: "test.host",
					app: "sealstore", procid: strconv.Itoa(os.Getpid()), msgid: msgid, sd: "-", bom: true, msg: r.JSON}
				if !equalMessages(m, want) {
					t.Errorf("message %d: %+v, want %+v", i, m, want)
				}
			}
		})
	}
}

func equalMessages(a, b message) bool {
	return a.pri == b.pri && a.timestamp == b.timestamp && a.hostname == b.hostname && a.app == b.app &&
		a.procid == b.procid && a.msgid == b.msgid && a.sd == b.sd && a.bom == b.bom && bytes.Equal(a.msg, b.msg)
}

// On TCP the stream is exactly "LEN SP MSG" for each message, nothing
// else: read to its end after Close.
func TestSyslogOctetCountingIsExact(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		b, err := io.ReadAll(c)
		if err != nil {
			t.Error(err)
		}
		got <- string(b)
	}()
	s := dial(t, SyslogConfig{Address: "tcp://" + l.Addr().String(), Hostname: "h"})
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	long := `{"pad":"` + strings.Repeat("é", 600) + `"}` // a length of four digits
	write(t, s, Record{KindEntry, at, []byte(`{}`)}, Record{KindCheckpoint, at, []byte(long)})
	write(t, s, Record{KindEntry, time.Time{}, []byte(`{"a":1}`)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	want := frame("<85>1 2025-03-01T12:00:00.000000Z h sealstore "+pid+" audit - \uFEFF{}") +
		frame("<86>1 2025-03-01T12:00:00.000000Z h sealstore "+pid+" checkpoint - \uFEFF"+long) +
		frame("<85>1 - h sealstore "+pid+" audit - \uFEFF{\"a\":1}")
	if g := <-got; g != want {
		t.Errorf("stream\n%q, want\n%q", g, want)
	}
}

func TestSyslogDefaultHostname(t *testing.T) {
	t.Parallel()
	want, err := os.Hostname()
	if err != nil || !printUSASCII(want, 255) {
		want = "-"
	}
	srv := startServer(t, "unixgram", "")
	write(t, dial(t, SyslogConfig{Address: srv.address()}), entry(1))
	if m := srv.next(t); m.hostname != want || m.pri != 85 {
		t.Errorf("hostname %q, PRI %d; want %q, 85", m.hostname, m.pri, want)
	}
}

// A server that goes away makes Write fail, again and again while it is
// away; once it is back, the next Write reaches it, no Reopen needed.
func TestSyslogServerDownThenBack(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unixgram", "unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, network, "")
			s := dial(t, SyslogConfig{Address: srv.address()})
			write(t, s, entry(1))
			srv.next(t)
			srv.stop()
			waitPeerGone(t, s)
			for range 2 {
				if err := s.Write([]Record{entry(2)}); err == nil {
					t.Fatal("Write to a server that is down succeeded")
				}
			}
			srv = restart(t, srv)
			write(t, s, entry(3))
			if m := srv.next(t); string(m.msg) != `{"n":3}` {
				t.Errorf("the server back got %q", m.msg)
			}
		})
	}
}

// restart starts a new server where srv was.
func restart(t *testing.T, srv *server) *server {
	t.Helper()
	if srv.network != "tcp" { // a unix stream listener removes its socket itself
		if err := os.Remove(srv.where); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return startServer(t, srv.network, srv.where)
}

// waitPeerGone waits until s's stream connection has seen its server
// close it (the FIN may come after stop returns); datagram sockets fail
// at once.
func waitPeerGone(t *testing.T, s *Syslog) {
	t.Helper()
	s.mu.Lock()
	c, stream := s.conn, s.stream
	s.mu.Unlock()
	for stream && !peerClosed(c) {
		time.Sleep(time.Millisecond)
	}
}

// A server restarted between two Writes: the Write finds the connection
// dead, reconnects and sends, without an error.
func TestSyslogReconnectsWithinWrite(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"unixgram", "unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, network, "")
			s := dial(t, SyslogConfig{Address: srv.address()})
			write(t, s, entry(1))
			srv.next(t)
			srv.stop()
			waitPeerGone(t, s)
			srv = restart(t, srv)
			write(t, s, entry(2), entry(3))
			for _, want := range []string{`{"n":2}`, `{"n":3}`} {
				if m := srv.next(t); string(m.msg) != want {
					t.Errorf("got %q, want %q", m.msg, want)
				}
			}
		})
	}
}

// A server that accepts and never reads: Write gives up at its deadline
// with a timeout, once the buffers are full.
func TestSyslogStalledServerTimesOut(t *testing.T) {
	t.Parallel()
	s := dial(t, SyslogConfig{Address: startStalled(t), Timeout: 200 * time.Millisecond})
	big := Record{KindEntry, time.Now(), []byte(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)}
	for range 2000 { // 128 MiB at most: far more than the buffers hold
		err := s.Write([]Record{big})
		if err == nil {
			continue
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Write = %v, want a timeout", err)
		}
		if !strings.Contains(err.Error(), "1 of 1 records not sent") {
			t.Errorf("error %q does not say what was not sent", err)
		}
		return
	}
	t.Fatal("Write never blocked on a server that does not read")
}

// DialSyslog fails when there is no server, so that a wrong address shows
// at startup.
func TestDialSyslogNeedsServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "tcp://" + l.Addr().String()
	l.Close()
	for _, addr := range []string{"unix://" + dir + "/none", "unixgram://" + dir + "/none", closed} {
		if s, err := DialSyslog(SyslogConfig{Address: addr}); err == nil {
			s.Close()
			t.Errorf("DialSyslog(%s) succeeded", addr)
		}
	}
}

func TestSyslogRefusesInvalidBatch(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "tcp", "")
	s := dial(t, SyslogConfig{Address: srv.address()})
	err := s.Write([]Record{entry(1), {Kind: KindEntry, JSON: []byte("{\n}")}})
	if !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("Write = %v, want ErrInvalidRecord", err)
	}
	write(t, s, entry(2))
	if m := srv.next(t); string(m.msg) != `{"n":2}` {
		t.Errorf("first message %q: the refused batch was sent", m.msg)
	}
}

func TestSyslogReopenReconnects(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "tcp", "")
	s := dial(t, SyslogConfig{Address: srv.address()})
	write(t, s, entry(1))
	srv.next(t)
	if err := s.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, s, entry(2))
	srv.next(t)
	if n := srv.accepted(); n != 2 {
		t.Errorf("%d connections accepted, want 2", n)
	}
	srv.stop()
	if err := s.Reopen(); err == nil {
		t.Error("Reopen with the server down succeeded")
	}
	srv = restart(t, srv)
	write(t, s, entry(3)) // the Write after a failed Reopen connects
	srv.next(t)
}

func TestSyslogClosed(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "unixgram", "")
	s := dial(t, SyslogConfig{Address: srv.address()})
	if s.Name() != "syslog" {
		t.Errorf("Name = %q", s.Name())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]Record{entry(1)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := s.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
