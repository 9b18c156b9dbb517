package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/store"
)

// jobsTable holds each collection's rewrap job: its progress and the
// point it reached, so that a job outlives the process running it.
var jobsTable = store.Table{Name: "sealstore_jobs", PartitionKey: "collection"}

// jobRecord is a job as this process knows it: its progress and where
// its phase's scan stands. Its stored form is storedJob.
type jobRecord struct {
	RewrapJob
	Cursor []byte
	// FirstPass is the pass this run of the job began with: the pass
	// limit counts the passes of one run, so a job that stopped at it
	// can be started again.
	FirstPass int
	// PassStale counts this pass's records under older versions;
	// PassDone the records its rewrapping phase has rewrapped, skipped
	// or failed; PassFailed the records the last rewrapping phase could
	// not rewrap (a count finding no more than those has nothing left to
	// do).
	PassStale, PassDone, PassFailed int64

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
	var sj storedJob
	if err := json.Unmarshal([]byte(raw), &sj); err != nil {
		return nil, fmt.Errorf("records: stored job of %s: %w", coll, err)
	}
	rec := sj.record()
	rec.lease = string(lease)
	ms, _ := strconv.ParseInt(string(hb), 10, 64)
	rec.heartbeat = time.UnixMilli(ms)
	return rec, nil
}

// saveJob writes rec if the stored job is still the one rec was read as
// (its lease), and gives rec a new lease. ErrConflict: another runner
// took the job.
func (s *Service) saveJob(ctx context.Context, rec *jobRecord) error {
	raw, err := json.Marshal(storedForm(rec))
	if err != nil {
		return err
	}
	lease, at, err := s.putLeased(ctx, jobsTable, rec.Collection, raw, rec.lease)
	if err != nil {
		return err
	}
	rec.lease, rec.heartbeat = lease, at
	return nil
}

// storedJob is a job's row in the jobs table (its "job" attribute, as
// JSON). Its names are its own: the API's RewrapJob may change without
// changing a stored row, and a row stored by an earlier release (which
// wrote RewrapJob's names, the same as these) resumes.
type storedJob struct {
	Collection string     `json:"collection"`
	ID         string     `json:"id"`
	State      string     `json:"state"`
	Phase      string     `json:"phase,omitempty"`
	Pass       int        `json:"pass,omitempty"`
	Items      int64      `json:"items"`
	Scanned    int64      `json:"scanned"`
	ToRewrap   int64      `json:"toRewrap"`
	Rewrapped  int64      `json:"rewrapped"`
	Retried    int64      `json:"retried"`
	Skipped    int64      `json:"skipped"`
	Failed     int64      `json:"failed"`
	Rate       float64    `json:"ratePerSecond"`
	MaxRate    int        `json:"maxRate,omitempty"`
	Resumed    int        `json:"resumed"`
	Started    time.Time  `json:"started"`
	Updated    time.Time  `json:"updated"`
	Finished   *time.Time `json:"finished,omitempty"`
	Error      string     `json:"error,omitempty"`
	Cursor     []byte     `json:"cursor,omitempty"`
	FirstPass  int        `json:"firstPass,omitempty"`
	PassStale  int64      `json:"passStale,omitempty"`
	PassDone   int64      `json:"passDone,omitempty"`
	PassFailed int64      `json:"passFailed,omitempty"`
}

func storedForm(r *jobRecord) storedJob {
	j := r.RewrapJob
	return storedJob{
		Collection: j.Collection, ID: j.ID, State: j.State, Phase: j.Phase, Pass: j.Pass,
		Items: j.Items, Scanned: j.Scanned, ToRewrap: j.ToRewrap, Rewrapped: j.Rewrapped, Retried: j.Retried,
		Skipped: j.Skipped, Failed: j.Failed, Rate: j.Rate, MaxRate: j.MaxRate, Resumed: j.Resumed,
		Started: j.Started, Updated: j.Updated, Finished: j.Finished, Error: j.Error,
		Cursor: r.Cursor, FirstPass: r.FirstPass, PassStale: r.PassStale, PassDone: r.PassDone, PassFailed: r.PassFailed,
	}
}

func (s storedJob) record() *jobRecord {
	return &jobRecord{
		RewrapJob: RewrapJob{
			Collection: s.Collection, ID: s.ID, State: s.State, Phase: s.Phase, Pass: s.Pass,
			Items: s.Items, Scanned: s.Scanned, ToRewrap: s.ToRewrap, Rewrapped: s.Rewrapped, Retried: s.Retried,
			Skipped: s.Skipped, Failed: s.Failed, Rate: s.Rate, MaxRate: s.MaxRate, Resumed: s.Resumed,
			Started: s.Started, Updated: s.Updated, Finished: s.Finished, Error: s.Error,
		},
		Cursor: s.Cursor, FirstPass: s.FirstPass, PassStale: s.PassStale, PassDone: s.PassDone, PassFailed: s.PassFailed,
	}
}
