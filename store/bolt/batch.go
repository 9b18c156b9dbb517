package bolt

import (
	"fmt"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/sealstore/sealstore/store"
)

// batcher group-commits writes. The first writer to find no commit running
// starts one; writers arriving while it runs wait for the next, which takes
// all of them in one transaction. There is no artificial delay: a lone
// writer commits at once, and under load each fsync carries every write
// that arrived during the previous one.
//
// Each op's error is its own (a failed condition stays with that op and
// writes nothing); a failed commit fails every op in it.
type batcher struct {
	db *bbolt.DB

	mu      sync.Mutex
	pending []*op
	running bool
	failing error // the last commit's error, until one succeeds
}

type op struct {
	fn   func(*bbolt.Tx) error
	err  error
	done chan struct{}
}

func (b *batcher) do(fn func(*bbolt.Tx) error) error {
	o := &op{fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, o)
	if !b.running {
		b.running = true
		go b.loop()
	}
	b.mu.Unlock()
	<-o.done
	return o.err
}

func (b *batcher) loop() {
	for {
		b.mu.Lock()
		ops := b.pending
		b.pending = nil
		if len(ops) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.commit(ops)
	}
}

// commit runs ops in one transaction. An op that fails must leave no
// change behind; the ops here each make at most one change, after their
// checks, so a failing op writes nothing.
func (b *batcher) commit(ops []*op) {
	err := b.db.Update(func(tx *bbolt.Tx) error {
		for _, o := range ops {
			o.err = o.fn(tx)
		}
		return nil
	})
	b.mu.Lock()
	b.failing = err
	b.mu.Unlock()
	for _, o := range ops {
		if err != nil {
			o.err = fmt.Errorf("bolt: commit: %w: %w", store.ErrUnavailable, err)
		}
		close(o.done)
	}
}

func (b *batcher) lastError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failing
}
