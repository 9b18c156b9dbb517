package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SinkRecord is a line a sink writes: an entry or a checkpoint as one JSON
// object. Entries name records by their HMAC only and hold no secret or
// token, as in the trail.
type SinkRecord struct {
	Kind string // "entry" or "checkpoint"
	Time time.Time
	JSON []byte
}

// Sink is a destination outside the process that the Log writes every
// entry, as its batch is stored, and its checkpoints to (package sink:
// a JSON-lines file, syslog). Write is called from one goroutine at a
// time.
type Sink interface {
	Name() string
	Write(recs []SinkRecord) error
}

// DefaultCheckpointInterval is how often a Log sends its checkpoints to
// its sinks (and once more at Close).
const DefaultCheckpointInterval = time.Minute

// sinks is a Log's sinks and what to do when one fails.
type sinks struct {
	mu       sync.Mutex // one Write at a time
	list     []Sink
	required bool
	failed   func(name string, err error)
}

// write hands recs to every sink; the error is that of a failing sink
// when sinks are required, else nil (failures are reported to failed).
func (s *sinks) write(recs []SinkRecord) error {
	if len(s.list) == 0 || len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, k := range s.list {
		if err := k.Write(recs); err != nil {
			if s.failed != nil {
				s.failed(k.Name(), err)
			}
			errs = append(errs, fmt.Errorf("audit: sink %s: %w", k.Name(), err))
		}
	}
	if s.required {
		return errors.Join(errs...)
	}
	return nil
}

// entryLine is an entry as a sink line.
type entryLine struct {
	Type       string    `json:"type"` // "entry"
	Time       time.Time `json:"time"`
	Token      string    `json:"token"`
	Action     string    `json:"action"`
	Collection string    `json:"collection,omitempty"`
	Record     string    `json:"record,omitempty"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
	ETag       string    `json:"etag,omitempty"`
	RequestID  string    `json:"requestId,omitempty"`
	Client     string    `json:"client,omitempty"`
	Chain      string    `json:"chain"`
	Seq        uint64    `json:"seq"`
	MAC        string    `json:"mac"`
}

// sinkRecords renders the entries of batch b for the sinks.
func sinkRecords(b *batch) ([]SinkRecord, error) {
	out := make([]SinkRecord, 0, len(b.entries))
	for i := range b.entries {
		s := &b.entries[i]
		e, err := s.entry(b.chain)
		if err != nil {
			return nil, err
		}
		js, err := json.Marshal(entryLine{Type: "entry", Time: e.Time, Token: e.Token, Action: e.Action, Collection: e.Collection,
			Record: e.Record, Outcome: e.Outcome, Detail: e.Detail, ETag: e.ETag, RequestID: e.RequestID, Client: e.Client,
			Chain: b.chain, Seq: s.seq, MAC: hex.EncodeToString(s.mac)})
		if err != nil {
			return nil, err
		}
		out = append(out, SinkRecord{Kind: "entry", Time: e.Time, JSON: js})
	}
	return out, nil
}

// emitCheckpoints sends a checkpoint of every chain this Log wrote to its
// sinks.
func (l *Log) emitCheckpoints() error {
	if len(l.sinks.list) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	cps, err := l.Checkpoints(ctx)
	if err != nil || len(cps) == 0 {
		return err
	}
	recs := make([]SinkRecord, len(cps))
	for i, c := range cps {
		js, err := json.Marshal(c)
		if err != nil {
			return err
		}
		recs[i] = SinkRecord{Kind: "checkpoint", Time: c.Time, JSON: js}
	}
	return l.sinks.write(recs)
}

// checkpointLoop emits checkpoints every interval until stop is closed.
func (l *Log) checkpointLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = l.emitCheckpoints() // a failure was reported to the sinks' failed
		}
	}
}
