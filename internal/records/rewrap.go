package records

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

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
	// completed count (0 until the job's first count ends); Scanned how
	// many records this pass's phase has read: counting, the records
	// counted so far.
	Items     int64 `json:"items" doc:"Records in the collection at the last completed count (0 until the job's first count ends)."`
	Scanned   int64 `json:"scanned" doc:"Records this pass's phase has read so far: counted, while counting; reached, while rewrapping."`
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

// ResumeJobs takes over the rewraps and imports left running by a process
// that stopped, or by a runner that could not record its end: all of them
// if exclusive (no other process can be running them: the embedded store
// is locked to one), otherwise those whose lease has run out (another
// server may still be running the others). Servers call it at start and
// then every JobLease.
func (s *Service) ResumeJobs(ctx context.Context, exclusive bool) error {
	return errors.Join(s.resumeRewraps(ctx, exclusive), s.resumeImports(ctx, exclusive))
}

func (s *Service) resumeRewraps(ctx context.Context, exclusive bool) error {
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
