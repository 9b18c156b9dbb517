package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/store"
)

// auditBatches is the audit package's batch table, as stored.
var auditBatches = store.Table{Name: "sealstore_audit", PartitionKey: "chain", SortKey: "seq", SortType: store.KeyN}

// writeAudit appends n entries to the audit trail of data directory dir,
// as a server would.
func writeAudit(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	d, err := datadir.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ks := keystore.New(server.KeyStoreName, server.KeyStoreTable, d.Store, d.Root)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, d.Store, ks, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		rid, err := l.RecordID(ctx, "c", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		e := audit.Entry{Token: "app", Action: "record.get", Collection: "c", Record: rid, Outcome: "ok"}
		if err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func runAuditVerify(t *testing.T, dir string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAuditVerifyCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	writeAudit(t, dir, 5)
	code, out, errOut := runAuditVerify(t, dir)
	if code != exitOK || !regexp.MustCompile(`(?m)^audit trail verifies: 1 chain, 5 entries$`).MatchString(out) {
		t.Fatalf("verify of an intact trail: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Edit the outcome of the third entry, in the store.
	db, err := datadir.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.Scan(context.Background(), auditBatches, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var batch attr.Item
	for _, it := range page.Items {
		for _, e := range it["entries"].(attr.L) {
			if m := e.(attr.M); m["seq"] == attr.N("2") {
				m["outcome"] = attr.S("denied")
				batch = it
			}
		}
	}
	if batch == nil {
		t.Fatalf("no stored entry with seq 2 among %d batches", len(page.Items))
	}
	chain := string(batch["chain"].(attr.S))
	if err := db.Put(context.Background(), auditBatches, batch, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, _ = runAuditVerify(t, dir)
	if code != exitFail {
		t.Fatalf("verify of an edited trail: exit %d, want %d; stdout %q", code, exitFail, out)
	}
	want := fmt.Sprintf("BROKEN: chain %s, entry 2: ", chain)
	if !bytes.Contains([]byte(out), []byte(want)) || !regexp.MustCompile(`does NOT verify: 1 problem found`).MatchString(out) {
		t.Fatalf("stdout %q; want it to name %q", out, want)
	}
}

func TestAuditVerifyUsage(t *testing.T) {
	for _, args := range [][]string{{"audit"}, {"audit", "check"}, {"audit", "verify", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != exitUsage {
			t.Errorf("sealstore %v: exit %d, want %d (stderr %q)", args, code, exitUsage, errOut.String())
		}
	}
}
