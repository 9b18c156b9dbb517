package sink

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds a syslog Write when SyslogConfig.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// SyslogConfig says where the syslog sink sends and how its messages are
// labelled. The zero value of each field but Address means its default.
type SyslogConfig struct {
	// Address is the server:
	//   - "unix:///dev/log": a local socket, datagram as rsyslog's and
	//     journald's /dev/log are, or stream if the socket is SOCK_STREAM;
	//   - "unixgram:///path": a local datagram socket only;
	//   - "tcp://host:port": plain TCP (no TLS).
	// On a stream, each message is framed by RFC 6587 octet counting
	// ("LEN SP MSG"); a datagram holds one message.
	Address string
	// Facility is the syslog facility, 1 to 23 (ParseFacility reads its
	// name); 0 means DefaultFacility, authpriv (10). Kern (0) cannot be
	// chosen: it is the kernel's.
	Facility int
	// Hostname is the HOSTNAME field, 1 to 255 printable ASCII characters;
	// empty means os.Hostname's answer ("-" if that is not usable).
	Hostname string
	// Timeout bounds each Write as a whole (connect, send, reconnect and
	// resend), and each connect of DialSyslog and Reopen; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Validate reports the first field of c that cannot be used.
func (c SyslogConfig) Validate() error {
	if _, err := parseAddress(c.Address); err != nil {
		return err
	}
	if c.Facility < 0 || c.Facility > 23 {
		return fmt.Errorf("sink: syslog facility %d is not between 1 and 23", c.Facility)
	}
	if c.Hostname != "" && !printUSASCII(c.Hostname, 255) {
		return fmt.Errorf("sink: syslog hostname %q is not 1 to 255 printable ASCII characters", c.Hostname)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("sink: syslog timeout %v is negative", c.Timeout)
	}
	return nil
}

// address is a parsed SyslogConfig.Address.
type address struct {
	scheme string // "unix", "unixgram" or "tcp"
	target string // a socket's path, or host:port
}

func parseAddress(s string) (address, error) {
	scheme, target, _ := strings.Cut(s, "://")
	a := address{scheme: scheme, target: target}
	switch scheme {
	case "unix", "unixgram":
		if target == "" {
			return a, fmt.Errorf("sink: syslog address %q has no socket path", s)
		}
	case "tcp":
		if _, port, err := net.SplitHostPort(target); err != nil || port == "" {
			return a, fmt.Errorf("sink: syslog address %q is not tcp://host:port", s)
		}
	default:
		return a, fmt.Errorf("sink: syslog address %q is not unix://, unixgram:// or tcp://", s)
	}
	return a, nil
}

// dial connects to a by the deadline; stream says whether the connection
// is a stream (framed by octet counting) or datagrams.
func (a address) dial(deadline time.Time) (c net.Conn, stream bool, err error) {
	d := net.Dialer{Deadline: deadline}
	switch a.scheme {
	case "tcp":
		c, err = d.Dial("tcp", a.target)
		return c, true, err
	case "unixgram":
		c, err = d.Dial("unixgram", a.target)
		return c, false, err
	}
	c, err = d.Dial("unixgram", a.target)
	if errors.Is(err, syscall.EPROTOTYPE) { // the socket is SOCK_STREAM
		c, err = d.Dial("unix", a.target)
		return c, true, err
	}
	return c, false, err
}

// Syslog is the syslog sink: each record one RFC 5424 message. It is safe
// for concurrent use; a Write holds the sink for as long as it takes, its
// Timeout at most.
//
// The message (RFC 5424 §6):
//
//	<PRI>1 TIMESTAMP HOSTNAME sealstore PROCID MSGID - BOM JSON
//
// where:
//   - PRI is facility×8 + severity: notice (5) for an entry, info (6) for
//     a checkpoint; <85> and <86> with authpriv.
//   - TIMESTAMP is RFC 3339 in UTC with microseconds
//     (2006-01-02T15:04:05.000000Z), or "-" for a zero time or a year
//     outside 0000-9999 (§6.2.3: the NILVALUE when there is no proper time).
//   - PROCID is the process id; MSGID is "audit" for an entry and
//     "checkpoint" for a checkpoint.
//   - STRUCTURED-DATA is "-": an SD-ID of sealstore's own would need an
//     IANA private enterprise number (§6.3.2), and the JSON carries all
//     there is to say.
//   - MSG is the JSON after a UTF-8 byte order mark: §6.4 says a MSG
//     encoded in UTF-8 MUST start with one, and a Record's JSON is UTF-8.
//
// A message larger than the server takes is the server's to truncate or
// refuse (rsyslog's default limit is 8 KiB); a datagram too large for the
// socket fails the Write.
//
// On a failed send it reconnects once and resends, within the same Write,
// the records not yet sent; if that fails too, Write returns the error,
// and the next Write connects again, so a server that comes back is used
// again without a restart. On a stream, a connection the server has closed
// is noticed before writing to it (on unix systems), so that a Write does
// not report as sent what went into a dead connection's buffer.
type Syslog struct {
	addr    address
	timeout time.Duration
	format  formatter

	mu     sync.Mutex
	conn   net.Conn // nil when not connected
	stream bool     // conn is a stream
	closed bool
	buf    []byte // reused between Writes
	ends   []int  // the end of each message in buf, on a stream
}

// DialSyslog checks cfg and connects to its server, so that a wrong
// address or a server that is not there fails at startup.
func DialSyslog(cfg SyslogConfig) (*Syslog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newSyslog(cfg)
	if err := s.connect(time.Now().Add(s.timeout)); err != nil {
		return nil, err
	}
	return s, nil
}

// newSyslog returns a sink for cfg, which Validate accepted, not yet
// connected.
func newSyslog(cfg SyslogConfig) *Syslog {
	addr, _ := parseAddress(cfg.Address)
	s := &Syslog{addr: addr, timeout: cfg.Timeout, format: formatter{
		facility: cfg.Facility, hostname: cfg.Hostname, procid: strconv.Itoa(os.Getpid()),
	}}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.format.facility == 0 {
		s.format.facility = DefaultFacility
	}
	if s.format.hostname == "" {
		s.format.hostname = localHostname()
	}
	return s
}

func localHostname() string {
	h, err := os.Hostname()
	if err != nil || !printUSASCII(h, 255) {
		return "-"
	}
	return h
}

// Name returns "syslog".
func (s *Syslog) Name() string { return "syslog" }

// Write sends one message per record, in order. It returns
// ErrInvalidRecord (wrapped) having sent nothing if a record is invalid,
// ErrClosed after Close, and otherwise the last try's error, which says
// how many records were not sent; a Write that ran out of time returns a
// net.Error whose Timeout is true.
func (s *Syslog) Write(recs []Record) error {
	if err := check(recs); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	deadline := time.Now().Add(s.timeout)
	sent, err := s.try(recs, deadline)
	if err == nil {
		return nil
	}
	s.disconnect()
	more := 0
	if time.Now().Before(deadline) { // else the first error says it: time is up
		more, err = s.try(recs[sent:], deadline)
		if err == nil {
			return nil
		}
		s.disconnect()
	}
	return fmt.Errorf("sink: syslog %s: %d of %d records not sent: %w",
		s.addr.scheme, len(recs)-sent-more, len(recs), err)
}

// try sends recs on the connection, connecting first if there is none,
// and returns how many records it handed over.
func (s *Syslog) try(recs []Record, deadline time.Time) (int, error) {
	if s.conn != nil && s.stream && peerClosed(s.conn) {
		s.disconnect()
	}
	if s.conn == nil {
		if err := s.connect(deadline); err != nil {
			return 0, err
		}
	}
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return 0, err
	}
	if s.stream {
		return s.writeStream(recs)
	}
	return s.writeDatagrams(recs)
}

// writeStream writes every message, octet-counted, in one write; on a
// failure, the messages wholly written before it count as sent.
func (s *Syslog) writeStream(recs []Record) (int, error) {
	buf, ends := s.buf[:0], s.ends[:0]
	var msg []byte
	for _, r := range recs {
		msg = s.format.append(msg[:0], r)
		buf = strconv.AppendInt(buf, int64(len(msg)), 10)
		buf = append(buf, ' ')
		buf = append(buf, msg...)
		ends = append(ends, len(buf))
	}
	n, err := s.conn.Write(buf)
	s.keep(buf, ends)
	if err == nil {
		return len(recs), nil
	}
	sent := 0
	for sent < len(ends) && ends[sent] <= n {
		sent++
	}
	return sent, err
}

// writeDatagrams sends one datagram per message.
func (s *Syslog) writeDatagrams(recs []Record) (int, error) {
	buf := s.buf[:0]
	defer func() { s.keep(buf, s.ends) }()
	for i, r := range recs {
		buf = s.format.append(buf[:0], r)
		if _, err := s.conn.Write(buf); err != nil {
			return i, err
		}
	}
	return len(recs), nil
}

// keep keeps buf and ends for the next Write, unless buf grew large.
func (s *Syslog) keep(buf []byte, ends []int) {
	if cap(buf) <= maxKeptBuf {
		s.buf, s.ends = buf[:0], ends[:0]
	}
}

func (s *Syslog) connect(deadline time.Time) error {
	c, stream, err := s.addr.dial(deadline)
	if err != nil {
		return fmt.Errorf("sink: connect to syslog: %w", err)
	}
	s.conn, s.stream = c, stream
	return nil
}

func (s *Syslog) disconnect() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// Reopen drops the connection and connects again (on SIGHUP: a syslog
// server restarted, or a name that now resolves elsewhere). If that
// fails, it returns the error, and the next Write tries again.
func (s *Syslog) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.disconnect()
	return s.connect(time.Now().Add(s.timeout))
}

// Close closes the connection; what the kernel holds of it is still
// sent. Later calls return nil.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("sink: close syslog connection: %w", err)
	}
	return nil
}
