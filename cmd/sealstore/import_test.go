package main

// End-to-end tests of "sealstore import": a real "sealstore serve" on the
// embedded store imports tables that the tests write on dynalite, with
// local-kms, exactly as the reference system writes them; the commands
// run as subprocesses. Without the emulators the tests are skipped with
// the reason (or fail under SEALSTORE_REQUIRE_EMULATORS=1).

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/store"
)

// boltItemETags reads the entity tags of the items collection's records
// straight from the database in dir (no server may hold it).
func boltItemETags(t *testing.T, dir string) map[string]string {
	t.Helper()
	db, err := datadir.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	etags := map[string]string{}
	var cursor []byte
	for {
		page, err := db.Scan(t.Context(), store.Table{Name: "secure_items", PartitionKey: "item_id"}, cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			head, _ := it[item.HeaderAttr].(attr.B)
			sum := sha256.Sum256(head)
			etags[string(it["item_id"].(attr.S))] = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		}
		if page.Next == nil {
			return etags
		}
		cursor = page.Next
	}
}

// TestImportSurvivesSIGKILL imports 600 items of the reference layout at
// 50 a second with --delete-source, kills the server with SIGKILL when
// about 270 are in (in the middle of a page), starts it again (it resumes the job at once) and
// follows the import to its end with the same command: a clean verify,
// every source item deleted, every secret exact through GET /items/{id},
// no record written twice, one KMS Decrypt per item but those in flight
// at the kill, and every record in the audit trail with its ETag.
func TestImportSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	src := newSourceTable(t, e, "secure_items", "item_id")
	const n = 600
	secrets := src.fill(t, n)
	dir := t.TempDir()
	start := startBolt(t, dir)
	k := start()
	args := append(append([]string{"items"}, src.referenceArgs()...), "--max-rate", "50", "--delete-source")
	jobID := killMidImport(t, k, args)
	atKill := boltItemETags(t, dir)
	if len(atKill) < 250 || len(atKill) == n {
		t.Fatalf("%d records at the kill", len(atKill))
	}

	k2 := start()
	r := k2.runImport(t, args...)
	t.Logf("%d records at the kill; the import after the restart:\n%s%s", len(atKill), r.stdout, r.stderr)
	sum := summaryOf(t, r.stdout)
	want := map[string]string{"coll": "items", "state": "done", "items": "600", "imported": "600", "conflicts": "0", "failed": "0",
		"clean": "clean", "verified": "600", "unverified": "0", "deleted": "600", "kept": "0", "resumed": "1"}
	for name, v := range want {
		if sum[name] != v {
			t.Errorf("summary %s = %s, want %s (%v)", name, sum[name], v, r)
		}
	}
	if r.code != 0 || !strings.Contains(r.stderr, "resuming the import into items (job "+jobID) {
		t.Errorf("the import after the restart: %v; want exit 0, resuming job %s", r, jobID)
	}
	if c := src.count(t); c != 0 {
		t.Errorf("%d source items left after a clean import with --delete-source", c)
	}
	checkSecrets(t, k2, secrets)
	job := k2.importJob(t, "items")
	recognised, _ := strconv.Atoi(sum["recognised"])
	if calls := k2.metric(t, `sealstore_kms_calls_total{operation="Decrypt",outcome="ok"}`); int(calls) != n-len(atKill)+recognised || recognised > 8 {
		t.Errorf("the restarted server made %v KMS Decrypts; want one per item not in at the kill (%d) and one per record recognised (%d, at most 8)",
			calls, n-len(atKill), recognised)
	}
	k2.p.stop()
	end := boltItemETags(t, dir)
	for id, etag := range atKill {
		if end[id] != etag {
			t.Errorf("%s was written again after the restart: %s, then %s", id, etag, end[id])
		}
	}
	t.Logf("job: %+v", job)
	k3 := start()
	checkImportAudit(t, k3, jobID, n, job, end)
	k3.p.stop()
}

// killMidImport starts the import args ask for (at 50 items a second)
// and kills the server with SIGKILL in the middle of its sixth page; it
// returns the job's id.
func killMidImport(t *testing.T, k *keysTarget, args []string) string {
	t.Helper()
	began := time.Now()
	r := k.runImport(t, append(args, "--detach")...)
	m := regexp.MustCompile(`^import into items: running \(job (\S+)\); follow it`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("sealstore import --detach: %v", r)
	}
	// Pages hold 50 items at this rate, and the job's counts move a page
	// at a time but for its KMS calls, counted as they happen.
	for job := k.importJob(t, "items"); job.KMSDecrypts < 270; job = k.importJob(t, "items") {
		if job.State != records.JobRunning || job.ID != m[1] {
			t.Fatalf("before the kill the job is %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(began); d < 5*time.Second {
		t.Errorf("270 items decrypted in %v at --max-rate 50: the rate is not honoured", d)
	}
	k.p.signal(syscall.SIGKILL)
	if code := k.p.wait(exitTimeout); code != -1 {
		t.Fatalf("after SIGKILL: exit %d, want death by signal", code)
	}
	return m[1]
}

// checkSecrets requires every secret to read back exactly through the
// reference route.
func checkSecrets(t *testing.T, k *keysTarget, secrets map[string]string) {
	t.Helper()
	for id, s := range secrets {
		r, got, err := k.p.get(t.Context(), k.admin, id)
		if err != nil || r.status != http.StatusOK || got != s {
			t.Errorf("GET /items/%s: %d %v; want its secret", id, r.status, err)
		}
	}
}

// checkImportAudit requires the trail to hold the import's start, its
// automatic resumption by the restarted server, and a record.import entry
// by the service for every record, with the ETag the record has.
func checkImportAudit(t *testing.T, k *keysTarget, jobID string, n int, job records.ImportJob, etags map[string]string) {
	t.Helper()
	entries := k.auditEntries(t, url.Values{"action": {"record.import"}, "collection": {"items"}})
	var starts, resumes, recordsIn int
	for _, e := range entries {
		switch {
		case e.Record != "":
			recordsIn++
			if e.Token != "sealstore" || e.ETag == "" || e.Outcome != "ok" {
				t.Errorf("record.import entry %+v; want by sealstore, ok, with an ETag", e)
			}
		case strings.HasPrefix(e.Detail, "start: job="+jobID):
			starts++
			if !strings.Contains(e.Detail, "layout=reference") || !strings.Contains(e.Detail, "maxRate=50 deleteSource=true") {
				t.Errorf("start entry %q does not name the options", e.Detail)
			}
		case strings.HasPrefix(e.Detail, "resumed automatically: job="+jobID) && e.Token == "sealstore":
			resumes++
		}
	}
	if starts != 2 || resumes != 1 || recordsIn < n || recordsIn > n+int(job.Recognised) {
		t.Errorf("the trail has %d starts, %d automatic resumptions, %d record entries; want 2, 1, %d to %d",
			starts, resumes, recordsIn, n, n+int(job.Recognised))
	}
	for _, id := range []string{"ref-0000", "ref-0123", "ref-0599"} {
		es := k.auditEntries(t, url.Values{"action": {"record.import"}, "collection": {"items"}, "record": {id}})
		if len(es) == 0 {
			t.Errorf("%s: no record.import entry", id)
		}
		for _, e := range es {
			if e.ETag != etags[id] {
				t.Errorf("%s: entry ETag %s, the record's %s", id, e.ETag, etags[id])
			}
		}
	}
}

// TestImportReportsAndKeeps imports a reference table holding items that
// cannot be imported — a flipped tag, a wrong nonce, a data key of the
// other KMS key, a missing attribute — and items whose ids sealstore
// already holds: written before the import (a conflict, or identical) or
// through sealstore while it runs. Every record already there is kept,
// every bad item reported by key and left out, the verify is not clean,
// so --delete-source deletes nothing; and a canary secret shows in no
// output, log, status, problem list or audit entry.
func TestImportReportsAndKeeps(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	src := newSourceTable(t, e, "secure_items", "item_id")
	secrets := src.fill(t, 40)
	canary := "canary-" + rand.Text()
	secrets["canary"] = canary
	src.put(t, src.encrypt(t, e.KMSKeyARN, "canary", canary))
	dir := t.TempDir()
	k := startBolt(t, dir)()
	for id, s := range map[string]string{"before": "sealstore's own " + canary, "same": "identical"} {
		if r := k.p.post(t.Context(), k.admin, id, s); r.status != http.StatusOK {
			t.Fatalf("POST /items/ %s: %d", id, r.status)
		}
	}
	src.put(t, src.encrypt(t, e.KMSKeyARN, "before", "the source's "+canary))
	src.put(t, src.encrypt(t, e.KMSKeyARN, "same", "identical"))
	src.put(t, src.encrypt(t, e.KMSKeyARN, "during", "the source's"))
	bad := putBadReferenceItems(t, src, canary)

	args := append(append([]string{"items"}, src.referenceArgs()...), "--max-rate", "20", "--delete-source")
	if r := k.runImport(t, append(args, "--detach")...); r.code != 0 {
		t.Fatalf("import --detach: %v", r)
	}
	// Written through sealstore while the import runs: before the import
	// reaches it (a conflict) or after (the verify finds it differs); kept
	// either way.
	if r := k.p.post(t.Context(), k.admin, "during", "written during the import"); r.status != http.StatusOK {
		t.Fatalf("POST /items/ during: %d", r.status)
	}
	r := k.runImport(t, args...)
	t.Logf("the import:\n%s%s", r.stdout, r.stderr)
	sum := summaryOf(t, r.stdout)
	total := len(secrets) + 3 + len(bad)
	if r.code != 1 || sum["state"] != "done" || sum["items"] != strconv.Itoa(total) || sum["failed"] != strconv.Itoa(len(bad)) ||
		sum["clean"] != "not clean" || sum["deleted"] != "0" || sum["recognised"] != "1" || sum["kms"] != strconv.Itoa(total-1) {
		t.Errorf("import: %v; want exit 1, done, %d items, %d failed, 1 recognised, not clean, nothing deleted, "+
			"one KMS Decrypt per item but the one missing its nonce", sum, total, len(bad))
	}
	checkReported(t, r, bad)
	if c := src.count(t); c != total {
		t.Errorf("%d source items left of %d after an import that was not clean", c, total)
	}
	checkSecrets(t, k, map[string]string{"before": "sealstore's own " + canary, "same": "identical", "during": "written during the import"})
	checkSecrets(t, k, secrets)
	for id := range bad {
		if res, _, _ := k.p.get(t.Context(), k.admin, id); res.status != http.StatusNotFound {
			t.Errorf("GET /items/%s (%s): %d, want 404: nothing of it imported", id, bad[id], res.status)
		}
	}
	checkNoCanary(t, k, canary, r)
	k.p.stop()
}

// checkReported requires the problems the import printed to be the bad
// items with their reasons, and the records kept.
func checkReported(t *testing.T, r keysRun, bad map[string]string) {
	t.Helper()
	got := problemLines(r.stdout)
	want := map[string]string{refKey("before"): "importing conflict"}
	for id, reason := range bad {
		want[refKey(id)] = "importing " + reason
	}
	if p := got[refKey("during")]; p != "importing conflict" && p != "verifying differs" {
		t.Errorf("the record written during the import is reported as %q, want a conflict or differs", p)
	}
	delete(got, refKey("during"))
	if !maps.Equal(got, want) {
		t.Errorf("problems %v\nwant %v", got, want)
	}
}

// putBadReferenceItems puts items of the reference layout that cannot be
// imported, some of them hiding canary, and returns their reasons by id.
func putBadReferenceItems(t *testing.T, src *sourceTable, canary string) map[string]string {
	t.Helper()
	flip := func(it map[string]types.AttributeValue, name string, i int) {
		b := it[name].(*types.AttributeValueMemberB).Value
		b[(len(b)+i)%len(b)] ^= 1
	}
	tag := src.encrypt(t, src.e.KMSKeyARN, "flipped-tag", canary)
	flip(tag, "sensitive_field", -1)
	nonce := src.encrypt(t, src.e.KMSKeyARN, "wrong-nonce", canary)
	flip(nonce, "nonce", 0)
	other := src.encrypt(t, src.e.KMSKeyARN, "other-key", canary)
	other["encrypted_key"] = src.encrypt(t, src.e.KMSOtherKeyARN, "x", "y")["encrypted_key"]
	whole := src.encrypt(t, src.e.KMSOtherKeyARN, "under-other-key", canary)
	missing := src.encrypt(t, src.e.KMSKeyARN, "missing-nonce", canary)
	delete(missing, "nonce")
	for _, it := range []map[string]types.AttributeValue{tag, nonce, other, whole, missing} {
		src.put(t, it)
	}
	return map[string]string{"flipped-tag": "bad_tag", "wrong-nonce": "bad_tag", "other-key": "key_not_decrypted",
		"under-other-key": "key_not_decrypted", "missing-nonce": "missing_attribute"}
}

// checkNoCanary requires canary to be in no output of the command r, the
// server's log and output, the job's status and problems, and the audit
// trail.
func checkNoCanary(t *testing.T, k *keysTarget, canary string, r keysRun) {
	t.Helper()
	forms := canaryForms(canary)
	places := map[string][]byte{
		"the command's output": []byte(r.stdout + r.stderr),
		"the server's log":     []byte(k.p.stderr.String()),
		"the server's stdout":  []byte(strings.Join(k.p.stdout(), "\n")),
	}
	for name, path := range map[string]string{"the job": collPath("items") + "/imports", "the problems": collPath("items") + "/imports/problems",
		"the audit trail": "/v1/audit?limit=1000", "the metrics": "/metrics"} {
		res := k.p.do(t.Context(), http.MethodGet, path, k.admin, nil)
		if res.status != http.StatusOK {
			t.Errorf("GET %s: %d", path, res.status)
		}
		places[name] = res.body
	}
	for name, data := range places {
		if containsAny(data, forms) {
			t.Errorf("%s holds the canary", name)
		}
	}
	if !containsAny([]byte("x"+canary+"x"), forms) || len(places["the audit trail"]) < 1000 {
		t.Error("the canary check sees nothing")
	}
}

// TestImportPlaintextTable maps a plaintext DynamoDB table into a /v1
// collection at 10 items a second: every record reads back as its source
// item with the map's names and its JSON types, its searchable attribute
// is searchable, no KMS call is made, and after the clean verify the
// source items are deleted.
func TestImportPlaintextTable(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	src := newSourceTable(t, e, "customers", "customer_id")
	want := map[string]map[string]any{}
	for i := range 25 {
		id := "cust-" + strconv.Itoa(i)
		src.put(t, map[string]types.AttributeValue{
			"customer_id":   &types.AttributeValueMemberS{Value: id},
			"email_address": &types.AttributeValueMemberS{Value: id + "@example.com"},
			"age":           &types.AttributeValueMemberN{Value: strconv.Itoa(20+i) + ".50"},
			"vip":           &types.AttributeValueMemberBOOL{Value: i%2 == 0},
			"tags":          &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "t"}, &types.AttributeValueMemberNULL{Value: true}}},
			"address":       &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"city": &types.AttributeValueMemberS{Value: "Lyon é"}}},
		})
		want[id] = map[string]any{"id": id, "email": id + "@example.com", "age": json.Number(strconv.Itoa(20+i) + ".5"), "vip": i%2 == 0,
			"tags": []any{"t", nil}, "address": map[string]any{"city": "Lyon é"}}
	}
	k := startBolt(t, t.TempDir())()
	if st := k.api(t, k.admin, http.MethodPut, collPath("customers"), map[string]any{"partitionKey": "id", "searchable": map[string]int{"email": 16}}, nil); st != http.StatusCreated {
		t.Fatalf("PUT customers: %d", st)
	}
	began := time.Now()
	r := k.runImport(t, "customers", "--source-table", src.table, "--source-region", e.Region, "--source-dynamodb-endpoint", e.DynamoDBEndpoint,
		"--map", "id=customer_id,email=email_address,age=age,vip=vip,tags=tags,address=address", "--max-rate", "10", "--delete-source")
	took := time.Since(began)
	sum := summaryOf(t, r.stdout)
	if r.code != 0 || sum["imported"] != "25" || sum["clean"] != "clean" || sum["deleted"] != "25" || sum["kms"] != "0" {
		t.Errorf("import: %v; want exit 0, 25 imported, clean, 25 deleted, no KMS call", r)
	}
	// Three passes of 25 items at 10 a second.
	if took < 6*time.Second {
		t.Errorf("the import of 25 items at --max-rate 10 took %v: the rate is not honoured", took)
	}
	for id, doc := range want {
		var got map[string]any
		res := k.p.do(t.Context(), http.MethodGet, collPath("customers")+"/records/"+id, k.admin, nil)
		dec := json.NewDecoder(bytes.NewReader(res.body))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil || res.status != http.StatusOK || !reflect.DeepEqual(got, doc) {
			t.Errorf("GET customers/%s: %d %v, want %v", id, res.status, got, doc)
		}
	}
	var page struct{ Records []map[string]any }
	if st := k.api(t, k.admin, http.MethodGet, collPath("customers")+"/records?email=cust-7@example.com", nil, &page); st != http.StatusOK || len(page.Records) != 1 {
		t.Errorf("search by email: %d, %v", st, page.Records)
	}
	if c := src.count(t); c != 0 {
		t.Errorf("%d source items left", c)
	}
	k.p.stop()
}
