package records

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/store"
)

// errLostJob stops a runner whose job another runner took over.
var errLostJob = errors.New("records: the job was taken over")

var errJobPanicked = errors.New("records: the rewrap job panicked")

// runRewrap runs a job until it is done, fails, is taken over, or the
// Service closes (the job then stays running, to be resumed). Its lease
// is renewed every JobLease/3, whatever a page costs.
func (s *Service) runRewrap(ctx context.Context, j *runningJob) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(JobLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.saveRunning(ctx, j); errors.Is(err, store.ErrConflict) {
					cancel() // taken over: stop at once
					return
				}
			}
		}
	}()
	start := s.now()
	j.mu.Lock()
	base := j.rec.Rewrapped
	j.mu.Unlock()
	err := s.rewrapPasses(ctx, j, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if d := s.now().Sub(start).Seconds(); d > 0 {
			j.rec.Rate = float64(j.rec.Rewrapped-base) / d
		}
	})
	cancel()
	<-renewed
	if errors.Is(err, errLostJob) || ctx.Err() != nil && s.bg.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	s.finish(ctx, j, err)
}

// finish records the end of a job: done, or failed with err.
func (s *Service) finish(ctx context.Context, j *runningJob, err error) {
	j.mu.Lock()
	now := s.now().UTC()
	j.rec.Finished = &now
	j.rec.State = JobDone
	if err != nil {
		j.rec.State = JobFailed
		j.rec.Error = publicJobError(err)
	}
	j.mu.Unlock()
	s.saveEnd(func() error { return s.saveRunning(context.WithoutCancel(ctx), j) })
}

// saveRunning saves j's progress under its lease and renews the lease.
func (s *Service) saveRunning(ctx context.Context, j *runningJob) error {
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	j.rec.Updated = s.now().UTC()
	rec := j.rec
	j.mu.Unlock()
	if err := s.saveJob(ctx, &rec); err != nil {
		return err
	}
	j.mu.Lock()
	j.rec.lease, j.rec.heartbeat = rec.lease, rec.heartbeat
	j.mu.Unlock()
	return nil
}

// publicJobError is what a job's status says of its failure: the public
// message of its kind (package fault), or, for an outage or an internal
// error, that starting the rewrap again resumes it.
func publicJobError(err error) string {
	switch c := fault.Classify(err); c.Kind {
	case fault.Unavailable, fault.Canceled:
		return "a storage or key service was unavailable; start the rewrap again to resume it"
	case fault.Internal:
		return "internal error; start the rewrap again to resume it"
	default:
		return c.Message
	}
}

// recordFailure reports whether err, met while rewrapping one record, is
// that record's alone: it is left as it is and counted failed, and the
// job goes on. Any other error (an outage, the job's end, a bug) stops the
// job, to be resumed.
func recordFailure(err error) bool {
	switch fault.KindOf(err) {
	case fault.Decrypt, fault.Gone, fault.Invalid, fault.TooLarge, fault.NotFound, fault.Conflict, fault.Precondition:
		return true
	}
	return false
}

// rewrapPasses runs the job's passes from where it stands.
func (s *Service) rewrapPasses(ctx context.Context, j *runningJob, tick func()) error {
	for {
		c, err := s.collection(ctx, j.snapshot().Collection)
		if err != nil {
			return err
		}
		j.mu.Lock()
		phase, cursor := j.rec.Phase, j.rec.Cursor
		j.mu.Unlock()
		pg, err := s.rewrapPage(ctx, c, j, phase, cursor)
		if err != nil {
			return err
		}
		tick()
		if done, err := j.advance(phase, pg); done || err != nil {
			return err
		}
		if err := s.saveRunning(ctx, j); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errLostJob
			}
			return fmt.Errorf("records: save job: %w", err)
		}
	}
}

// advance applies a page of phase to the job: its counts, the cursor and,
// after the last page, the next phase or pass. The three change together,
// so that a save (the lease renewal saves at any time) never holds a count
// without its cursor. done: the job has nothing left to do (but for
// records that cannot be rewrapped); an error ends it at the pass limit.
func (j *runningJob) advance(phase string, pg pageResult) (done bool, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := &j.rec
	if phase == phaseCounting {
		r.PassStale += pg.stale
		r.Scanned += pg.scanned
	}
	r.Cursor = pg.next
	if pg.next != nil {
		return false, nil
	}
	if phase == phaseCounting {
		// Items is the last count's total until this count ends, so that
		// Scanned/Items shows the count's progress (the total is unknown,
		// 0, during a job's first count).
		r.Items = r.Scanned
	}
	switch {
	case phase == phaseCounting && r.PassStale <= r.PassFailed:
		return true, nil
	case phase == phaseCounting && r.Pass-r.FirstPass+1 >= maxRewrapPasses:
		n := r.PassStale
		// Started again, the job counts afresh.
		r.PassStale, r.Scanned = 0, 0
		return true, &ConflictError{Reason: fmt.Sprintf("after %d passes, %s still under older versions: another server may not have noticed the rotation yet; start the rewrap again in a minute",
			maxRewrapPasses, counted(n, "record is", "records are"))}
	case phase == phaseCounting:
		// The records that failed last time are counted again (and
		// again as failed if they fail again).
		r.ToRewrap += r.PassStale - r.PassFailed
		r.Failed -= r.PassFailed
		r.Phase, r.Scanned, r.PassFailed, r.PassDone = phaseRewrapping, 0, 0, 0
	default:
		// Records counted stale but found under the active version when
		// reached: rewritten by clients meanwhile, or rewrapped by this
		// job after its last save before an interruption.
		if d := r.PassStale - r.PassDone; d > 0 {
			r.Skipped += d
		} else {
			r.ToRewrap -= d // written under an old version meanwhile
		}
		r.Phase, r.Scanned, r.PassStale, r.PassDone = phaseCounting, 0, 0, 0
		r.Pass++
	}
	return false, nil
}

// pageResult is what one page of a job's scan did: the cursor of the next
// page (nil after the last) and, counting, what it counted.
type pageResult struct {
	next           []byte
	stale, scanned int64
}

// rewrapPage reads one page of the job's scan and counts or rewraps it.
// Rewrapping, each record's outcome is counted in j as it happens; the
// caller applies the rest.
func (s *Service) rewrapPage(ctx context.Context, c *collection, j *runningJob, phase string, cursor []byte) (pageResult, error) {
	j.mu.Lock()
	maxRate := j.rec.MaxRate
	j.mu.Unlock()
	size := rewrapPage
	if maxRate > 0 {
		size = min(max(maxRate, 10), rewrapPage) // a page a second or so
	}
	page, err := s.db.Scan(ctx, c.table, cursor, size)
	if err != nil {
		return pageResult{}, fmt.Errorf("records: scan: %w", err)
	}
	active, _, err := s.keys.ActiveVersion(ctx, c.branchKeyID)
	if err != nil {
		return pageResult{}, fmt.Errorf("records: active version: %w", err)
	}
	if phase == phaseCounting {
		var stale int64
		for _, it := range page.Items {
			if v, _ := c.versionOf(it); v != active {
				stale++
			}
		}
		return pageResult{next: page.Next, stale: stale, scanned: int64(len(page.Items))}, nil
	}
	if last, _ := c.keyState.lastActivated(); last.ID != active {
		// Rotated elsewhere since this copy of the catalog entry was
		// read: read it again (which drops the cached active key), or
		// records would be rewrapped under the version just replaced.
		if c, err = s.reload(ctx, c.info.Name); err != nil {
			return pageResult{}, err
		}
	}
	if err := s.rewrapItems(ctx, c, j, page.Items, active, maxRate); err != nil {
		return pageResult{}, err
	}
	return pageResult{next: page.Next}, nil
}

// rewrapItems rewraps the items of a page not under the active version,
// rewrapWorkers at a time and at most maxRate a second (0: no limit).
func (s *Service) rewrapItems(ctx context.Context, c *collection, j *runningJob, items []attr.Item, active string, maxRate int) error {
	var limit <-chan time.Time
	if maxRate > 0 {
		t := time.NewTicker(time.Second / time.Duration(min(maxRate, MaxRewrapRate)))
		defer t.Stop()
		limit = t.C
	}
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	parallelN(len(items), rewrapWorkers, func(i int) {
		defer func() {
			if recover() != nil {
				fail(errJobPanicked)
			}
		}()
		if v, _ := c.versionOf(items[i]); v == active {
			j.add(&j.rec.Scanned, 1)
			return
		}
		if limit != nil {
			select {
			case <-limit:
			case <-ctx.Done():
				return
			}
		}
		err := s.rewrapOne(ctx, c, j, items[i], active)
		j.add(&j.rec.Scanned, 1)
		if err != nil {
			fail(err)
		}
	})
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// rewrapOne encrypts one record again under the active version, writing
// on condition that the stored record is still the one decrypted; a
// record that changed meanwhile is read again. Records that cannot be
// decrypted are counted and left; outages are returned.
func (s *Service) rewrapOne(ctx context.Context, c *collection, j *runningJob, stored attr.Item, active string) error {
	key, err := c.keyOfStored(stored)
	if err != nil {
		j.fail()
		return nil
	}
	unlock, err := s.lock(ctx, c.info.Name, key)
	if err != nil {
		return err
	}
	defer unlock()
	for attempt := 1; attempt <= MaxPatchAttempts; attempt++ {
		if attempt > 1 {
			j.add(&j.rec.Retried, 1)
			stored, err = s.db.Get(ctx, c.table, key)
			if errors.Is(err, store.ErrNotFound) {
				j.skipped()
				return nil
			}
			if err != nil {
				return fmt.Errorf("records: get: %w", err)
			}
		}
		if v, _ := c.versionOf(stored); v == active {
			j.skipped()
			return nil
		}
		r, err := c.decryptAt(ctx, stored, key)
		var sealed attr.Item
		if err == nil {
			sealed, err = s.seal(ctx, c, r.Doc)
		}
		if err != nil && recordFailure(err) && ctx.Err() == nil {
			j.fail() // undecryptable, or no longer storable under the schema
			return nil
		}
		if err != nil {
			return err
		}
		err = s.db.Put(ctx, c.table, sealed, unchanged(stored))
		if err == nil {
			if err := s.rewrote(context.WithoutCancel(ctx), c.info.Name, r.Key, etagOf(sealed)); err != nil {
				return fmt.Errorf("records: record the rewrap: %w", err)
			}
			j.rewrapped()
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("records: put: %w", err)
		}
	}
	j.fail() // kept changing: the next pass finds it if needed
	return nil
}
