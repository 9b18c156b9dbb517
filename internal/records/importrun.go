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

var errImportPanicked = errors.New("records: the import job panicked")

// launchImport takes rec over (with a conditional write) and runs it in
// the background, on src if it is open already. auto: a resumption no
// one asked for, told to Options.ImportResumed. Called with jobsMu held.
func (s *Service) launchImport(ctx context.Context, rec *importRecord, src *openedSource, auto bool) (ImportJob, error) {
	if s.closed {
		return ImportJob{}, fmt.Errorf("records: %w: the service is shutting down", store.ErrUnavailable)
	}
	rec.Updated = s.now().UTC()
	if err := s.saveImport(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return ImportJob{}, &ConflictError{Reason: "another server started or resumed this import at the same moment; read its status"}
		}
		return ImportJob{}, fmt.Errorf("records: save import job: %w", err)
	}
	j := &runningImport{rec: *rec, reuse: rec.Resumed > 0, ended: make(chan struct{})}
	s.imports[rec.Collection] = j
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		defer func() {
			s.jobsMu.Lock()
			if s.imports[rec.Collection] == j {
				delete(s.imports, rec.Collection)
			}
			s.jobsMu.Unlock()
			close(j.ended)
		}()
		defer func() {
			// A bug in a job must not take the server down, nor, resumed
			// at the next start, every start after it.
			if recover() != nil {
				s.finishImport(s.bg, j, errImportPanicked)
			}
		}()
		s.runImport(s.bg, j, src, auto)
	}()
	return j.snapshot(), nil
}

// runImport runs a job until it is done, fails, is taken over, or the
// Service closes (the job then stays running, to be resumed). Its lease
// is renewed every JobLease/3, whatever a page costs.
func (s *Service) runImport(ctx context.Context, j *runningImport, src *openedSource, auto bool) {
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
				if err := s.saveRunningImport(ctx, j); errors.Is(err, store.ErrConflict) {
					cancel() // taken over: stop at once
					return
				}
			}
		}
	}()
	err := s.importPasses(ctx, j, src, auto)
	cancel()
	<-renewed
	if errors.Is(err, errLostJob) || ctx.Err() != nil && s.bg.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	s.finishImport(ctx, j, err)
}

// importRun is what the pages of one run of a job share.
type importRun struct {
	s        *Service
	j        *runningImport
	src      Source
	table    store.Table // the source table's key schema
	bySource map[string]string
	keys     ledgerKeys
	limit    <-chan time.Time // one tick per item (nil: no limit)
	start    time.Time
	done     int64 // items worked on in this run
}

// newImportRun opens what a run needs: the source (unless src is open),
// the ledger key and the rate limiter (stopped by the returned func).
func (s *Service) newImportRun(ctx context.Context, j *runningImport, src *openedSource) (*importRun, func(), error) {
	job := j.snapshot()
	if src == nil {
		source, t, err := s.openImportSource(ctx, job.Source, job.Layout)
		if err != nil {
			return nil, nil, err
		}
		src = &openedSource{src: source, table: t}
	}
	c, err := s.collection(ctx, job.Collection)
	if err != nil {
		return nil, nil, err
	}
	key, err := s.ledgerKeyFor(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	r := &importRun{s: s, j: j, src: src.src, table: src.table, keys: ledgerKeys{key: key, job: job.ID}, start: s.now(),
		bySource: map[string]string{}}
	for target, source := range job.Map {
		r.bySource[source] = target
	}
	stop := func() {}
	if job.MaxRate > 0 {
		t := time.NewTicker(time.Second / time.Duration(job.MaxRate))
		r.limit, stop = t.C, t.Stop
	}
	return r, stop, nil
}

// importPasses runs the job's phases from where it stands, a page at a
// time, saving its progress after each.
func (s *Service) importPasses(ctx context.Context, j *runningImport, src *openedSource, auto bool) error {
	if auto {
		if err := s.importResumed(ctx, j.snapshot().Collection, j.snapshot()); err != nil {
			return fmt.Errorf("records: record the import's resumption: %w", err)
		}
	}
	r, stop, err := s.newImportRun(ctx, j, src)
	if err != nil {
		return err
	}
	defer stop()
	for {
		j.mu.Lock()
		phase, cursor := j.rec.Phase, j.rec.Cursor
		j.mu.Unlock()
		pg, err := r.page(ctx, phase, cursor)
		if err != nil {
			return err
		}
		if j.advance(phase, pg, r.rate(pg)) {
			return nil
		}
		if err := s.saveRunningImport(ctx, j); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errLostJob
			}
			return fmt.Errorf("records: save import job: %w", err)
		}
	}
}

// rate counts pg's items into the run and returns the run's rate.
func (r *importRun) rate(pg importPage) float64 {
	r.done += pg.worked
	if d := r.s.now().Sub(r.start).Seconds(); d > 0 {
		return float64(r.done) / d
	}
	return 0
}

// importCounts are what a page (or one item) adds to a job's counts.
type importCounts struct {
	imported, recognised, conflicts, failed, verified, unverified, deleted, kept, kms int64
}

func (c *importCounts) add(o importCounts) {
	c.imported += o.imported
	c.recognised += o.recognised
	c.conflicts += o.conflicts
	c.failed += o.failed
	c.verified += o.verified
	c.unverified += o.unverified
	c.deleted += o.deleted
	c.kept += o.kept
	c.kms += o.kms
}

func (c importCounts) applyTo(j *ImportJob) {
	j.Imported += c.imported
	j.Recognised += c.recognised
	j.Conflicts += c.conflicts
	j.Failed += c.failed
	j.Verified += c.verified
	j.Unverified += c.unverified
	j.Deleted += c.deleted
	j.Kept += c.kept
	j.KMSDecrypts += c.kms
}

// importPage is what one page of a phase did: the cursor of the next
// page (nil after the last), the items read and worked on, and the
// counts they add.
type importPage struct {
	next            []byte
	scanned, worked int64
	counts          importCounts
}

// advance applies a page of phase to the job: its counts, the cursor and,
// after the last page, the next phase, all together, so that a save (the
// lease renewal saves at any time) never holds a count without its
// cursor. It reports whether the job is done.
func (j *runningImport) advance(phase string, pg importPage, rate float64) (done bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := &j.rec
	pg.counts.applyTo(&r.ImportJob)
	r.Rate = rate
	r.Scanned += pg.scanned
	if phase == phaseCounting {
		r.Items += pg.scanned
	}
	if phase == phaseImporting {
		j.reuse = false
	}
	r.Cursor = pg.next
	if pg.next != nil {
		return false
	}
	r.Scanned = 0
	switch phase {
	case phaseCounting:
		r.Phase = phaseImporting
	case phaseImporting:
		r.Phase = phaseVerifying
	case phaseVerifying:
		clean := r.Unverified == 0
		r.Clean = &clean
		if !r.DeleteSource || !clean {
			return true
		}
		r.Phase = phaseDeleting
	default:
		return true
	}
	return false
}

// pageSize is the source page of a job limited to maxRate items a second:
// a page a second or so.
func pageSize(maxRate int) int {
	if maxRate > 0 {
		return min(max(maxRate, 10), rewrapPage)
	}
	return rewrapPage
}

// page reads one page of the source and works on its items as phase
// says, importWorkers at a time and at most MaxRate a second.
func (r *importRun) page(ctx context.Context, phase string, cursor []byte) (importPage, error) {
	job := r.j.snapshot()
	page, err := r.src.Scan(ctx, r.table, cursor, pageSize(job.MaxRate))
	if err != nil {
		return importPage{}, fmt.Errorf("records: read the source table: %w", err)
	}
	out := importPage{next: page.Next, scanned: int64(len(page.Items))}
	if phase == phaseCounting {
		return out, nil
	}
	c, err := r.s.collection(ctx, job.Collection)
	if err != nil {
		return importPage{}, err
	}
	work := map[string]func(context.Context, *collection, attr.Item) (importCounts, error){
		phaseImporting: r.importItem, phaseVerifying: r.verifyItem, phaseDeleting: r.deleteItem}[phase]
	var mu sync.Mutex
	var firstErr error
	parallelN(len(page.Items), importWorkers, func(i int) {
		counts, err := r.workOn(ctx, c, page.Items[i], work)
		mu.Lock()
		defer mu.Unlock()
		out.counts.add(counts)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	})
	if firstErr != nil {
		return importPage{}, firstErr
	}
	out.worked = out.scanned
	return out, ctx.Err()
}

// workOn runs work on one item once the rate limit allows.
func (r *importRun) workOn(ctx context.Context, c *collection, it attr.Item,
	work func(context.Context, *collection, attr.Item) (importCounts, error)) (counts importCounts, err error) {
	defer func() {
		if recover() != nil {
			err = errImportPanicked
		}
	}()
	if r.limit != nil {
		select {
		case <-r.limit:
		case <-ctx.Done():
			return importCounts{}, ctx.Err()
		}
	}
	counts, err = work(ctx, c, it)
	// KMS calls are a cost: counted as they happen, even on a page that
	// is done again after an interruption.
	if counts.kms > 0 {
		r.j.mu.Lock()
		r.j.rec.KMSDecrypts += counts.kms
		r.j.mu.Unlock()
		counts.kms = 0
	}
	return counts, err
}

// finishImport records the end of a job: done, or failed with err.
func (s *Service) finishImport(ctx context.Context, j *runningImport, err error) {
	j.mu.Lock()
	now := s.now().UTC()
	j.rec.Finished = &now
	j.rec.State = JobDone
	if err != nil {
		j.rec.State = JobFailed
		j.rec.Error = publicImportError(err)
	}
	j.mu.Unlock()
	s.saveEnd(func() error { return s.saveRunningImport(context.WithoutCancel(ctx), j) })
}

// publicImportError is what a job's status says of its failure: the
// public message of its kind, or, for an outage or an internal error,
// that starting the import again resumes it.
func publicImportError(err error) string {
	switch c := fault.Classify(err); c.Kind {
	case fault.Unavailable, fault.Canceled:
		return "the source, the store or a key service was unavailable; start the import again to resume it"
	case fault.Internal:
		return "internal error; start the import again to resume it"
	default:
		return c.Message
	}
}
