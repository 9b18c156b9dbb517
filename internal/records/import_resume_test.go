package records_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
)

// referenceTable puts n items of the reference layout in e's source and
// returns their secrets by id.
func referenceTable(t *testing.T, e *importEnv, n int) map[string]string {
	t.Helper()
	secrets := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("r%04d", i)
		secrets[id] = newSecretText(id)
		e.src.put(e.src.encrypt(t, fakeKey, id, secrets[id]))
	}
	return secrets
}

// etags reads the entity tag of every record of the items collection
// straight from the store.
func (e *importEnv) etags(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var cursor []byte
	for {
		page, err := e.db.Scan(t.Context(), itemsTable, cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			id := string(it["item_id"].(attr.S))
			r, err := e.svc.GetRecord(t.Context(), records.ItemsCollection, records.Key{ID: id})
			if err != nil {
				t.Fatalf("GetRecord(%s): %v", id, err)
			}
			out[id] = r.ETag
		}
		if page.Next == nil {
			return out
		}
		cursor = page.Next
	}
}

// TestImportResumesAfterOutage: KMS fails in the middle of the second
// page; the job fails saying to start again, and started again it
// resumes from that page: items of it already imported are taken from the
// ledger, not decrypted again, so that every source item is decrypted
// successfully exactly once, and no record is written twice.
func TestImportResumesAfterOutage(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	secrets := referenceTable(t, e, 300)
	var down atomic.Bool
	var failed atomic.Int64
	e.src.onDecrypt = func(_ context.Context, n int) error {
		if n == 150 {
			down.Store(true)
		}
		if down.Load() {
			failed.Add(1)
			return errKMSDown
		}
		return nil
	}
	job := e.run(t, referenceRequest())
	if job.State != records.JobFailed || job.Phase != "importing" || job.Error == "" || job.Imported != 100 {
		t.Fatalf("the job after KMS failed: %+v; want failed in the importing phase after its first page", job)
	}
	before := e.etags(t)
	down.Store(false)
	job = e.run(t, referenceRequest())
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "verifying", Items: 300, Imported: 300, Verified: 300,
		KMSDecrypts: int64(e.src.calls())})
	if job.Resumed != 1 || job.Error != "" {
		t.Errorf("the resumed job: %+v", job)
	}
	if ok := int64(e.src.calls()) - failed.Load(); ok != 300 {
		t.Errorf("%d successful KMS Decrypts for 300 source items (and %d failed ones), want 300", ok, failed.Load())
	}
	after := e.etags(t)
	for id, etag := range before {
		if after[id] != etag {
			t.Errorf("%s was written again after the outage: %s, then %s", id, etag, after[id])
		}
	}
	for id, s := range secrets {
		if get(t, e.svc, id) != s {
			t.Errorf("GetSecret(%s) is not the source's secret", id)
		}
	}
}

// TestImportRecognisesItsOwnWrite: a record the import wrote whose
// ledger row it could not write (here the audit hook failed, as if the
// server died between the two) is found identical when the job resumes:
// counted imported (recognised), not a conflict, and not written again.
func TestImportRecognisesItsOwnWrite(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	secrets := referenceTable(t, e, 40)
	var fail atomic.Bool
	fail.Store(true)
	e.svc.Close()
	svc, err := records.Open(t.Context(), e.db, e.keys(t), hierarchy.NewCache(0, 100, nil), records.Options{OpenSource: e.src.opener(t),
		Imported: func(ctx context.Context, coll string, k records.Key, etag string) error {
			if err := e.im.hook(ctx, coll, k, etag); err != nil || k.ID != "r0017" || !fail.Swap(false) {
				return err
			}
			return errors.New("the audit trail is down")
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	if job := e.run(t, referenceRequest()); job.State != records.JobFailed {
		t.Fatalf("the job whose audit failed: %+v, want failed", job)
	}
	written := e.etags(t)["r0017"]
	job := e.run(t, referenceRequest())
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "verifying", Items: 40, Imported: 40, Recognised: 1, Verified: 40,
		KMSDecrypts: 41})
	if got := e.im.of(records.Key{ID: "r0017"}); len(got) != 2 || got[0] != written || got[1] != written {
		t.Errorf("r0017 was told Imported with %v; want twice its one entity tag %s", got, written)
	}
	if e.etags(t)["r0017"] != written || get(t, e.svc, "r0017") != secrets["r0017"] {
		t.Error("r0017 was written again, or reads wrong")
	}
}

// TestImportSurvivesStop: the service stops (as a server does on SIGTERM,
// or dies) in the middle of a page; a new one on the same database
// resumes the job at once and finishes it, and no record is written
// twice.
func TestImportSurvivesStop(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	secrets := referenceTable(t, e, 250)
	stopped := make(chan struct{})
	e.src.onDecrypt = func(ctx context.Context, n int) error {
		if n == 170 {
			close(stopped)
			<-ctx.Done() // until the service stops
			return fmt.Errorf("fake KMS: %w", ctx.Err())
		}
		return nil
	}
	if _, err := e.svc.StartImport(t.Context(), records.ItemsCollection, referenceRequest()); err != nil {
		t.Fatal(err)
	}
	<-stopped
	e.svc.Close()
	if j, err := e.svc.ImportStatus(t.Context(), records.ItemsCollection); err != nil || j.State != records.JobRunning {
		t.Fatalf("after the stop the job is %+v, %v; want it still running, to be resumed", j, err)
	}
	before := e.etags(t)
	e.src.onDecrypt = nil
	e.svc = e.reopen(t)
	if err := e.svc.ResumeJobs(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	job := waitImport(t, e.svc, records.ItemsCollection)
	// Items in flight at the stop may have been written without their
	// ledger row: they are recognised.
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "verifying", Items: 250, Imported: 250, Verified: 250,
		Recognised: job.Recognised, KMSDecrypts: job.KMSDecrypts})
	if job.Resumed != 1 || len(before) < 100 || len(before) == 250 || job.Recognised > 8 {
		t.Errorf("resumed %d times, %d records at the stop, %d recognised; want 1, 100 (the first page) to 249, at most 8 (the workers)", job.Resumed, len(before), job.Recognised)
	}
	after := e.etags(t)
	for id, etag := range before {
		if after[id] != etag {
			t.Errorf("%s was written again after the restart", id)
		}
	}
	for id, s := range secrets {
		if get(t, e.svc, id) != s {
			t.Errorf("GetSecret(%s) is not the source's secret", id)
		}
	}
}

// TestImportOneAtATime: while an import runs, asking for the same one
// reports it, and asking for another is a conflict.
func TestImportOneAtATime(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	referenceTable(t, e, 10)
	release := make(chan struct{})
	e.src.onDecrypt = func(context.Context, int) error { <-release; return nil }
	first, err := e.svc.StartImport(t.Context(), records.ItemsCollection, referenceRequest())
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.StartImport(t.Context(), records.ItemsCollection, referenceRequest())
	if err != nil || again.ID != first.ID {
		t.Errorf("the same import again: %+v, %v; want job %s", again, err, first.ID)
	}
	other := referenceRequest()
	other.Source.Region = "eu-west-1"
	if _, err := e.svc.StartImport(t.Context(), records.ItemsCollection, other); !errors.Is(err, records.ErrConflict) {
		t.Errorf("another import while one runs: %v, want a conflict", err)
	}
	close(release)
	if job := waitImport(t, e.svc, records.ItemsCollection); job.State != records.JobDone || job.ID != first.ID {
		t.Errorf("job %+v", job)
	}
	next, err := e.svc.StartImport(t.Context(), records.ItemsCollection, referenceRequest())
	if err != nil || next.ID == first.ID {
		t.Errorf("an import after one that is done: %+v, %v; want a new job", next, err)
	}
	if job := waitImport(t, e.svc, records.ItemsCollection); job.Imported != 10 || job.Recognised != 10 {
		t.Errorf("the same import again: %+v; want every record recognised", job)
	}
}
