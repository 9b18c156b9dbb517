package records_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/store"
)

// A rewrap job stored by the release before the stored form had names of
// its own (commit bdb6663, its row kept byte for byte in testdata: a job
// in the rewrapping phase of its first pass, 300 records found under the
// old version; maxRate set to 0 so the test runs fast) is resumed by this
// release and finishes.
func TestJobOfThePreviousReleaseResumes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/stored-job-bdb6663.json")
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	v := newRotated(t, n)
	v.svc.Close()
	jobs := store.Table{Name: "sealstore_jobs", PartitionKey: "collection"}
	stale := time.Now().Add(-time.Hour).UnixMilli()
	row := attr.Item{"collection": attr.S("c"), "job": attr.S(raw), "lease": attr.S("lease-of-a-stopped-server"),
		"heartbeat": attr.N(strconv.FormatInt(stale, 10))}
	if err := v.env.db.Put(t.Context(), jobs, row, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	other := v.env.open(t)
	t.Cleanup(other.Close)
	o := &v1Env{env: v.env, svc: other}
	if j, err := other.RewrapStatus(t.Context(), "c"); err != nil || j.ID != "f8f717ece6854627923a2347" || j.ToRewrap != n || j.Phase != "rewrapping" {
		t.Fatalf("the stored job reads as %+v, %v", j, err)
	}
	if err := other.ResumeJobs(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	job := o.waitJob(t, "c")
	if job.State != records.JobDone || job.Resumed != 1 || job.Rewrapped != n || job.Failed != 0 || job.ID != "f8f717ece6854627923a2347" {
		t.Fatalf("resumed job = %+v; want done, resumed once, %d rewrapped", job, n)
	}
	if got := itemsByVersion(o.status(t, "c")); got[2] != n {
		t.Fatalf("after the resumed job: %v", got)
	}
}
