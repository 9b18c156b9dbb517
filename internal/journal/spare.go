package journal

import (
	"fmt"

	"github.com/sealstore/sealstore/store"
)

// spareResult is a prepared next segment, or why there is none.
type spareResult struct {
	seg *segment
	err error
}

// prepareSpare starts making the segment after the current one (under
// j.mu, or before the journal is shared).
func (j *Journal) prepareSpare() {
	num, create := j.cur.num+1, j.create
	ch := make(chan spareResult, 1)
	j.spare = ch
	go func() {
		seg, err := create(j.dir, num, j.segSize)
		ch <- spareResult{seg: seg, err: err}
	}()
}

// advance makes the spare segment the current one, waiting for it, and
// starts preparing the next (under j.mu). With prev nil (a new journal) it
// makes the first segment. If the spare could not be made (the disk is
// full), it tries once more; if that fails the journal stays on prev and
// the caller's Put fails with ErrFull, as will the next ones until a
// segment can be made.
func (j *Journal) advance(prev *segment) error {
	var r spareResult
	if prev == nil {
		seg, err := j.create(j.dir, 1, j.segSize)
		r = spareResult{seg: seg, err: err}
	} else {
		r = <-j.spare
		if r.err != nil {
			seg, err := j.create(j.dir, prev.num+1, j.segSize)
			r = spareResult{seg: seg, err: err}
		}
	}
	if r.err != nil {
		if prev != nil {
			// Keep a channel to wait on: the next advance tries again.
			ch := make(chan spareResult, 1)
			ch <- r
			j.spare = ch
		}
		return fmt.Errorf("%w: %w: %w", ErrFull, store.ErrUnavailable, r.err)
	}
	j.adopt(r.seg)
	if prev != nil {
		j.prepareSpare()
	}
	return nil
}

// Ready reports whether the journal can take items beyond its current
// segment: nil if a next segment is prepared or can be made now (it is
// then made), the error of making it otherwise (ErrFull on a full disk),
// or the error that stopped the journal. A journal that was full is ready
// again as soon as a segment can be made, without a reopen.
func (j *Journal) Ready() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return errClosed
	case j.failed != nil:
		return j.failed
	}
	r := <-j.spare
	if r.err != nil {
		seg, err := j.create(j.dir, j.cur.num+1, j.segSize)
		r = spareResult{seg: seg, err: err}
	}
	ch := make(chan spareResult, 1)
	ch <- r
	j.spare = ch
	if r.err != nil {
		return fmt.Errorf("%w: %w: %w", ErrFull, store.ErrUnavailable, r.err)
	}
	return nil
}
