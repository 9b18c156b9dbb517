package server_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
)

// recordHMAC is the name the trail gives record id of coll, read from the
// trail through the API.
func recordHMAC(t *testing.T, s *srv, adm, coll, id string) string {
	t.Helper()
	es, _ := s.auditAll(adm, url.Values{"collection": {coll}, "record": {id}}, 1000)
	if len(es) == 0 || es[0].Record == "" {
		t.Fatalf("no audit entry names record %s of %s", id, coll)
	}
	return es[0].Record
}

// Someone with write access to the database rolls a record back, writes
// one outside sealstore and deletes another: 'audit verify --records'
// names each, by collection and the trail's HMAC of the id; an intact
// deployment verifies clean. On both stores.
func TestVerifyRecordsFindsRollbackAndOutOfBandWrites(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("acct", `{"partitionKey":"id","attributes":{"balance":"encrypt"}}`)
	for _, id := range []string{"roll", "moved", "gone", "kept"} {
		s.mustPut(adm, recPath("acct", id), `{"balance":"100"}`)
	}
	if r := s.do(http.MethodPost, "/items/", adm, []byte(`{"id":"ref","secret":"s1"}`), map[string]string{"Content-Type": "application/json"}); r.status != http.StatusOK {
		t.Fatalf("POST /items/: %d %s", r.status, r.body)
	}
	tbl := store.Table{Name: "col_acct", PartitionKey: "id"}
	var old attr.Item
	s.stopIdle(t)
	withRaw(t, s.dataDir, func(ctx context.Context, b rawBackend) {
		var err error
		if old, err = b.db.Get(ctx, tbl, attr.Item{"id": attr.S("roll")}); err != nil {
			t.Fatal(err)
		}
	})
	s2 := startServer(t, opts{dataDir: s.dataDir, noHTTP: true})
	s2.tokens = s.tokens
	s2.mustPut(adm, recPath("acct", "roll"), `{"balance":"0"}`) // the current version
	names := map[string]string{}
	for _, id := range []string{"roll", "moved", "gone", "kept"} {
		names[id] = recordHMAC(t, s2, adm, "acct", id)
	}
	s2.stopIdle(t)

	clean, err := server.VerifyAudit(context.Background(), verifyConfig(t, s.dataDir), server.VerifyOptions{Records: true})
	if err != nil || clean.Records == nil || len(clean.Records.Problems) != 0 || clean.Records.Records != 5 || len(clean.Problems) != 0 {
		t.Fatalf("an intact deployment: %+v, %+v, %v; want 5 records, no problem", clean.Report, clean.Records, err)
	}

	withRaw(t, s.dataDir, func(ctx context.Context, b rawBackend) {
		if err := b.db.Put(ctx, tbl, old, store.Cond{}); err != nil { // rollback to the first version
			t.Fatal(err)
		}
		kept, err := b.db.Get(ctx, tbl, attr.Item{"id": attr.S("kept")})
		if err != nil {
			t.Fatal(err)
		}
		// "moved" gets a version sealstore never wrote: kept's item, its id changed.
		kept["id"] = attr.S("moved")
		if err := b.db.Put(ctx, tbl, kept, store.Cond{}); err != nil {
			t.Fatal(err)
		}
		if err := b.db.Delete(ctx, tbl, attr.Item{"id": attr.S("gone")}, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	})
	v, err := server.VerifyAudit(context.Background(), verifyConfig(t, s.dataDir), server.VerifyOptions{Records: true})
	if err != nil || v.Records == nil {
		t.Fatalf("VerifyAudit --records: %v", err)
	}
	want := map[string]string{names["roll"]: "rolled back", names["moved"]: "written outside sealstore", names["gone"]: "deleted outside sealstore"}
	if len(v.Records.Problems) != len(want) {
		t.Errorf("record problems %+v; want exactly %d", v.Records.Problems, len(want))
	}
	for _, p := range v.Records.Problems {
		if p.Collection != "acct" || !strings.Contains(p.Reason, want[p.Record]) || want[p.Record] == "" {
			t.Errorf("record problem %+v; want one of %v", p, want)
		}
	}
}

// Checkpoints written to the file sink show a chain deleted and a chain
// whose newest entries were cut, naming the chain; with the checkpoints
// of an intact trail, verify is clean.
func TestVerifyCheckpointsFindDeletedAndTruncatedChains(t *testing.T) {
	t.Parallel()
	sinkFile := filepath.Join(t.TempDir(), "audit.jsonl")
	dataDir := t.TempDir()
	var chains []string
	var tokens map[string]string
	for run := range 2 {
		s := startServer(t, opts{dataDir: dataDir, seed: run == 0, noHTTP: true, audit: server.AuditConfig{File: sinkFile}})
		if run == 0 {
			tokens = s.tokens
			s.mustCollection("cp", custSchema)
		}
		s.tokens = tokens
		for range 3 {
			s.mustPut(tokens[tokAdmin], recPath("cp", "r"), `{"email":"a@x"}`)
		}
		es, _ := s.auditAll(tokens[tokAdmin], nil, 1000)
		chains = append(chains, es[len(es)-1].Chain)
		s.stopIdle(t)
	}
	cps := readSinkCheckpoints(t, sinkFile)
	if len(cps) < 2 {
		t.Fatalf("%d checkpoints in the sink file; want one per chain at least", len(cps))
	}
	v, err := server.VerifyAudit(context.Background(), verifyConfig(t, dataDir), server.VerifyOptions{Checkpoints: cps})
	if err != nil || len(v.Checkpoints) != 0 || len(v.Problems) != 0 {
		t.Fatalf("an intact trail with its checkpoints: %+v, %v", v.Report, err)
	}
	withRaw(t, dataDir, func(ctx context.Context, b rawBackend) {
		deleteChain(ctx, t, b, chains[0], true)  // the first run's chain, row and all
		deleteChain(ctx, t, b, chains[1], false) // the second run's entries, its row kept
	})
	v, err = server.VerifyAudit(context.Background(), verifyConfig(t, dataDir), server.VerifyOptions{Checkpoints: cps})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range v.Checkpoints {
		got[p.Chain] = p.Reason
	}
	if !strings.Contains(got[chains[0]], "chain deleted") || !strings.Contains(got[chains[1]], "chain truncated") || len(got) != 2 {
		t.Errorf("checkpoint problems %+v; want chain %s deleted and chain %s truncated", v.Checkpoints, chains[0], chains[1])
	}
}

// readSinkCheckpoints reads the checkpoints of a sink file.
func readSinkCheckpoints(t *testing.T, path string) []audit.Checkpoint {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	cps, err := audit.ParseCheckpoints(lines)
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

// deleteChain removes a chain's batches (and, with row, its row) from the
// trail, as someone able to write the trail's storage could: on the
// journal, by rewriting it without them.
func deleteChain(ctx context.Context, t *testing.T, b rawBackend, chain string, row bool) {
	t.Helper()
	if err := b.deleteChain(ctx, chain, row); err != nil {
		t.Fatal(err)
	}
}
