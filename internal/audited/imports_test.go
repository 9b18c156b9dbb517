package audited_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/audited"
	"github.com/sealstore/sealstore/internal/records"
)

// importUses is a fake of the import use cases: each call returns err.
type importUses struct{ err error }

func (u importUses) StartImport(_ context.Context, coll string, r records.ImportRequest) (records.ImportJob, error) {
	if u.err != nil {
		return records.ImportJob{}, u.err
	}
	return records.ImportJob{Collection: coll, ID: "j1", State: records.JobRunning}, nil
}

func (u importUses) ImportStatus(context.Context, string) (records.ImportJob, error) {
	return records.ImportJob{}, u.err
}

func (u importUses) ImportProblems(context.Context, string, string, int) (records.ImportProblems, error) {
	return records.ImportProblems{Job: "j1"}, u.err
}

// TestImportEntries: an import's start (done or refused) is an entry
// naming the job and every option; each record imported is an entry by
// the service with its ETag; an automatic resumption is one by the
// service; reading the progress is none; an entry that cannot be written
// fails the start.
func TestImportEntries(t *testing.T) {
	t.Parallel()
	tr := &trail{}
	ctx := audited.WithActor(context.Background(), "alice")
	req := records.ImportRequest{Source: records.ImportSource{Table: "customers_v1", Region: "eu-west-1", DynamoDBEndpoint: "https://d"},
		Map: map[string]string{"id": "customer_id", "email": "e,mail"}, MaxRate: 7, DeleteSource: true}
	s := audited.New(audited.Config{Imports: importUses{}, Trail: tr})
	if _, err := s.StartImport(ctx, "c", req); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportStatus(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordImported(ctx, "c", records.Key{ID: "r"}, `"e1"`); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportResumed(ctx, "c", records.ImportJob{ID: "j1", State: records.JobRunning, Resumed: 1, Source: req.Source}); err != nil {
		t.Fatal(err)
	}
	refused := audited.New(audited.Config{Imports: importUses{err: &records.InvalidError{Field: "body.map", Reason: "bad"}}, Trail: tr})
	if _, err := refused.StartImport(ctx, "c", req); err == nil {
		t.Fatal("the refused start succeeded")
	}
	es := tr.all()
	want := []struct{ token, record, etag, outcome, detail string }{
		{"alice", "", "", "ok", `start: job=j1 state=running resumed=0 table=customers_v1 region=eu-west-1 dynamodbEndpoint=https://d layout=plaintext map="email"="e,mail","id"="customer_id" maxRate=7 deleteSource=true`},
		{audited.ServiceActor, "hmac(c/r)", `"e1"`, "ok", ""},
		{audited.ServiceActor, "", "", "ok", "resumed automatically: job=j1 state=running resumed=1 table=customers_v1 region=eu-west-1 dynamodbEndpoint=https://d layout=reference maxRate=0 deleteSource=false"},
		{"alice", "", "", "invalid", "start: job= state= resumed=0 table=customers_v1"},
	}
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(es), len(want), es)
	}
	for i, w := range want {
		e := es[i]
		if e.Action != "record.import" || e.Collection != "c" || e.Token != w.token || e.Record != w.record || e.ETag != w.etag ||
			e.Outcome != w.outcome || !strings.HasPrefix(e.Detail, w.detail) {
			t.Errorf("entry %d: %+v\nwant %+v", i, e, w)
		}
	}
	tr.setDown(true)
	if _, err := s.StartImport(ctx, "c", req); !errors.Is(err, audited.ErrUnrecorded) {
		t.Errorf("a start whose entry cannot be written: %v, want ErrUnrecorded", err)
	}
}
