package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/store"
)

// jobsTable holds each collection's rewrap job: its progress and the
// point it reached, so that a job outlives the process running it.
var jobsTable = store.Table{Name: "sealstore_jobs", PartitionKey: "collection"}

// Job states.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
	JobNone    = "none" // no rewrap has run for the collection
)

// Job phases: a pass counts the records under older versions, then
// rewraps them; passes repeat until a count finds none.
const (
	phaseCounting   = "counting"
	phaseRewrapping = "rewrapping"
)

// Rewrap tuning.
const (
	// JobLease is how long a job whose runner stopped writing progress
	// is left alone before another server (or a restarted one) takes it
	// over.
	JobLease = 15 * time.Second
	// maxRewrapPasses bounds the passes of a job whose records keep
	// appearing under older versions (servers that have not yet noticed
	// a rotation).
	maxRewrapPasses = 5
	rewrapWorkers   = 8
	rewrapPage      = 100
)

// RewrapJob is the progress of a collection's rewrap: every record under
// an older branch key version is decrypted and encrypted again under the
// active version, inside the server.
type RewrapJob struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	State      string `json:"state" enum:"running,done,failed,none"`
	Phase      string `json:"phase,omitempty" doc:"counting (reading headers) or rewrapping."`
	Pass       int    `json:"pass,omitempty" doc:"A pass counts, then rewraps; the job ends when a count finds nothing to rewrap."`
	// Items is the number of records in the collection at the last
	// count; Scanned how many of them this pass's phase has read.
	Items     int64 `json:"items"`
	Scanned   int64 `json:"scanned"`
	ToRewrap  int64 `json:"toRewrap" doc:"Records found under older versions, over all passes."`
	Rewrapped int64 `json:"rewrapped" doc:"Records encrypted again under the active version."`
	Retried   int64 `json:"retried" doc:"Records that changed between read and write, read again (never overwritten)."`
	Skipped   int64 `json:"skipped" doc:"Records already under the active version when reached (changed by a client meanwhile, or done before an interruption), or deleted meanwhile."`
	Failed    int64 `json:"failed" doc:"Records that could not be rewrapped, left as they are: undecryptable (tampered, or under a retired version), their key version unavailable, no longer fitting the schema, or changed by clients at every attempt."`
	// Rate is rewrapped records per second since this runner started.
	Rate     float64    `json:"ratePerSecond"`
	MaxRate  int        `json:"maxRate,omitempty" doc:"Limit in records per second (0: none)."`
	Resumed  int        `json:"resumed" doc:"Times the job was resumed after an interruption."`
	Started  time.Time  `json:"started"`
	Updated  time.Time  `json:"updated"`
	Finished *time.Time `json:"finished,omitempty"`
	Error    string     `json:"error,omitempty"`
}

// jobRecord is a job as stored: its progress and where its phase's scan
// stands.
type jobRecord struct {
	RewrapJob
	Cursor []byte `json:"cursor,omitempty"`
	// FirstPass is the pass this run of the job began with: the pass
	// limit counts the passes of one run, so a job that stopped at it
	// can be started again.
	FirstPass int `json:"firstPass,omitempty"`
	// PassStale counts this pass's records under older versions;
	// PassDone the records its rewrapping phase has rewrapped, skipped
	// or failed; PassFailed the records the last rewrapping phase could
	// not rewrap (a count finding no more than those has nothing left to
	// do).
	PassStale  int64 `json:"passStale,omitempty"`
	PassDone   int64 `json:"passDone,omitempty"`
	PassFailed int64 `json:"passFailed,omitempty"`

	lease     string
	heartbeat time.Time
}

// resume makes a stopped or failed job running again, from where it
// stood.
func (rec *jobRecord) resume() {
	rec.Resumed++
	rec.State, rec.Error, rec.Finished = JobRunning, "", nil
	rec.FirstPass = rec.Pass
}

func (s *Service) loadJob(ctx context.Context, coll string) (*jobRecord, error) {
	it, err := s.db.Get(ctx, jobsTable, attr.Item{"collection": attr.S(coll)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: read job: %w", err)
	}
	raw, _ := it["job"].(attr.S)
	lease, _ := it["lease"].(attr.S)
	hb, _ := it["heartbeat"].(attr.N)
	rec := &jobRecord{lease: string(lease)}
	if err := json.Unmarshal([]byte(raw), rec); err != nil {
		return nil, fmt.Errorf("records: stored job of %s: %w", coll, err)
	}
	ms, _ := strconv.ParseInt(string(hb), 10, 64)
	rec.heartbeat = time.UnixMilli(ms)
	return rec, nil
}

// saveJob writes rec if the stored job is still the one rec was read as
// (its lease), and gives rec a new lease. ErrConflict: another runner
// took the job.
func (s *Service) saveJob(ctx context.Context, rec *jobRecord) error {
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	now := s.now()
	lease := newRev()
	it := attr.Item{
		"collection": attr.S(rec.Collection),
		"job":        attr.S(raw),
		"lease":      attr.S(lease),
		"heartbeat":  attr.N(strconv.FormatInt(now.UnixMilli(), 10)),
	}
	cond := store.Cond{Absent: true}
	if rec.lease != "" {
		cond = store.Cond{Attr: "lease", Equals: attr.S(rec.lease)}
	}
	if err := s.db.Put(ctx, jobsTable, it, cond); err != nil {
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		// A retried write whose first attempt landed (its answer lost)
		// finds its own lease: that is success, not a takeover.
		cur, gerr := s.db.Get(ctx, jobsTable, attr.Item{"collection": attr.S(rec.Collection)})
		if gerr != nil || !attr.Equal(cur["lease"], attr.S(lease)) {
			return err
		}
	}
	rec.lease, rec.heartbeat = lease, now
	return nil
}

// runningJob is a job this Service runs.
type runningJob struct {
	mu     sync.Mutex
	rec    jobRecord
	saveMu sync.Mutex // one save at a time: each needs the last one's lease
}

func (j *runningJob) snapshot() RewrapJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec.RewrapJob
}

func (j *runningJob) add(field *int64, n int64) {
	j.mu.Lock()
	*field += n
	j.mu.Unlock()
}

// fail, rewrapped and skipped count what became of one record.
func (j *runningJob) fail() {
	j.mu.Lock()
	j.rec.Failed++
	j.rec.PassFailed++
	j.rec.PassDone++
	j.mu.Unlock()
}

func (j *runningJob) rewrapped() {
	j.mu.Lock()
	j.rec.Rewrapped++
	j.rec.PassDone++
	j.mu.Unlock()
}

func (j *runningJob) skipped() {
	j.mu.Lock()
	j.rec.Skipped++
	j.rec.PassDone++
	j.mu.Unlock()
}

// RewrapOptions tune a rewrap.
type RewrapOptions struct {
	// MaxRate limits the records rewrapped per second (0: no limit), to
	// leave the store's capacity to clients; at most MaxRewrapRate.
	MaxRate int
}

// MaxRewrapRate is the highest MaxRate.
const MaxRewrapRate = 100_000

// StartRewrap starts the rewrap of collection coll, or resumes it where it
// stopped if it was interrupted or failed, and returns its progress. A
// rewrap already running (here or on another server) is left alone and
// reported.
func (s *Service) StartRewrap(ctx context.Context, coll string, o RewrapOptions) (RewrapJob, error) {
	if o.MaxRate < 0 || o.MaxRate > MaxRewrapRate {
		return RewrapJob{}, &InvalidError{Field: "body.maxRate", Reason: fmt.Sprintf("must be 0 (no limit) to %d records per second", MaxRewrapRate)}
	}
	if _, err := s.collection(ctx, coll); err != nil {
		return RewrapJob{}, err
	}
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if j := s.jobs[coll]; j != nil {
		return j.snapshot(), nil
	}
	rec, err := s.loadJob(ctx, coll)
	if err != nil {
		return RewrapJob{}, err
	}
	now := s.now().UTC()
	switch {
	case rec != nil && rec.State == JobRunning && now.Sub(rec.heartbeat) < JobLease:
		return rec.RewrapJob, nil // running on another server
	case rec != nil && (rec.State == JobRunning || rec.State == JobFailed):
		rec.resume()
		rec.MaxRate = o.MaxRate
	default:
		prev := ""
		if rec != nil {
			prev = rec.lease
		}
		rec = &jobRecord{RewrapJob: RewrapJob{Collection: coll, ID: newRev(), State: JobRunning, Phase: phaseCounting, Pass: 1, MaxRate: o.MaxRate, Started: now}, FirstPass: 1, lease: prev}
	}
	return s.launch(ctx, rec)
}

// launch takes rec over (with a conditional write) and runs it in the
// background. Called with jobsMu held.
func (s *Service) launch(ctx context.Context, rec *jobRecord) (RewrapJob, error) {
	if s.closed {
		return RewrapJob{}, fmt.Errorf("records: %w: the service is shutting down", store.ErrUnavailable)
	}
	rec.Updated = s.now().UTC()
	if err := s.saveJob(ctx, rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return RewrapJob{}, &ConflictError{Reason: "another server started or resumed this rewrap at the same moment; read its status"}
		}
		return RewrapJob{}, fmt.Errorf("records: save job: %w", err)
	}
	j := &runningJob{rec: *rec}
	s.jobs[rec.Collection] = j
	s.jobsWG.Add(1)
	go func() {
		defer s.jobsWG.Done()
		defer func() {
			s.jobsMu.Lock()
			delete(s.jobs, rec.Collection)
			s.jobsMu.Unlock()
		}()
		defer func() {
			// A bug in a job must not take the server down, nor, resumed
			// at the next start, every start after it.
			if recover() != nil {
				s.finish(s.bg, j, errJobPanicked)
			}
		}()
		s.runRewrap(s.bg, j)
	}()
	return j.snapshot(), nil
}

// RewrapStatus returns the progress of collection coll's rewrap (state
// "none" if none has run).
func (s *Service) RewrapStatus(ctx context.Context, coll string) (RewrapJob, error) {
	if _, err := s.keyEntry(ctx, coll); err != nil {
		return RewrapJob{}, err
	}
	s.jobsMu.Lock()
	j := s.jobs[coll]
	s.jobsMu.Unlock()
	if j != nil {
		return j.snapshot(), nil
	}
	rec, err := s.loadJob(ctx, coll)
	if err != nil || rec == nil {
		return RewrapJob{Collection: coll, State: JobNone}, err
	}
	return rec.RewrapJob, nil
}

// ResumeJobs takes over the rewraps left running by a process that
// stopped, or by a runner that could not record its end: all of them if
// exclusive (no other process can be running them: the embedded store is
// locked to one), otherwise those whose lease has run out (another server
// may still be running the others). Servers call it at start and then
// every JobLease.
func (s *Service) ResumeJobs(ctx context.Context, exclusive bool) error {
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, jobsTable, cursor, 0)
		if err != nil {
			return fmt.Errorf("records: list jobs: %w", err)
		}
		for _, it := range page.Items {
			coll, _ := it["collection"].(attr.S)
			if err := s.resumeIfStale(ctx, string(coll), exclusive); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		cursor = page.Next
	}
}

func (s *Service) resumeIfStale(ctx context.Context, coll string, exclusive bool) error {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.jobs[coll] != nil {
		return nil
	}
	rec, err := s.loadJob(ctx, coll)
	if err != nil || rec == nil || rec.State != JobRunning {
		return err
	}
	if !exclusive && s.now().Sub(rec.heartbeat) < JobLease {
		return nil
	}
	rec.resume()
	_, err = s.launch(ctx, rec)
	var conflict *ConflictError
	if errors.As(err, &conflict) {
		return nil // another server took it
	}
	return err
}

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
	// The end must be recorded, or the job would look running until a
	// sweep resumed it; an outage is waited out (the service closing
	// leaves it to the next server's sweep).
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := s.saveRunning(context.WithoutCancel(ctx), j)
		if err == nil || errors.Is(err, store.ErrConflict) {
			return
		}
		select {
		case <-time.After(wait):
		case <-s.bg.Done():
			return
		}
	}
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
		// The page's counts, the cursor and the phase change together,
		// so that a save (the lease renewal saves at any time) never
		// holds a count without its cursor.
		j.mu.Lock()
		if phase == phaseCounting {
			j.rec.PassStale += pg.stale
			j.rec.Scanned += pg.scanned
			j.rec.Items = j.rec.Scanned
		}
		j.rec.Cursor = pg.next
		if pg.next == nil {
			switch {
			case phase == phaseCounting && j.rec.PassStale <= j.rec.PassFailed:
				j.mu.Unlock()
				return nil // done, but for records that cannot be rewrapped
			case phase == phaseCounting && j.rec.Pass-j.rec.FirstPass+1 >= maxRewrapPasses:
				n := j.rec.PassStale
				// Started again, the job counts afresh.
				j.rec.PassStale, j.rec.Scanned = 0, 0
				j.mu.Unlock()
				return &ConflictError{Reason: fmt.Sprintf("after %d passes, %d records are still under older versions: another server may not have noticed the rotation yet; start the rewrap again in a minute", maxRewrapPasses, n)}
			case phase == phaseCounting:
				// The records that failed last time are counted again
				// (and again as failed if they fail again).
				j.rec.ToRewrap += j.rec.PassStale - j.rec.PassFailed
				j.rec.Failed -= j.rec.PassFailed
				j.rec.Phase, j.rec.Scanned, j.rec.PassFailed, j.rec.PassDone = phaseRewrapping, 0, 0, 0
			default:
				// Records counted stale but found under the active version
				// when reached: rewritten by clients meanwhile, or
				// rewrapped by this job after its last save before an
				// interruption.
				if d := j.rec.PassStale - j.rec.PassDone; d > 0 {
					j.rec.Skipped += d
				} else {
					j.rec.ToRewrap -= d // written under an old version meanwhile
				}
				j.rec.Phase, j.rec.Scanned, j.rec.PassStale, j.rec.PassDone = phaseCounting, 0, 0, 0
				j.rec.Pass++
			}
		}
		j.mu.Unlock()
		if err := s.saveRunning(ctx, j); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errLostJob
			}
			return fmt.Errorf("records: save job: %w", err)
		}
	}
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
	if last, _ := c.keyState.lastActivated(); last.ID != active && phase == phaseRewrapping {
		// Rotated elsewhere since this copy of the catalog entry was
		// read: read it again (which drops the cached active key), or
		// records would be rewrapped under the version just replaced.
		if c, err = s.reload(ctx, c.info.Name); err != nil {
			return pageResult{}, err
		}
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
	var limit <-chan time.Time
	if maxRate > 0 {
		t := time.NewTicker(time.Second / time.Duration(min(maxRate, MaxRewrapRate)))
		defer t.Stop()
		limit = t.C
	}
	var mu sync.Mutex
	var firstErr error
	parallelN(len(page.Items), rewrapWorkers, func(i int) {
		defer func() {
			if recover() != nil {
				mu.Lock()
				firstErr = errJobPanicked
				mu.Unlock()
			}
		}()
		it := page.Items[i]
		if v, _ := c.versionOf(it); v == active {
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
		err := s.rewrapOne(ctx, c, j, it, active)
		j.add(&j.rec.Scanned, 1)
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	if firstErr != nil {
		return pageResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return pageResult{}, err
	}
	return pageResult{next: page.Next}, nil
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

// Close stops the rewraps this Service runs (each stays running in the
// store, to be resumed by the next server) and waits for them; no job
// starts after it.
func (s *Service) Close() {
	s.jobsMu.Lock()
	s.closed = true
	s.jobsMu.Unlock()
	s.bgCancel()
	s.jobsWG.Wait()
}
