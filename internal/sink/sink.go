// Package sink sends audit entries out of the process as they happen: to a
// file of JSON lines, or to a syslog server as RFC 5424 messages. It is the
// copy a security team collects; the HMAC-chained trail in the store stays
// the record of reference.
//
// What a sink promises:
//
//   - Order: the records of one Write are handed over in the order given,
//     and Writes are handed over in the order they are called.
//   - Whole lines: a file Write is one write(2) of all its lines; a syslog
//     Write sends one message per record (one datagram each, or one frame
//     each on a stream, RFC 6587 octet counting).
//   - Bounded time: a syslog Write returns within its Timeout (default 5 s),
//     whatever the server does; a file Write takes what write(2) takes.
//   - Recovery without a restart: after a failure, the next Write opens the
//     file or connects to the server again.
//
// What it does not promise: there is no queue and no retry beyond one
// reconnect within a Write. Delivery is at most once: a record is handed
// over at most one time (a retry resends only the records the failed try
// had not handed over), and a Write that returns an error has dropped the
// records it had not handed over; counting that is the caller's job.
// "Handed over" means written to the file (not fsynced), queued on the
// syslog server's datagram socket, or accepted into the kernel's TCP send
// buffer: a TCP connection that breaks afterwards can still lose records
// that a Write reported as sent, and only the server can see that.
//
// Records are checked before anything is sent (Record's doc says how); a
// batch holding an invalid record is refused whole, with ErrInvalidRecord.
package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Record is one line a sink writes: an audit entry or a checkpoint,
// already rendered as one JSON object by the caller (it holds no secret,
// no token and no record id in clear: the caller guarantees that).
//
// A sink checks what it can of a record before a Write sends anything:
// Kind is KindEntry or KindCheckpoint, and JSON is one valid JSON object,
// in valid UTF-8, with no CR or LF byte, so that it is exactly one line.
type Record struct {
	Kind string    // "entry" or "checkpoint" (syslog MSGID; severity differs)
	Time time.Time // the entry's time (syslog TIMESTAMP)
	JSON []byte    // one JSON object, no newline
}

// The two kinds of record.
const (
	KindEntry      = "entry"
	KindCheckpoint = "checkpoint"
)

// Sink is a destination. Write is called with each batch of records in
// order, from one goroutine at a time; it returns once the records are
// handed to the destination (written to the file; sent on the socket), or
// an error. Reopen is called on SIGHUP (log rotation: the file sink opens
// its path again; the syslog sink reconnects). Close flushes and closes.
//
// The sinks of this package also allow Reopen and Close to be called
// while a Write runs (from a signal handler): they wait for it.
type Sink interface {
	Name() string // "file" or "syslog", for metric labels and logs
	Write(recs []Record) error
	Reopen() error
	Close() error
}

var (
	_ Sink = (*File)(nil)
	_ Sink = (*Syslog)(nil)
)

// ErrInvalidRecord is returned by Write, wrapped with the record's index
// and the reason, for a batch holding a record that breaks Record's rules;
// nothing of that batch was written.
var ErrInvalidRecord = errors.New("sink: invalid record")

// ErrClosed is returned by Write and Reopen after Close.
var ErrClosed = errors.New("sink: closed")

// check returns an error wrapping ErrInvalidRecord for the first record of
// recs that breaks Record's rules.
func check(recs []Record) error {
	for i, r := range recs {
		if err := r.check(); err != nil {
			return fmt.Errorf("%w %d: %s", ErrInvalidRecord, i, err)
		}
	}
	return nil
}

func (r Record) check() error {
	switch {
	case r.Kind != KindEntry && r.Kind != KindCheckpoint:
		return fmt.Errorf("kind %q is neither %q nor %q", r.Kind, KindEntry, KindCheckpoint)
	case bytes.ContainsAny(r.JSON, "\r\n"):
		return errors.New("JSON holds a line break")
	case !utf8.Valid(r.JSON):
		return errors.New("JSON is not valid UTF-8")
	case len(r.JSON) == 0 || r.JSON[0] != '{' || !json.Valid(r.JSON):
		return errors.New("not one JSON object")
	}
	return nil
}
