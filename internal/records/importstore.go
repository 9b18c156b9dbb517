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

// importsTable holds each collection's import job (its current or last):
// its options, progress and the position of its pass, so that a job
// outlives the process running it. Rewrap jobs are in jobsTable, under
// the same keys: the two never collide.
var importsTable = store.Table{Name: "sealstore_imports", PartitionKey: "collection"}

// importRecord is an import job as this process knows it.
type importRecord struct {
	ImportJob
	Cursor []byte

	lease     string
	heartbeat time.Time
}

// storedImport is a job's row in importsTable (its "job" attribute, as
// JSON), versioned so that the API's ImportJob can change later without
// making stored rows unreadable.
type storedImport struct {
	Version int       `json:"v"`
	Job     ImportJob `json:"job"`
	Cursor  []byte    `json:"cursor,omitempty"`
}

const storedImportVersion = 1

// resume makes a stopped or failed job running again, from where it
// stood.
func (rec *importRecord) resume() {
	rec.Resumed++
	rec.State, rec.Error, rec.Finished = JobRunning, "", nil
}

func (s *Service) loadImport(ctx context.Context, coll string) (*importRecord, error) {
	it, err := s.db.Get(ctx, importsTable, attr.Item{"collection": attr.S(coll)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("records: read import job: %w", err)
	}
	raw, _ := it["job"].(attr.S)
	lease, _ := it["lease"].(attr.S)
	hb, _ := it["heartbeat"].(attr.N)
	var st storedImport
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.Version != storedImportVersion {
		return nil, fmt.Errorf("records: stored import job of %s is not readable by this release", coll)
	}
	ms, _ := strconv.ParseInt(string(hb), 10, 64)
	return &importRecord{ImportJob: st.Job, Cursor: st.Cursor, lease: string(lease), heartbeat: time.UnixMilli(ms)}, nil
}

// saveImport writes rec if the stored job is still the one rec was read
// as (its lease), and gives rec a new lease. ErrConflict: another runner
// took the job.
func (s *Service) saveImport(ctx context.Context, rec *importRecord) error {
	raw, err := json.Marshal(storedImport{Version: storedImportVersion, Job: rec.ImportJob, Cursor: rec.Cursor})
	if err != nil {
		return err
	}
	lease, at, err := s.putLeased(ctx, importsTable, rec.Collection, raw, rec.lease)
	if err != nil {
		return err
	}
	rec.lease, rec.heartbeat = lease, at
	return nil
}

// saveRunningImport saves j's progress under its lease and renews the
// lease.
func (s *Service) saveRunningImport(ctx context.Context, j *runningImport) error {
	j.saveMu.Lock()
	defer j.saveMu.Unlock()
	j.mu.Lock()
	j.rec.Updated = s.now().UTC()
	rec := j.rec
	j.mu.Unlock()
	if err := s.saveImport(ctx, &rec); err != nil {
		return err
	}
	j.mu.Lock()
	j.rec.lease, j.rec.heartbeat = rec.lease, rec.heartbeat
	j.mu.Unlock()
	return nil
}

// resumeImports takes over the imports left running by a process that
// stopped: all of them if exclusive, otherwise those whose lease has run
// out (see ResumeJobs).
func (s *Service) resumeImports(ctx context.Context, exclusive bool) error {
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, importsTable, cursor, 0)
		if err != nil {
			return fmt.Errorf("records: list import jobs: %w", err)
		}
		for _, it := range page.Items {
			coll, _ := it["collection"].(attr.S)
			if err := s.resumeImportIfStale(ctx, string(coll), exclusive); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		cursor = page.Next
	}
}

func (s *Service) resumeImportIfStale(ctx context.Context, coll string, exclusive bool) error {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if s.imports[coll] != nil {
		return nil
	}
	rec, err := s.loadImport(ctx, coll)
	if err != nil || rec == nil || rec.State != JobRunning {
		return err
	}
	if !exclusive && s.now().Sub(rec.heartbeat) < JobLease {
		return nil
	}
	rec.resume()
	_, err = s.launchImport(ctx, rec, nil, true)
	var conflict *ConflictError
	if errors.As(err, &conflict) {
		return nil // another server took it
	}
	return err
}
