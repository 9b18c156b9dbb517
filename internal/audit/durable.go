package audit

import (
	"sync"
	"time"
)

// changes reports whether an entry records an operation that changed
// something, whose Append waits until the entry is durable: a write,
// deletion or key, collection or token change that succeeded.
func changes(action, outcome string) bool {
	if outcome != "ok" {
		return false
	}
	switch action {
	case RecordGet, RecordList, RecordSearch, CollectionGet, CollectionBeacons, CollectionReader, KeysStatus, KeysRewrapStatus:
		return false
	}
	return true
}

// syncer makes the entries a Log wrote to a Syncer durable: at once when
// an Append waits for it, otherwise within its interval.
type syncer struct {
	db       Syncer
	interval time.Duration
	every    bool

	mu      sync.Mutex
	waiting []*request // written, waiting for the next Sync
	dirty   bool       // written since the last Sync
	failing error      // the last Sync's error, until one succeeds
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

func newSyncer(db Syncer, interval time.Duration, every bool) *syncer {
	if interval <= 0 {
		interval = DefaultSyncInterval
	}
	s := &syncer{db: db, interval: interval, every: every,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s
}

// written takes a request whose batch was written: it is answered now if
// it need not wait for durability, else after the next Sync.
func (s *syncer) written(r *request) {
	s.mu.Lock()
	s.dirty = true
	wait := r.durable || s.every
	if wait {
		s.waiting = append(s.waiting, r)
	}
	s.mu.Unlock()
	if !wait {
		r.done <- nil
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run syncs when a request waits, and every interval while anything
// written is not yet synced, until close; then once more.
func (s *syncer) run() {
	defer close(s.stopped)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.wake:
		case <-t.C:
		case <-s.stop:
			s.syncOnce()
			return
		}
		s.syncOnce()
	}
}

// syncOnce syncs if anything was written since the last Sync, and answers
// the requests that waited for it.
func (s *syncer) syncOnce() {
	s.mu.Lock()
	waiting, dirty := s.waiting, s.dirty
	s.waiting, s.dirty = nil, false
	s.mu.Unlock()
	if !dirty {
		return
	}
	err := s.db.Sync()
	s.mu.Lock()
	s.failing = err
	if err != nil {
		s.dirty = true // try again at the next tick
	}
	s.mu.Unlock()
	for _, r := range waiting {
		r.done <- err
	}
}

func (s *syncer) close() {
	close(s.stop)
	<-s.stopped
}

func (s *syncer) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing
}
