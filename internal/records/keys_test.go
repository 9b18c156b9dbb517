package records_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/store"
)

var keysSchema = records.Schema{PartitionKey: "id", Attributes: map[string]string{"name": records.ActionEncrypt, "email": records.ActionEncrypt}, Searchable: map[string]int{"email": 8}}

func (v *v1Env) status(t *testing.T, coll string) records.KeyStatus {
	t.Helper()
	st, err := v.svc.KeyStatus(t.Context(), coll)
	if err != nil {
		t.Fatalf("KeyStatus(%s): %v", coll, err)
	}
	return st
}

func (v *v1Env) rotate(t *testing.T, coll string) records.KeyVersion {
	t.Helper()
	kv, err := v.svc.RotateKey(t.Context(), coll)
	if err != nil {
		t.Fatalf("RotateKey(%s): %v", coll, err)
	}
	return kv
}

// itemsByVersion is the status's item count per version number.
func itemsByVersion(st records.KeyStatus) map[int]int64 {
	out := map[int]int64{}
	for _, v := range st.Versions {
		out[v.Version] = v.Items
	}
	return out
}

// waitJob polls the rewrap of coll until it is no longer running.
func (v *v1Env) waitJob(t *testing.T, coll string) records.RewrapJob {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		j, err := v.svc.RewrapStatus(t.Context(), coll)
		if err != nil {
			t.Fatalf("RewrapStatus: %v", err)
		}
		if j.State != records.JobRunning {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("rewrap did not finish in 30 s")
	return records.RewrapJob{}
}

// newRotated is a service with collection "c" holding records "0".."n-1"
// under key version 1, and version 2 active.
func newRotated(t *testing.T, n int) *v1Env {
	t.Helper()
	v := newV1(t)
	v.create(t, "c", keysSchema)
	for i := range n {
		v.putRec(t, "c", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	v.rotate(t, "c")
	return v
}

func doc(i int) attr.Item {
	return attr.Item{"name": attr.S(fmt.Sprintf("name-%d", i)), "email": attr.S(fmt.Sprintf("u%d@example.com", i%7))}
}

func TestRotateStatusRewrapRetire(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", keysSchema)
	for i := range 30 {
		v.putRec(t, "people", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	st := v.status(t, "people")
	if st.ActiveVersion != 1 || len(st.Versions) != 1 || st.Items != 30 || st.Versions[0].Items != 30 || st.MinDecryptableVersion != 1 {
		t.Fatalf("initial status = %+v", st)
	}
	kv := v.rotate(t, "people")
	if kv.Version != 2 || !kv.Active {
		t.Fatalf("RotateKey = %+v, want version 2 active", kv)
	}
	// New writes go under version 2 at once; old records read.
	for i := 30; i < 40; i++ {
		v.putRec(t, "people", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	for i := range 40 {
		if got := v.getRec(t, "people", records.Key{ID: fmt.Sprint(i)}); !attr.Equal(attr.M(got.Doc), attr.M(withID(doc(i), i))) {
			t.Fatalf("record %d after rotation = %v", i, got.Doc)
		}
	}
	if got := itemsByVersion(v.status(t, "people")); got[1] != 30 || got[2] != 10 {
		t.Fatalf("items by version after rotation = %v, want 1:30 2:10", got)
	}
	// Retiring version 1 now is refused: 30 records are under it.
	two := 2
	_, err := v.svc.SetKeyPolicy(t.Context(), "people", records.KeyPolicy{MinDecryptableVersion: &two})
	var conflict *records.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("retire before rewrap: %v, want a ConflictError", err)
	}
	v.rotate(t, "people") // version 3
	job, err := v.svc.StartRewrap(t.Context(), "people", records.RewrapOptions{})
	if err != nil || job.State != records.JobRunning {
		t.Fatalf("StartRewrap = %+v, %v", job, err)
	}
	job = v.waitJob(t, "people")
	if job.State != records.JobDone || job.Rewrapped != 40 || job.Failed != 0 || job.ToRewrap != 40 {
		t.Fatalf("rewrap job = %+v, want done with 40 rewrapped", job)
	}
	if got := itemsByVersion(v.status(t, "people")); got[1] != 0 || got[2] != 0 || got[3] != 40 {
		t.Fatalf("items by version after rewrap = %v, want all 40 under 3", got)
	}
	// Search still works (the beacon key stayed).
	page, err := v.svc.ListRecords(t.Context(), "people", records.Query{Filters: map[string]string{"email": "u3@example.com"}})
	if err != nil || len(page.Records) == 0 {
		t.Fatalf("search after rewrap: %d records, %v", len(page.Records), err)
	}
	three := 3
	st, err = v.svc.SetKeyPolicy(t.Context(), "people", records.KeyPolicy{MinDecryptableVersion: &three})
	if err != nil || st.MinDecryptableVersion != 3 || !st.Versions[0].Retired || !st.Versions[1].Retired || st.Versions[2].Retired {
		t.Fatalf("retire after rewrap = %+v, %v", st, err)
	}
	for i := range 40 {
		v.getRec(t, "people", records.Key{ID: fmt.Sprint(i)})
	}
	// One way: lowering is refused; above the active version is invalid.
	one, four := 1, 4
	if _, err := v.svc.SetKeyPolicy(t.Context(), "people", records.KeyPolicy{MinDecryptableVersion: &one}); !errors.As(err, &conflict) {
		t.Fatalf("lowering the minimum: %v, want ConflictError", err)
	}
	if _, err := v.svc.SetKeyPolicy(t.Context(), "people", records.KeyPolicy{MinDecryptableVersion: &four}); !errors.Is(err, records.ErrInvalid) {
		t.Fatalf("minimum above the active version: %v, want ErrInvalid", err)
	}
}

func withID(d attr.Item, i int) attr.Item {
	out := attr.Item{"id": attr.S(fmt.Sprint(i))}
	for k, v := range d {
		out[k] = v
	}
	return out
}

func TestForcedRetireGivesSpecificError(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "c", keysSchema)
	v.putRec(t, "c", records.Key{ID: "old"}, doc(1))
	v.rotate(t, "c")
	v.putRec(t, "c", records.Key{ID: "new"}, doc(2))
	two := 2
	if _, err := v.svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{MinDecryptableVersion: &two, Force: true}); err != nil {
		t.Fatalf("forced retire: %v", err)
	}
	_, err := v.svc.GetRecord(t.Context(), "c", records.Key{ID: "old"})
	var retired *records.RetiredError
	if !errors.As(err, &retired) || retired.Version != 1 || retired.MinVersion != 2 || !errors.Is(err, records.ErrGone) || errors.Is(err, item.ErrDecrypt) {
		t.Fatalf("read of a retired record: %v, want RetiredError version 1 min 2", err)
	}
	v.getRec(t, "c", records.Key{ID: "new"})
	page, err := v.svc.ListRecords(t.Context(), "c", records.Query{})
	if err != nil || len(page.Records) != 1 || page.Retired != 1 {
		t.Fatalf("listing after forced retire: %d records, %d retired, %v; want 1 and 1", len(page.Records), page.Retired, err)
	}
	// PATCH cannot read it either; PUT replaces it under the active version.
	if _, err := v.svc.PatchRecord(t.Context(), "c", records.Key{ID: "old"}, attr.Item{"name": attr.S("x")}, records.Precondition{}); !errors.As(err, &retired) {
		t.Fatalf("patch of a retired record: %v", err)
	}
	v.putRec(t, "c", records.Key{ID: "old"}, doc(3))
	v.getRec(t, "c", records.Key{ID: "old"})
	// A fresh service (another server) refuses it too.
	other := v.env.open(t)
	if _, err := other.KeyStatus(t.Context(), "c"); err != nil {
		t.Fatal(err)
	}
}

func TestRetiredVersionRefusedByKeyringEvenIfHeaderIsEdited(t *testing.T) {
	t.Parallel()
	// The specific error is read from the header; decryption itself
	// refuses the retired version whatever the header check says.
	v := newV1(t)
	v.create(t, "c", keysSchema)
	v.putRec(t, "c", records.Key{ID: "a"}, doc(1))
	v.rotate(t, "c")
	two := 2
	if _, err := v.svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{MinDecryptableVersion: &two, Force: true}); err != nil {
		t.Fatal(err)
	}
	raw := v.raw(t, "c", keysSchema, records.Key{ID: "a"})
	// Drop the header: the version cannot be read, decryption must fail.
	delete(raw, item.HeaderAttr)
	if err := v.env.db.Put(t.Context(), table("c", keysSchema), raw, storeCondNone()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.svc.GetRecord(t.Context(), "c", records.Key{ID: "a"}); !errors.Is(err, item.ErrDecrypt) {
		t.Fatalf("read: %v, want the generic decrypt error", err)
	}
}

func TestRewrapUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	const n = 200
	v := newRotated(t, n)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var writes atomic.Int64
	latest := make([]atomic.Int64, n) // last value written per record
	for w := range 4 {
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				// Each worker patches its own records (i = w mod 4), so
				// the value it stores last is the one its last patch wrote.
				i := (k*4 + w) % n
				val := int(writes.Add(1))
				if _, err := v.svc.PatchRecord(t.Context(), "c", records.Key{ID: fmt.Sprint(i)}, attr.Item{"name": attr.S(fmt.Sprintf("w%d", val))}, records.Precondition{}); err != nil {
					t.Errorf("patch during rewrap: %v", err)
					return
				}
				latest[i].Store(int64(val))
			}
		})
	}
	if _, err := v.svc.StartRewrap(t.Context(), "c", records.RewrapOptions{}); err != nil {
		t.Fatal(err)
	}
	job := v.waitJob(t, "c")
	cancel()
	wg.Wait()
	if job.State != records.JobDone || job.Failed != 0 {
		t.Fatalf("job = %+v", job)
	}
	st := v.status(t, "c")
	if got := itemsByVersion(st); got[2] != n {
		t.Fatalf("after rewrap: %v, want all %d under version 2", got, n)
	}
	// No write lost: every record holds the last value patched into it.
	for i := range n {
		r := v.getRec(t, "c", records.Key{ID: fmt.Sprint(i)})
		want := attr.S(fmt.Sprintf("name-%d", i))
		if l := latest[i].Load(); l > 0 {
			want = attr.S(fmt.Sprintf("w%d", l))
		}
		if !attr.Equal(r.Doc["name"], want) {
			t.Fatalf("record %d: name %v, want %v", i, r.Doc["name"], want)
		}
	}
	t.Logf("%d patches during the rewrap; job %+v", writes.Load(), job)
}

// stopRewrapAt starts a rewrap of c at 50 records a second and stops the
// service once at records are rewrapped, as a server shutting down (or
// dying) would: the job stays running in the store. At 50 a second,
// seconds of work remain for the test on a loaded machine.
func (v *v1Env) stopRewrapAt(t *testing.T, at int64) {
	t.Helper()
	if _, err := v.svc.StartRewrap(t.Context(), "c", records.RewrapOptions{MaxRate: 50}); err != nil {
		t.Fatal(err)
	}
	for {
		j, _ := v.svc.RewrapStatus(t.Context(), "c")
		if j.Rewrapped >= at {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	v.svc.Close()
}

func TestRewrapResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	const n = 300
	v := newRotated(t, n)
	v.stopRewrapAt(t, 60)
	before := itemsByVersion(v.status(t, "c"))
	if before[2] == 0 || before[2] == n {
		t.Fatalf("stopped at %v: want part of the records rewrapped", before)
	}
	etags := map[string]string{}
	raws := map[string]attr.Item{}
	for i := range n {
		id := fmt.Sprint(i)
		raws[id] = v.raw(t, "c", keysSchema, records.Key{ID: id})
		etags[id] = v.getRec(t, "c", records.Key{ID: id}).ETag
	}
	// Another service takes the job over (exclusive: as the embedded
	// store's next server does) and finishes it.
	other := v.env.open(t)
	t.Cleanup(other.Close)
	if err := other.ResumeJobs(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	v2 := &v1Env{env: v.env, svc: other}
	job := v2.waitJob(t, "c")
	if job.State != records.JobDone || job.Resumed != 1 {
		t.Fatalf("resumed job = %+v", job)
	}
	if got := itemsByVersion(v2.status(t, "c")); got[2] != n {
		t.Fatalf("after resume: %v", got)
	}
	// Records rewrapped before the stop were not written again.
	kept := 0
	for i := range n {
		id := fmt.Sprint(i)
		now := v2.getRec(t, "c", records.Key{ID: id})
		if v, _ := versionIs2(v2, raws[id]); v {
			if now.ETag != etags[id] {
				t.Fatalf("record %s was rewrapped before the stop and written again after", id)
			}
			kept++
		}
	}
	if int64(kept) != before[2] {
		t.Fatalf("%d records kept their version-2 form, want %d", kept, before[2])
	}
}

func TestShred(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "doomed", keysSchema)
	v.create(t, "kept", keysSchema)
	for i := range 12 {
		v.putRec(t, "doomed", records.Key{ID: fmt.Sprint(i)}, doc(i))
		v.putRec(t, "kept", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	v.rotate(t, "doomed")
	v.putRec(t, "doomed", records.Key{ID: "late"}, doc(99))
	if _, err := v.svc.ShredKeys(t.Context(), "doomed", "kept"); !errors.Is(err, records.ErrInvalid) {
		t.Fatalf("shred with the wrong confirmation: %v", err)
	}
	if _, err := v.svc.ShredKeys(t.Context(), "items", "items"); err == nil {
		t.Fatal("the reference collection was shredded")
	}
	r, err := v.svc.ShredKeys(t.Context(), "doomed", "doomed")
	if err != nil || r.Items != 13 || r.Versions != 2 || !r.BeaconKey || r.BranchKeyID == "" {
		t.Fatalf("ShredKeys = %+v, %v", r, err)
	}
	var shredded *records.ShreddedError
	for _, svc := range []*records.Service{v.svc, v.env.open(t)} { // this server and a fresh one
		if _, err := svc.GetRecord(t.Context(), "doomed", records.Key{ID: "3"}); !errors.As(err, &shredded) {
			t.Fatalf("read after shred: %v, want ShreddedError", err)
		}
		if _, err := svc.PutRecord(t.Context(), "doomed", records.Key{ID: "x"}, doc(1), records.Precondition{}); !errors.As(err, &shredded) {
			t.Fatalf("write after shred: %v, want ShreddedError", err)
		}
	}
	// The key store has nothing left to unwrap.
	for _, id := range []string{r.BranchKeyID} {
		if _, err := v.env.keys(t).ActiveKey(t.Context(), id); err == nil {
			t.Fatal("the active branch key is still in the key store")
		}
		if _, err := v.env.keys(t).BeaconKey(t.Context(), id); err == nil {
			t.Fatal("the beacon key is still in the key store")
		}
	}
	st := v.status(t, "doomed")
	if st.Shredded == nil || st.Shredded.Items != 13 {
		t.Fatalf("status after shred = %+v", st)
	}
	for i := range 12 {
		v.getRec(t, "kept", records.Key{ID: fmt.Sprint(i)})
	}
	// Shredding again answers the same receipt.
	again, err := v.svc.ShredKeys(t.Context(), "doomed", "doomed")
	if err != nil || again != r {
		t.Fatalf("second shred = %+v, %v; want %+v", again, err, r)
	}
}

func TestAutomaticRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc, err := records.Open(t.Context(), e.db, e.keys(t), newCache(), records.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v := &v1Env{env: e, svc: svc}
	v.create(t, "c", keysSchema)
	day := 24 * time.Hour
	if _, err := svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{RotationPeriod: &day}); err != nil {
		t.Fatal(err)
	}
	short := time.Minute
	if _, err := svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{RotationPeriod: &short}); !errors.Is(err, records.ErrInvalid) {
		t.Fatalf("a 1-minute period: %v, want ErrInvalid", err)
	}
	if got, err := svc.RotateDue(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("RotateDue before the period = %v, %v", got, err)
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	other, err := records.Open(t.Context(), e.db, e.keys(t), newCache(), records.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// Two servers finding it due at once rotate once.
	var wg sync.WaitGroup
	var attempts atomic.Int64
	for _, s := range []*records.Service{svc, other} {
		wg.Go(func() {
			rs, err := s.RotateDue(t.Context())
			if err != nil {
				t.Errorf("RotateDue: %v", err)
			}
			for _, r := range rs {
				attempts.Add(1)
				if r.Collection != "c" || r.Err != nil || r.Version.Version != 2 {
					t.Errorf("RotateDue: %+v; want c rotated to version 2", r)
				}
			}
		})
	}
	wg.Wait()
	if n := attempts.Load(); n != 1 {
		t.Fatalf("two servers reported %d rotations; want 1", n)
	}
	st := v.status(t, "c")
	if st.ActiveVersion != 2 || st.RotationPeriod != "24h0m0s" || st.NextRotation == nil {
		t.Fatalf("after the period: %+v, want version 2 active", st)
	}
	if got, _ := svc.RotateDue(t.Context()); len(got) != 0 {
		t.Fatalf("rotated again at once: %v", got)
	}
}

func storeCondNone() store.Cond { return store.Cond{} }

func newCache() *hierarchy.Cache { return hierarchy.NewCache(0, 100, nil) }

// versionIs2 reports whether stored item raw was encrypted under the
// collection c's version 2, read from its header.
func versionIs2(v *v1Env, raw attr.Item) (bool, error) {
	st, err := v.svc.KeyStatus(context.Background(), "c")
	if err != nil {
		return false, err
	}
	h, err := item.ParseHeader(raw[item.HeaderAttr].(attr.B))
	if err != nil {
		return false, err
	}
	for _, e := range h.EDKs {
		if ver, err := hierarchy.EDKVersion(h.Suite, e); err == nil {
			return ver == st.Versions[1].ID, nil
		}
	}
	return false, nil
}

func TestAnotherServersRotation(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "c", keysSchema)
	for i := range 50 {
		v.putRec(t, "c", records.Key{ID: fmt.Sprint(i)}, doc(i))
	}
	// Server B rotates twice and retires version 1 while server A holds
	// the collection's catalog entry from before (its refresh is 30 s).
	b := &v1Env{env: v.env, svc: v.env.open(t)}
	b.rotate(t, "c")
	b.putRec(t, "c", records.Key{ID: "from-b"}, doc(7))
	// A reads B's record, under a version A's copy does not list yet.
	if got := v.getRec(t, "c", records.Key{ID: "from-b"}); !attr.Equal(got.Doc["name"], attr.S("name-7")) {
		t.Fatalf("A read %v", got.Doc)
	}
	b.rotate(t, "c")
	// A runs the rewrap: it must move every record to B's newest version,
	// not to the version A had cached as active.
	if _, err := v.svc.StartRewrap(t.Context(), "c", records.RewrapOptions{}); err != nil {
		t.Fatal(err)
	}
	if job := v.waitJob(t, "c"); job.State != records.JobDone || job.Failed != 0 {
		t.Fatalf("job = %+v", job)
	}
	st := b.status(t, "c")
	if st.ActiveVersion != 3 || itemsByVersion(st)[3] != 51 {
		t.Fatalf("after A's rewrap: active %d, %v; want all 51 under 3", st.ActiveVersion, itemsByVersion(st))
	}
}

// failingRotate is a key store whose Rotate fails (as KMS down would).
type failingRotate struct{ *keystore.Store }

func (failingRotate) Rotate(context.Context, string, string, string) (time.Time, error) {
	return time.Time{}, errors.New("kms: unavailable")
}

func TestRotationFailuresKeepNumbersAndRecover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ks := e.keys(t)
	svc, err := records.Open(t.Context(), e.db, ks, newCache())
	if err != nil {
		t.Fatal(err)
	}
	v := &v1Env{env: e, svc: svc}
	v.create(t, "c", keysSchema)
	v.putRec(t, "c", records.Key{ID: "a"}, doc(1))
	// A rotation whose key store write fails takes its version off the
	// end of the list (it is kept for a shred among the abandoned ids):
	// no number shifts.
	broken, err := records.Open(t.Context(), e.db, failingRotate{ks}, newCache())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := broken.RotateKey(t.Context(), "c"); err == nil {
		t.Fatal("rotation with a failing key store succeeded")
	}
	st := v.status(t, "c")
	if len(st.Versions) != 1 || st.ActiveVersion != 1 {
		t.Fatalf("after a failed rotation: %+v", st)
	}
	// A version made active in the key store without the catalog hearing
	// of it (a crash between the two) is found and recorded.
	stray := keystore.NewID()
	if _, err := ks.Rotate(t.Context(), st.BranchKeyID, stray, st.Versions[0].ID); err != nil {
		t.Fatal(err)
	}
	st = v.status(t, "c")
	if st.ActiveVersion != 2 || st.Versions[1].ID != stray || st.Versions[1].Activated == nil {
		t.Fatalf("after a rotation the catalog missed: %+v", st)
	}
	// Rotation goes on from the key store's active version.
	kv := v.rotate(t, "c")
	if kv.Version != 3 {
		t.Fatalf("next rotation = version %d, want 3", kv.Version)
	}
	v.putRec(t, "c", records.Key{ID: "b"}, doc(2))
	if _, err := v.svc.StartRewrap(t.Context(), "c", records.RewrapOptions{}); err != nil {
		t.Fatal(err)
	}
	v.waitJob(t, "c")
	three := 3
	if _, err := v.svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{MinDecryptableVersion: &three}); err != nil {
		t.Fatalf("retire below 3: %v", err)
	}
	v.getRec(t, "c", records.Key{ID: "a"})
	v.getRec(t, "c", records.Key{ID: "b"})
	// A shred destroys the stray version too.
	if _, err := v.svc.ShredKeys(t.Context(), "c", "c"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{st.Versions[0].ID, stray, kv.ID} {
		if _, err := ks.KeyVersion(t.Context(), st.BranchKeyID, id); err == nil {
			t.Fatalf("version %s survived the shred", id)
		}
	}
}

func TestRewrapRateBounds(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "c", keysSchema)
	for _, rate := range []int{-1, records.MaxRewrapRate + 1, 2_000_000_000} {
		if _, err := v.svc.StartRewrap(t.Context(), "c", records.RewrapOptions{MaxRate: rate}); !errors.Is(err, records.ErrInvalid) {
			t.Errorf("maxRate %d: %v, want ErrInvalid", rate, err)
		}
	}
	if j, err := v.svc.RewrapStatus(t.Context(), "c"); err != nil || j.State != records.JobNone {
		t.Fatalf("after refused starts: %+v, %v; want no job", j, err)
	}
}

// countingFailingRotate counts Rotate calls, all failing.
type countingFailingRotate struct {
	*keystore.Store
	calls *atomic.Int32
}

func (c countingFailingRotate) Rotate(context.Context, string, string, string) (time.Time, error) {
	c.calls.Add(1)
	return time.Time{}, errors.New("kms: unavailable")
}

func TestAutomaticRotationBacksOffWhileFailing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	var calls atomic.Int32
	svc, err := records.Open(t.Context(), e.db, countingFailingRotate{e.keys(t), &calls}, newCache(), records.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v := &v1Env{env: e, svc: svc}
	v.create(t, "c", keysSchema)
	hour := time.Hour
	if _, err := svc.SetKeyPolicy(t.Context(), "c", records.KeyPolicy{RotationPeriod: &hour}); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Hour)
	// Checked every minute for an hour while the root key is unreachable:
	// one attempt per 10 minutes, and the version list does not grow.
	attempts := 0
	for range 60 {
		rs, err := svc.RotateDue(t.Context())
		if err != nil {
			t.Fatalf("RotateDue: %v (the catalog is fine)", err)
		}
		for _, r := range rs {
			if r.Collection != "c" || r.Err == nil {
				t.Fatalf("RotateDue: %+v; want c's rotation reported failed", r)
			}
		}
		attempts += len(rs)
		advance(time.Minute)
	}
	if n := calls.Load(); n < 5 || n > 7 || int(n) != attempts {
		t.Fatalf("%d rotation attempts (%d reported) in an hour of failures, want about 6 (one per 10 minutes), each reported", n, attempts)
	}
	if st := v.status(t, "c"); len(st.Versions) != 1 {
		t.Fatalf("%d versions listed after failed rotations, want 1", len(st.Versions))
	}
}

func TestAnotherServerTakesOverAStaleRewrap(t *testing.T) {
	t.Parallel()
	const n = 300
	v := newRotated(t, n)
	v.stopRewrapAt(t, 40)
	// A server whose clock says the lease ran out takes it over on its
	// sweep; one for which the lease still runs leaves it alone.
	fresh, err := records.Open(t.Context(), v.env.db, v.env.keys(t), newCache())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fresh.Close)
	if err := fresh.ResumeJobs(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if j, _ := fresh.RewrapStatus(t.Context(), "c"); j.Resumed != 0 {
		t.Fatalf("a job whose lease runs was taken over: %+v", j)
	}
	later := func() time.Time { return time.Now().Add(records.JobLease + time.Second) }
	other, err := records.Open(t.Context(), v.env.db, v.env.keys(t), newCache(), records.Options{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	if err := other.ResumeJobs(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	o := &v1Env{env: v.env, svc: other}
	job := o.waitJob(t, "c")
	if job.State != records.JobDone || job.Resumed != 1 || job.Rewrapped+job.Skipped != n || job.Failed != 0 {
		t.Fatalf("job taken over = %+v; want done, resumed once, %d rewrapped or skipped", job, n)
	}
	if got := itemsByVersion(o.status(t, "c")); got[2] != n {
		t.Fatalf("after the takeover: %v", got)
	}
}
