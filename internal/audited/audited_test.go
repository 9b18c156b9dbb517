package audited_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/tokens"
)

// trail records entries, or fails every append while down.
type trail struct {
	mu      sync.Mutex
	entries []audit.Entry
	down    bool
	ctxErrs []error // the context error each append saw
}

func (f *trail) Append(ctx context.Context, e audit.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	if f.down {
		return errors.New("trail store unreachable")
	}
	f.entries = append(f.entries, e)
	return nil
}

func (f *trail) RecordID(_ context.Context, coll, id string) (string, error) {
	return "hmac(" + coll + "/" + id + ")", nil
}

func (f *trail) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *trail) all() []audit.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]audit.Entry(nil), f.entries...)
}

// uses is a fake of every use case: each call returns err.
type uses struct {
	err     error
	revoked []string
}

func (u *uses) PutSecret(context.Context, string, string) (string, error)     { return `"e"`, u.err }
func (u *uses) GetSecret(context.Context, string) (string, error)             { return "s", u.err }
func (u *uses) Ready(context.Context) error                                   { return u.err }
func (u *uses) Collections(context.Context) ([]records.CollectionInfo, error) { return nil, u.err }
func (u *uses) PutCollection(context.Context, string, records.Schema) (records.CollectionInfo, bool, error) {
	return records.CollectionInfo{}, true, u.err
}
func (u *uses) Collection(context.Context, string) (records.CollectionInfo, error) {
	return records.CollectionInfo{}, u.err
}
func (u *uses) Beacons(context.Context, string) ([]records.BeaconAdvice, error) { return nil, u.err }
func (u *uses) ReaderConfig(context.Context, string) (readerconfig.Config, error) {
	return readerconfig.Config{}, u.err
}
func (u *uses) PutRecord(context.Context, string, records.Key, attr.Item, records.Precondition) (string, error) {
	return `"e"`, u.err
}
func (u *uses) GetRecord(context.Context, string, records.Key) (records.Record, error) {
	return records.Record{ETag: `"e"`}, u.err
}
func (u *uses) DeleteRecord(context.Context, string, records.Key, records.Precondition) error {
	return u.err
}
func (u *uses) PatchRecord(context.Context, string, records.Key, attr.Item, records.Precondition) (records.Record, error) {
	return records.Record{}, u.err
}
func (u *uses) ListRecords(context.Context, string, records.Query) (records.Page, error) {
	return records.Page{}, u.err
}
func (u *uses) BatchGet(_ context.Context, _ string, keys []records.Key) ([]records.Result, error) {
	out := make([]records.Result, len(keys))
	for i, k := range keys {
		out[i] = records.Result{Key: k, ETag: `"e"`}
		if k.ID == "missing" {
			out[i] = records.Result{Key: k, Err: records.ErrNotFound}
		}
	}
	return out, u.err
}
func (u *uses) BatchPut(ctx context.Context, c string, reqs []records.PutRequest) ([]records.Result, error) {
	keys := make([]records.Key, len(reqs))
	for i, r := range reqs {
		keys[i] = r.Key
	}
	return u.BatchGet(ctx, c, keys)
}
func (u *uses) KeyStatus(context.Context, string) (records.KeyStatus, error) {
	return records.KeyStatus{}, u.err
}
func (u *uses) RotateKey(context.Context, string) (records.KeyVersion, error) {
	return records.KeyVersion{Version: 3, ID: "v3"}, u.err
}
func (u *uses) SetKeyPolicy(context.Context, string, records.KeyPolicy) (records.KeyStatus, error) {
	return records.KeyStatus{}, u.err
}
func (u *uses) StartRewrap(context.Context, string, records.RewrapOptions) (records.RewrapJob, error) {
	return records.RewrapJob{ID: "j1"}, u.err
}
func (u *uses) RewrapStatus(context.Context, string) (records.RewrapJob, error) {
	return records.RewrapJob{}, u.err
}
func (u *uses) ShredKeys(context.Context, string, string) (records.ShredReceipt, error) {
	return records.ShredReceipt{BranchKeyID: "bk", Versions: 2, Items: 7}, u.err
}
func (u *uses) RotateDue(context.Context) ([]records.DueRotation, error) {
	return []records.DueRotation{{Collection: "a", Version: records.KeyVersion{Version: 2, ID: "v2"}}, {Collection: "b", Err: u.err}}, nil
}
func (u *uses) Create(_ context.Context, name string, scopes []tokens.Scope) (tokens.Token, string, error) {
	return tokens.Token{Name: name, Scopes: scopes}, "sst_secret", u.err
}
func (u *uses) List(context.Context) ([]tokens.Token, error) { return nil, u.err }
func (u *uses) Revoke(_ context.Context, name string) error {
	u.revoked = append(u.revoked, name)
	return u.err
}

func newService(u *uses, tr *trail) *audited.Service {
	cfg := audited.Config{Records: u, Keys: u, Rotations: u, Tokens: u}
	if tr != nil {
		cfg.Trail = tr
	}
	return audited.New(cfg)
}

// call is one audited operation and the entry it must leave.
type call struct {
	name string
	do   func(ctx context.Context, s *audited.Service) error
	want audit.Entry // Token, Outcome and Record left to the test
	key  string      // the record's name in the trail, if any
}

var seven = 7

var calls = []call{
	{"PutSecret", func(ctx context.Context, s *audited.Service) error {
		_, err := s.PutSecret(ctx, "id1", "x")
		return err
	},
		audit.Entry{Action: "record.put", Collection: "items", ETag: `"e"`}, "items/id1"},
	{"GetSecret", func(ctx context.Context, s *audited.Service) error { _, err := s.GetSecret(ctx, "id1"); return err },
		audit.Entry{Action: "record.get", Collection: "items"}, "items/id1"},
	{"PutCollection", func(ctx context.Context, s *audited.Service) error {
		_, _, err := s.PutCollection(ctx, "c", records.Schema{})
		return err
	}, audit.Entry{Action: "collection.put", Collection: "c"}, ""},
	{"Collection", func(ctx context.Context, s *audited.Service) error { _, err := s.Collection(ctx, "c"); return err },
		audit.Entry{Action: "collection.get", Collection: "c"}, ""},
	{"Beacons", func(ctx context.Context, s *audited.Service) error { _, err := s.Beacons(ctx, "c"); return err },
		audit.Entry{Action: "collection.beacons", Collection: "c"}, ""},
	{"ReaderConfig", func(ctx context.Context, s *audited.Service) error { _, err := s.ReaderConfig(ctx, "c"); return err },
		audit.Entry{Action: "collection.readerConfig", Collection: "c"}, ""},
	{"PutRecord", func(ctx context.Context, s *audited.Service) error {
		_, err := s.PutRecord(ctx, "c", records.Key{ID: "r", Sort: "s"}, attr.Item{}, records.Precondition{})
		return err
	}, audit.Entry{Action: "record.put", Collection: "c", ETag: `"e"`}, "c/1:rs"},
	{"GetRecord", func(ctx context.Context, s *audited.Service) error {
		_, err := s.GetRecord(ctx, "c", records.Key{ID: "r"})
		return err
	}, audit.Entry{Action: "record.get", Collection: "c"}, "c/r"},
	{"DeleteRecord", func(ctx context.Context, s *audited.Service) error {
		return s.DeleteRecord(ctx, "c", records.Key{ID: "r"}, records.Precondition{})
	}, audit.Entry{Action: "record.delete", Collection: "c"}, "c/r"},
	{"PatchRecord", func(ctx context.Context, s *audited.Service) error {
		_, err := s.PatchRecord(ctx, "c", records.Key{ID: "r"}, attr.Item{}, records.Precondition{})
		return err
	}, audit.Entry{Action: "record.patch", Collection: "c"}, "c/r"},
	{"ListRecords", func(ctx context.Context, s *audited.Service) error {
		_, err := s.ListRecords(ctx, "c", records.Query{})
		return err
	}, audit.Entry{Action: "record.list", Collection: "c"}, ""},
	{"ListRecords (search)", func(ctx context.Context, s *audited.Service) error {
		_, err := s.ListRecords(ctx, "c", records.Query{Filters: map[string]string{"email": "x"}})
		return err
	}, audit.Entry{Action: "record.search", Collection: "c"}, ""},
	{"KeyStatus", func(ctx context.Context, s *audited.Service) error { _, err := s.KeyStatus(ctx, "c"); return err },
		audit.Entry{Action: "keys.status", Collection: "c"}, ""},
	{"RotateKey", func(ctx context.Context, s *audited.Service) error { _, err := s.RotateKey(ctx, "c"); return err },
		audit.Entry{Action: "keys.rotate", Collection: "c", Detail: "version=3 id=v3"}, ""},
	{"SetKeyPolicy (retire)", func(ctx context.Context, s *audited.Service) error {
		_, err := s.SetKeyPolicy(ctx, "c", records.KeyPolicy{MinDecryptableVersion: &seven, Force: true})
		return err
	}, audit.Entry{Action: "keys.retire", Collection: "c", Detail: "minDecryptableVersion=7 force=true"}, ""},
	{"SetKeyPolicy (schedule)", func(ctx context.Context, s *audited.Service) error {
		d := 720 * time.Hour
		_, err := s.SetKeyPolicy(ctx, "c", records.KeyPolicy{RotationPeriod: &d})
		return err
	}, audit.Entry{Action: "keys.schedule", Collection: "c", Detail: "rotationPeriod=720h0m0s"}, ""},
	{"StartRewrap", func(ctx context.Context, s *audited.Service) error {
		_, err := s.StartRewrap(ctx, "c", records.RewrapOptions{})
		return err
	}, audit.Entry{Action: "keys.rewrap", Collection: "c", Detail: "job=j1"}, ""},
	{"RewrapStatus", func(ctx context.Context, s *audited.Service) error { _, err := s.RewrapStatus(ctx, "c"); return err },
		audit.Entry{Action: "keys.rewrap.status", Collection: "c"}, ""},
	{"ShredKeys", func(ctx context.Context, s *audited.Service) error { _, err := s.ShredKeys(ctx, "c", "c"); return err },
		audit.Entry{Action: "keys.shred", Collection: "c", Detail: "destroyed branch key bk: 2 versions and its beacon key; 7 records made unreadable"}, ""},
	{"CreateToken", func(ctx context.Context, s *audited.Service) error {
		_, _, err := s.CreateToken(ctx, "app", []tokens.Scope{{Collection: "c", Action: tokens.Read}})
		return err
	}, audit.Entry{Action: "token.create", Detail: "name=app scopes=c:read"}, ""},
	{"RevokeToken", func(ctx context.Context, s *audited.Service) error { return s.RevokeToken(ctx, "app") },
		audit.Entry{Action: "token.revoke", Detail: "name=app"}, ""},
}

// Every operation leaves one entry: its action, the actor from the
// context, its collection, its record's HMAC and its outcome.
func TestEveryOperationAudited(t *testing.T) {
	t.Parallel()
	for _, c := range calls {
		for _, fail := range []error{nil, records.ErrNotFound, fmt.Errorf("x: %w", &records.ConflictError{Reason: "no"})} {
			tr := &trail{}
			u := &uses{err: fail}
			err := c.do(audited.WithActor(context.Background(), "alice"), newService(u, tr))
			if !errors.Is(err, fail) || (fail == nil) != (err == nil) {
				t.Errorf("%s failing with %v: returned %v", c.name, fail, err)
			}
			es := tr.all()
			if len(es) != 1 {
				t.Fatalf("%s: %d entries; want 1", c.name, len(es))
			}
			want := c.want
			want.Token, want.Outcome = "alice", fault.Outcome(fail)
			if c.key != "" {
				want.Record = "hmac(" + c.key + ")"
			}
			if fail != nil && (c.name == "ShredKeys" || c.name == "RotateKey") {
				want.Detail = "" // only what was done is detailed
			}
			if fail != nil {
				want.ETag = "" // only a write done has a new version
			}
			if es[0] != want {
				t.Errorf("%s failing with %v: entry %+v; want %+v", c.name, fail, es[0], want)
			}
		}
	}
}

// An entry that cannot be written fails the operation, done or not; the
// secret read is not handed out.
func TestUnwritableEntryFails(t *testing.T) {
	t.Parallel()
	for _, c := range calls {
		for _, fail := range []error{nil, records.ErrNotFound} {
			tr := &trail{down: true}
			err := c.do(context.Background(), newService(&uses{err: fail}, tr))
			if !errors.Is(err, audited.ErrUnrecorded) {
				t.Errorf("%s (use case error %v) with the trail down: %v; want ErrUnrecorded", c.name, fail, err)
			}
		}
	}
	s := newService(&uses{}, &trail{down: true})
	if secret, err := s.GetSecret(context.Background(), "id"); secret != "" || err == nil {
		t.Errorf("GetSecret with the trail down: %q, %v", secret, err)
	}
}

// Refusals: Refuse records and returns the refusal; a Denied refusal
// stays a refusal even when its entry cannot be written.
func TestRefuse(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	s := newService(&uses{}, tr)
	bad := fault.New(fault.BadRequest, "If-None-Match supports only *")
	ctx := audited.WithActor(context.Background(), "bob")
	if err := s.Refuse(ctx, audit.RecordPut, "c", &records.Key{ID: "r"}, "", bad); err != bad {
		t.Errorf("Refuse returned %v", err)
	}
	if es := tr.all(); len(es) != 1 || es[0].Outcome != "invalid" || es[0].Record != "hmac(c/r)" || es[0].Token != "bob" {
		t.Errorf("entries %+v", es)
	}
	tr.setDown(true)
	if err := s.Refuse(ctx, audit.RecordPut, "c", nil, "", bad); !errors.Is(err, audited.ErrUnrecorded) {
		t.Errorf("Refuse with the trail down: %v", err)
	}
	denied := fault.Sentinel(fault.Denied, "no", "")
	if err := s.Refuse(ctx, audit.TokenCreate, "", nil, "", denied); err != denied {
		t.Errorf("a denied refusal with the trail down: %v; want the refusal", err)
	}
	tr.setDown(false)
	s.Denied(ctx, audit.RecordGet, "c")
	s.Denied(ctx, "", "c") // routes without an action leave nothing
	if es := tr.all(); len(es) != 2 || es[1].Outcome != "denied" || es[1].Action != "record.get" {
		t.Errorf("entries after Denied: %+v", es)
	}
}

// Entries are written even when the caller has gone.
func TestEntryOutlivesCaller(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newService(&uses{}, tr).PutSecret(ctx, "id", "x"); err != nil {
		t.Fatal(err)
	}
	if len(tr.ctxErrs) != 1 || tr.ctxErrs[0] != nil {
		t.Errorf("the append saw context errors %v; want none", tr.ctxErrs)
	}
}

// A batch has an entry per record; one whose entry cannot be written
// fails the batch if it succeeded.
func TestBatchEntries(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	s := newService(&uses{}, tr)
	keys := []records.Key{{ID: "a"}, {ID: "missing"}}
	res, err := s.BatchGet(context.Background(), "c", keys)
	if err != nil || len(res) != 2 || res[1].Err == nil {
		t.Fatalf("BatchGet: %+v, %v", res, err)
	}
	es := tr.all()
	if len(es) != 2 || es[0].Outcome != "ok" || es[1].Outcome != "not_found" || es[0].Action != "record.get" {
		t.Errorf("entries %+v", es)
	}
	tr.setDown(true)
	if _, err := s.BatchPut(context.Background(), "c", []records.PutRequest{{Key: records.Key{ID: "a"}}}); !errors.Is(err, audited.ErrUnrecorded) {
		t.Errorf("BatchPut of a record whose entry cannot be written: %v", err)
	}
	res, err = s.BatchGet(context.Background(), "c", []records.Key{{ID: "missing"}})
	if err != nil || !errors.Is(res[0].Err, audited.ErrUnrecorded) {
		t.Errorf("a failed entry whose entry cannot be written: %+v, %v", res, err)
	}
	tr.setDown(false)
	if _, err := newService(&uses{err: records.ErrNotFound}, tr).BatchGet(context.Background(), "c", keys); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a batch failing whole: %v", err)
	}
	if es := tr.all(); es[len(es)-1].Action != "record.batchGet" || es[len(es)-1].Outcome != "not_found" {
		t.Errorf("last entry %+v; want a record.batchGet not_found", es[len(es)-1])
	}
}

// A token whose creation cannot be recorded is revoked again.
func TestTokenWithdrawn(t *testing.T) {
	t.Parallel()
	u := &uses{}
	_, secret, err := newService(u, &trail{down: true}).CreateToken(context.Background(), "ghost", []tokens.Scope{{Collection: "c", Action: tokens.Read}})
	if secret != "" || !errors.Is(err, audited.ErrUnrecorded) || len(u.revoked) != 1 || u.revoked[0] != "ghost" {
		t.Errorf("secret %q, err %v, revoked %q", secret, err, u.revoked)
	}
}

// Automatic rotations are the service's own: each attempt is an entry by
// ServiceActor, whoever's context runs the loop.
func TestRotateDueAudited(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	rs, err := newService(&uses{err: errors.New("kms down")}, tr).RotateDue(audited.WithActor(context.Background(), "alice"))
	if err != nil || len(rs) != 2 {
		t.Fatalf("RotateDue: %+v, %v", rs, err)
	}
	es := tr.all()
	if len(es) != 2 || es[0].Token != audited.ServiceActor || es[0].Outcome != "ok" ||
		es[0].Detail != "automatic: the rotation period was reached; version=2 id=v2" ||
		es[1].Outcome != "error" || strings.Contains(es[1].Detail, "version=") {
		t.Errorf("entries %+v", es)
	}
}

// Without a trail, operations pass through unaudited.
func TestNoTrail(t *testing.T) {
	t.Parallel()
	if _, err := newService(&uses{err: records.ErrNotFound}, nil).PutSecret(context.Background(), "id", "x"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("PutSecret without a trail: %v", err)
	}
}

// An HTTP request's id and client address are in its entries; a rewrite
// by the service is the service's, with the record's new version.
func TestRequestAndRewriteFields(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	s := newService(&uses{}, tr)
	ctx := audited.WithRequest(audited.WithActor(context.Background(), "alice"), "req-1", "192.0.2.7")
	if _, err := s.GetRecord(ctx, "c", records.Key{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordRewritten(ctx, "c", records.Key{ID: "r"}, `"new"`); err != nil {
		t.Fatal(err)
	}
	es := tr.all()
	if len(es) != 2 || es[0].RequestID != "req-1" || es[0].Client != "192.0.2.7" || es[0].Token != "alice" {
		t.Errorf("entry of a request: %+v", es)
	}
	if es[1].Action != "record.rewrap" || es[1].Token != audited.ServiceActor || es[1].ETag != `"new"` || es[1].Record != "hmac(c/r)" {
		t.Errorf("entry of a rewrite: %+v", es[1])
	}
}
