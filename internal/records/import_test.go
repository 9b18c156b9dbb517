package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/fault"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
)

// importEnv is a service whose imports read a fakeSource.
type importEnv struct {
	*env
	svc *records.Service
	src *fakeSource
	im  *imports
}

func newImportEnv(t *testing.T) *importEnv {
	t.Helper()
	e := &importEnv{env: newEnv(t), src: newFakeSource(), im: &imports{}}
	e.svc = e.reopen(t)
	return e
}

// reopen opens a service on the env's database, as a restarted server.
func (e *importEnv) reopen(t *testing.T) *records.Service {
	t.Helper()
	svc, err := records.Open(context.Background(), e.db, e.keys(t), hierarchy.NewCache(0, 100, nil),
		records.Options{OpenSource: e.src.opener(t), Imported: e.im.hook})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func referenceRequest() records.ImportRequest {
	return records.ImportRequest{Source: records.ImportSource{Table: "secure_items", KMSKeyID: fakeKey}}
}

// run starts an import into items and waits for its end.
func (e *importEnv) run(t *testing.T, r records.ImportRequest) records.ImportJob {
	t.Helper()
	if _, err := e.svc.StartImport(t.Context(), records.ItemsCollection, r); err != nil {
		t.Fatalf("StartImport: %v", err)
	}
	return waitImport(t, e.svc, records.ItemsCollection)
}

// TestImportReference imports a table in the reference layout with every
// kind of item: good ones (imported, one KMS Decrypt each), records
// already in sealstore (kept: a conflict, or, if identical, counted as
// imported), and items that cannot be imported, reported by key with
// their reason and never imported in part. The verify pass is then not
// clean, so deleteSource deletes nothing.
func TestImportReference(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	good := map[string]string{}
	for i := range 150 {
		id := "good-" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "-" + itoa(i)
		good[id] = newSecretText(id)
		e.src.put(e.src.encrypt(t, fakeKey, id, good[id]))
	}
	put(t, e.svc, "kept", "sealstore's own") // before the import: a conflict
	e.src.put(e.src.encrypt(t, fakeKey, "kept", "the source's"))
	put(t, e.svc, "same", "identical")
	e.src.put(e.src.encrypt(t, fakeKey, "same", "identical"))
	bad := badReferenceItems(t, e.src)
	for _, it := range bad {
		e.src.put(it.item)
	}
	job := e.run(t, records.ImportRequest{Source: referenceRequest().Source, DeleteSource: true})

	total := int64(len(good) + 2 + len(bad))
	kms := int64(len(good) + 2 + 4) // the bad ones that reach KMS: other key, flipped tag, wrong nonce, not UTF-8
	want := records.ImportJob{State: records.JobDone, Phase: "verifying", Items: total, Imported: int64(len(good)) + 1, Recognised: 1,
		Conflicts: 1, Failed: int64(len(bad)), Verified: int64(len(good)) + 1, Unverified: int64(len(bad)) + 1, KMSDecrypts: kms}
	checkCounts(t, job, want)
	if job.Clean == nil || *job.Clean || job.Deleted != 0 || e.src.len() != int(total) {
		t.Errorf("clean %v, %d deleted, %d source items left; want not clean and nothing deleted", job.Clean, job.Deleted, e.src.len())
	}
	if e.src.calls() != int(kms) {
		t.Errorf("%d KMS Decrypts, want %d: one per source item that reaches KMS, none in the verify pass", e.src.calls(), kms)
	}
	for id, s := range good {
		if got := get(t, e.svc, id); got != s {
			t.Errorf("GetSecret(%s) = %q, want %q", id, got, s)
		}
		if n := len(e.im.of(records.Key{ID: id})); n != 1 {
			t.Errorf("%s: told Imported %d times, want once", id, n)
		}
	}
	if get(t, e.svc, "kept") != "sealstore's own" || get(t, e.svc, "same") != "identical" {
		t.Error("a record already in sealstore was overwritten")
	}
	wantProblems := map[string]string{idKey("kept"): "conflict"}
	for _, b := range bad {
		wantProblems[idKey(b.id)] = b.reason
		if _, err := e.svc.GetSecret(t.Context(), b.id); !errors.Is(err, records.ErrNotFound) && b.reason != "bad_id" {
			t.Errorf("undecryptable item %s (%s) is in sealstore: %v", b.id, b.reason, err)
		}
	}
	checkProblems(t, problems(t, e.svc, records.ItemsCollection), wantProblems, "importing")
}

// badItem is a source item that cannot be imported, and why.
type badItem struct {
	id, reason string
	item       attr.Item
}

// badReferenceItems are items of the reference layout that no import may
// take: each its own way of not decrypting, or not fitting the layout.
func badReferenceItems(t *testing.T, f *fakeSource) []badItem {
	t.Helper()
	flip := func(b attr.Value, i int) attr.B {
		out := bytes.Clone(b.(attr.B))
		out[(len(out)+i)%len(out)] ^= 1
		return out
	}
	var out []badItem
	add := func(id, reason string, change func(attr.Item)) {
		it := f.encrypt(t, fakeKey, id, "secret of "+id)
		change(it)
		out = append(out, badItem{id: id, reason: reason, item: it})
	}
	add("flipped-tag", "bad_tag", func(it attr.Item) { it["sensitive_field"] = flip(it["sensitive_field"], -1) })
	add("wrong-nonce", "bad_tag", func(it attr.Item) { it["nonce"] = flip(it["nonce"], 0) })
	add("other-key", "key_not_decrypted", func(it attr.Item) {
		it["encrypted_key"] = f.encrypt(t, fakeOtherKey, "x", "y")["encrypted_key"]
	})
	add("not-utf8", "not_utf8", func(it attr.Item) {
		enc := f.encrypt(t, fakeKey, "not-utf8", "\xff\xfe")
		maps := []string{"sensitive_field", "encrypted_key", "nonce"}
		for _, name := range maps {
			it[name] = enc[name]
		}
	})
	add("missing-nonce", "missing_attribute", func(it attr.Item) { delete(it, "nonce") })
	add("extra", "unexpected_attribute", func(it attr.Item) { it["note"] = attr.S("x") })
	add("short-nonce", "bad_nonce", func(it attr.Item) { it["nonce"] = attr.B(make([]byte, 11)) })
	add("string-key", "wrong_type", func(it attr.Item) { it["encrypted_key"] = attr.S("abc") })
	add("empty-key", "bad_encrypted_key", func(it attr.Item) { it["encrypted_key"] = attr.B{} })
	add("bad\x01id", "bad_id", func(attr.Item) {})
	return out
}

func checkCounts(t *testing.T, got, want records.ImportJob) {
	t.Helper()
	type counts struct {
		State, Phase                                                      string
		Items, Imported, Recognised, Conflicts, Failed, Verified, Unverif int64
		Deleted, Kept, KMS                                                int64
	}
	g := counts{got.State, got.Phase, got.Items, got.Imported, got.Recognised, got.Conflicts, got.Failed, got.Verified, got.Unverified, got.Deleted, got.Kept, got.KMSDecrypts}
	w := counts{want.State, want.Phase, want.Items, want.Imported, want.Recognised, want.Conflicts, want.Failed, want.Verified, want.Unverified, want.Deleted, want.Kept, want.KMSDecrypts}
	if g != w {
		t.Errorf("job counts\n got %+v\nwant %+v\n(job %+v)", g, w, got)
	}
}

// checkProblems requires the problems to be exactly want (key → reason),
// all of phase.
func checkProblems(t *testing.T, got map[string]records.ImportProblem, want map[string]string, phase string) {
	t.Helper()
	for k, reason := range want {
		p, ok := got[k]
		switch {
		case !ok:
			t.Errorf("no problem reported for %s (want %s)", k, reason)
		case p.Reason != reason || p.Phase != phase:
			t.Errorf("problem of %s: %s in %s, want %s in %s", k, p.Reason, p.Phase, reason, phase)
		case records.ImportReasons[p.Reason] == "":
			t.Errorf("reason %s has no description", p.Reason)
		}
	}
	for k, p := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected problem %s: %+v", k, p)
		}
	}
}

// TestImportDeleteSource: after a clean verify, every source item is
// deleted, and every secret reads back exactly.
func TestImportDeleteSource(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	secrets := map[string]string{}
	for i := range 230 {
		id := "d" + itoa(i)
		secrets[id] = newSecretText(id)
		e.src.put(e.src.encrypt(t, fakeKey, id, secrets[id]))
	}
	// One item re-encrypted after the import pass, with the same secret:
	// the verify pass decrypts it again, finds it the same, and the
	// delete pass deletes it like the others.
	e.src.beforeScan = func(pass int) {
		if pass == 3 {
			e.src.put(e.src.encrypt(t, fakeKey, "d7", secrets["d7"]))
		}
	}
	job := e.run(t, records.ImportRequest{Source: referenceRequest().Source, DeleteSource: true})
	n := int64(len(secrets))
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "deleting", Items: n, Imported: n, Verified: n, Deleted: n, KMSDecrypts: n + 1})
	if job.Clean == nil || !*job.Clean || e.src.len() != 0 {
		t.Fatalf("clean %v, %d source items left; want clean and none left", job.Clean, e.src.len())
	}
	for id, s := range secrets {
		if got := get(t, e.svc, id); got != s {
			t.Errorf("GetSecret(%s) = %q, want %q", id, got, s)
		}
	}
	if p := problems(t, e.svc, records.ItemsCollection); len(p) != 0 {
		t.Errorf("problems after a clean import: %v", p)
	}
}

// TestImportVerifyCatchesChanges: what changes between the import pass
// and the verify pass is found, on either side, and keeps the source.
func TestImportVerifyCatchesChanges(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		e.src.put(e.src.encrypt(t, fakeKey, id, "secret "+id))
	}
	e.src.beforeScan = func(pass int) {
		if pass != 3 {
			return
		}
		e.src.put(e.src.encrypt(t, fakeKey, "a", "changed in the source")) // decrypted again: differs
		put(t, e.svc, "b", "changed in sealstore")
		if err := e.svc.DeleteRecord(t.Context(), records.ItemsCollection, records.Key{ID: "c"}, records.Precondition{}); err != nil {
			t.Error(err)
		}
		e.src.put(e.src.encrypt(t, fakeKey, "f", "added to the source"))
	}
	job := e.run(t, records.ImportRequest{Source: referenceRequest().Source, DeleteSource: true})
	checkCounts(t, job, records.ImportJob{State: records.JobDone, Phase: "verifying", Items: 5, Imported: 5, Verified: 2, Unverified: 4, KMSDecrypts: 6})
	checkProblems(t, problems(t, e.svc, records.ItemsCollection), map[string]string{
		idKey("a"): "source_changed", idKey("b"): "differs", idKey("c"): "missing", idKey("f"): "not_imported"}, "verifying")
	if e.src.len() != 6 {
		t.Errorf("%d source items left, want all 6", e.src.len())
	}
}

// TestImportValidation: every bad request is an *InvalidError naming its
// field, before anything is read.
func TestImportValidation(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	if _, _, err := e.svc.PutCollection(t.Context(), "c", records.Schema{PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	src := referenceRequest().Source
	plain := records.ImportSource{Table: "secure_items"}
	for _, c := range []struct {
		coll  string
		req   records.ImportRequest
		field string
	}{
		{"items", records.ImportRequest{Source: src, MaxRate: -1}, "body.maxRate"},
		{"items", records.ImportRequest{Source: src, MaxRate: 100_001}, "body.maxRate"},
		{"items", records.ImportRequest{Source: records.ImportSource{Table: "a b", KMSKeyID: fakeKey}}, "body.source.table"},
		{"items", records.ImportRequest{Source: records.ImportSource{Table: "secure_items"}}, "body.source.kmsKeyId"},
		{"items", records.ImportRequest{Source: records.ImportSource{Table: "nope", KMSKeyID: fakeKey}}, "body.source.table"},
		{"c", records.ImportRequest{Source: src}, "body.map"},
		{"c", records.ImportRequest{Source: src, Map: map[string]string{"id": "item_id"}}, "body.source.kmsKeyId"},
		{"c", records.ImportRequest{Source: plain, Map: map[string]string{"x": "item_id"}}, "body.map"},
		{"c", records.ImportRequest{Source: plain, Map: map[string]string{"id": "item_id", "aws_dbe_x": "y"}}, "body.map"},
		{"c", records.ImportRequest{Source: plain, Map: map[string]string{"id": "item_id", "y": "item_id"}}, "body.map"},
		{"c", records.ImportRequest{Source: plain, Map: map[string]string{"id": ""}}, "body.map"},
	} {
		_, err := e.svc.StartImport(t.Context(), c.coll, c.req)
		if cl := fault.Classify(errOr(err)); err == nil || cl.Kind != fault.Invalid || cl.Field != c.field {
			t.Errorf("StartImport(%s, %+v) = %v; want invalid %s", c.coll, c.req, err, c.field)
		}
	}
	e.src.table.PartitionKey = "id"
	if _, err := e.svc.StartImport(t.Context(), "items", referenceRequest()); fault.Classify(errOr(err)).Field != "body.source.table" {
		t.Errorf("a reference import from a table keyed by id: %v, want invalid body.source.table", err)
	}
	if _, err := e.svc.StartImport(t.Context(), "nope", referenceRequest()); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("an import into a missing collection: %v, want ErrNotFound", err)
	}
	if j, err := e.svc.ImportStatus(t.Context(), "items"); err != nil || j.State != records.JobNone {
		t.Errorf("after refused imports the status is %+v, %v; want none", j, err)
	}
}

func errOr(err error) error {
	if err == nil {
		return errors.New("no error")
	}
	return err
}

// TestImportHoldsNoPlaintext: a canary secret is in no job status, no
// problem listing and nowhere in the database file in clear.
func TestImportHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	e := newImportEnv(t)
	canary := "canary-" + rand32()
	e.src.put(e.src.encrypt(t, fakeKey, "c1", canary))
	put(t, e.svc, "c2", "other")
	e.src.put(e.src.encrypt(t, fakeKey, "c2", canary)) // a conflict
	bad := e.src.encrypt(t, fakeKey, "c3", canary)
	bad["sensitive_field"].(attr.B)[0] ^= 1
	e.src.put(bad)
	job := e.run(t, referenceRequest())
	if job.Imported != 1 || job.Conflicts != 1 || job.Failed != 1 {
		t.Fatalf("job %+v", job)
	}
	js, _ := json.Marshal(job)
	ps, _ := json.Marshal(problems(t, e.svc, records.ItemsCollection))
	raw, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	for what, data := range map[string][]byte{"job status": js, "problems": ps, "database file": raw} {
		if bytes.Contains(data, []byte(canary)) || bytes.Contains(data, []byte(canary[7:])) {
			t.Errorf("the %s holds the canary", what)
		}
	}
}
