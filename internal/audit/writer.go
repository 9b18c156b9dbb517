package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sealstore/sealstore/store"
)

// writeTimeout bounds each store write of the writer.
const writeTimeout = 10 * time.Second

// request is one Append waiting for its batch.
type request struct {
	s       sealed
	durable bool       // waits for the batch to be synced, not only written
	done    chan error // receives the batch's outcome; buffered
}

func newRequest(e *Entry) *request {
	return &request{s: sealEntry(e), done: make(chan error, 1)}
}

// chainState is the chain the writer appends to. The zero chainState means
// that the next batch starts a new chain.
type chainState struct {
	id         string
	started    time.Time
	registered bool   // its row is in the chains table
	batch      uint64 // number of the next batch
	seq        uint64 // position of the next entry
	prev       []byte // MAC of the last entry written
}

// chainIDTime lays out the start time that begins a chain id, so that ids
// sort by start time.
const chainIDTime = "20060102T150405.000000000Z"

// newChain starts a chain at now with a random id.
func (k keySet) newChain(now time.Time) chainState {
	now = now.UTC()
	var r [8]byte
	rand.Read(r[:])
	id := now.Format(chainIDTime) + "-" + hex.EncodeToString(r[:])
	return chainState{id: id, started: now, prev: k.genesis(id)}
}

// run is the writer: it stores pending requests, a batch at a time, until
// the log is closed and nothing is pending.
func (l *Log) run() {
	defer close(l.stopped)
	for {
		l.gather()
		reqs, closed := l.take()
		if len(reqs) > 0 {
			err := l.write(reqs)
			for _, r := range reqs {
				if err != nil || l.sync == nil {
					r.done <- err
				} else {
					l.sync.written(r)
				}
			}
			continue
		}
		if closed {
			return
		}
		<-l.wake
	}
}

// lingerFor and lingerUntil bound how long the writer waits for more
// entries before writing a small batch to a journal, where a batch costs
// a write(2) and an encoding whatever its size: under load, a few dozen
// microseconds gather the entries of every connection into one batch.
const (
	lingerFor   = 100 * time.Microsecond
	lingerUntil = 16
)

// gather waits, on a journal, up to lingerFor for lingerUntil entries to
// be pending.
func (l *Log) gather() {
	if l.sync == nil {
		return
	}
	var timer *time.Timer
	for {
		l.mu.Lock()
		n, closed := len(l.pending), l.closed
		l.mu.Unlock()
		if n == 0 || n >= lingerUntil || closed {
			return
		}
		if timer == nil {
			timer = time.NewTimer(lingerFor)
			defer timer.Stop()
		}
		select {
		case <-l.wake: // another entry came
		case <-timer.C:
			return
		}
	}
}

// take removes the next batch from the queue: up to maxBatch requests that
// fit in batchBudget (at least one).
func (l *Log) take() ([]*request, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, size := 0, 0
	for n < len(l.pending) && n < l.maxBatch {
		size += l.pending[n].s.size()
		if n > 0 && size > batchBudget {
			break
		}
		n++
	}
	reqs := l.pending[:n:n]
	l.pending = l.pending[n:]
	if len(l.pending) == 0 {
		l.pending = nil
	}
	return reqs, l.closed
}

// write stores reqs as the chain's next batch. On any error, the outcome
// of which may be unknown, it abandons the chain: the next batch starts a
// new one, so that no chain can hold two different batches at one place.
func (l *Log) write(reqs []*request) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if l.chain.id == "" {
		l.chain = l.keys.Load().newChain(l.now())
	}
	c := &l.chain
	if !c.registered {
		if err := l.db.Put(ctx, chainTable, chainRow(c.id, c.started), store.Cond{Absent: true}); err != nil {
			id := c.id
			l.chain = chainState{}
			return fmt.Errorf("audit: start chain %s: %w", id, err)
		}
		c.registered = true
	}
	b := l.seal(reqs)
	if err := l.db.Put(ctx, batchTable, b.item(), store.Cond{Absent: true}); err != nil {
		l.chain = chainState{}
		return fmt.Errorf("audit: write chain %s batch %d: %w", b.chain, b.n, err)
	}
	last := &b.entries[len(b.entries)-1]
	c.batch++
	c.seq = last.seq + 1
	c.prev = last.mac
	l.ends.wrote(c.id, last.seq, last.mac)
	if len(l.sinks.list) == 0 {
		return nil
	}
	recs, err := sinkRecords(&b)
	if err != nil {
		return err
	}
	return l.sinks.write(recs)
}

// seal numbers and MACs reqs as the chain's next batch.
func (l *Log) seal(reqs []*request) batch {
	ks := l.keys.Load() // loaded by Append before the entries were queued
	c := &l.chain
	b := batch{chain: c.id, n: c.batch, entries: make([]sealed, len(reqs))}
	prev := c.prev
	for i, r := range reqs {
		s := r.s
		s.seq = c.seq + uint64(i)
		s.mac = ks.entryMAC(c.id, prev, &s)
		b.entries[i] = s
		prev = s.mac
	}
	b.mac = ks.batchMAC(c.id, b.n, &b.entries[len(b.entries)-1])
	return b
}
