package records

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store/bolt"
)

// newBoltService is a Service over a fresh bolt file and local root key.
func newBoltService(t *testing.T) *Service {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ks := keystore.New("test", "keys", db, localroot.Generate())
	if err := ks.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), db, ks, hierarchy.NewCache(0, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// A catalog entry read before a change made here (a request that read it
// just before a shred) must not replace the newer one installed by the
// change: the shred is refused "at once" on this server.
func TestInstallKeepsTheNewerEntry(t *testing.T) {
	t.Parallel()
	s := newBoltService(t)
	if _, _, err := s.PutCollection(t.Context(), "c", Schema{PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	stale, err := s.cat.get(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ShredKeys(t.Context(), "c", "c"); err != nil {
		t.Fatal(err)
	}
	c, err := s.install(stale, s.cached("c"))
	if err != nil {
		t.Fatal(err)
	}
	if c.gone == nil || s.cached("c").gone == nil {
		t.Fatal("an entry read before the shred replaced the shredded one")
	}
	if _, err := s.collection(t.Context(), "c"); err == nil {
		t.Fatal("the shredded collection is usable")
	}
}

// A job that failed at the pass limit starts its count afresh when
// started again, and can finish.
func TestRewrapAfterPassLimit(t *testing.T) {
	t.Parallel()
	s := newBoltService(t)
	if _, _, err := s.PutCollection(t.Context(), "c", Schema{PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.PutRecord(t.Context(), "c", Key{ID: id}, attr.Item{"v": attr.S(id)}, Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RotateKey(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
	// The state a job is left in when it stops at the limit.
	failed := &jobRecord{RewrapJob: RewrapJob{Collection: "c", ID: "j1", State: JobFailed, Phase: phaseCounting,
		Pass: maxRewrapPasses, Error: "after 5 passes"}, FirstPass: 1}
	if err := s.saveJob(t.Context(), failed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartRewrap(t.Context(), "c", RewrapOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.RewrapStatus(t.Context(), "c")
		if err != nil {
			t.Fatal(err)
		}
		if j.State != JobRunning {
			if j.State != JobDone || j.Rewrapped != 3 || j.ID != "j1" || j.Resumed != 1 {
				t.Fatalf("job started again after the pass limit: %+v; want done with 3 rewrapped", j)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the job did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
