package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
)

// keyStoreTable is the branch key store's table (keystore/keystore.go).
var keyStoreTable = store.Table{Name: server.KeyStoreTable, PartitionKey: "branch-key-id", SortKey: "type"}

// keyVersionJSON is one version of GET /v1/collections/{name}/keys, as
// the API documents it (mirrored here, not imported, so that a changed
// member name fails these tests).
type keyVersionJSON struct {
	Version   int        `json:"version"`
	ID        string     `json:"id"`
	Created   time.Time  `json:"created"`
	Activated *time.Time `json:"activated"`
	Active    bool       `json:"active"`
	Retired   bool       `json:"retired"`
	Items     int64      `json:"items"`
}

// shredReceiptJSON is the body of DELETE /v1/collections/{name}/keys.
type shredReceiptJSON struct {
	Time        time.Time `json:"time"`
	BranchKeyID string    `json:"branchKeyId"`
	Versions    int       `json:"versions"`
	BeaconKey   bool      `json:"beaconKey"`
	Items       int64     `json:"items"`
}

// detail is the receipt's audit detail, as documented.
func (r shredReceiptJSON) detail() string {
	n := func(n int64, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return fmt.Sprintf("%d %ss", n, noun)
	}
	return fmt.Sprintf("destroyed branch key %s: %s and its beacon key; %s made unreadable", r.BranchKeyID, n(int64(r.Versions), "version"), n(r.Items, "record"))
}

// keyStatusJSON is the body of GET /v1/collections/{name}/keys.
type keyStatusJSON struct {
	Collection            string            `json:"collection"`
	BranchKeyID           string            `json:"branchKeyId"`
	ActiveVersion         int               `json:"activeVersion"`
	MinDecryptableVersion int               `json:"minDecryptableVersion"`
	RotationPeriod        string            `json:"rotationPeriod"`
	NextRotation          *time.Time        `json:"nextRotation"`
	Versions              []keyVersionJSON  `json:"versions"`
	Items                 int64             `json:"items"`
	OtherItems            int64             `json:"otherItems"`
	Shredded              *shredReceiptJSON `json:"shredded"`
	ShredIncomplete       bool              `json:"shredIncomplete"`
}

// counts is the record count of each version, oldest first.
func (k keyStatusJSON) counts() []int64 {
	out := make([]int64, len(k.Versions))
	for i, v := range k.Versions {
		out[i] = v.Items
	}
	return out
}

// rewrapJobJSON is the body of the rewrap routes.
type rewrapJobJSON struct {
	Collection string     `json:"collection"`
	ID         string     `json:"id"`
	State      string     `json:"state"`
	Phase      string     `json:"phase"`
	Pass       int        `json:"pass"`
	Items      int64      `json:"items"`
	Scanned    int64      `json:"scanned"`
	ToRewrap   int64      `json:"toRewrap"`
	Rewrapped  int64      `json:"rewrapped"`
	Retried    int64      `json:"retried"`
	Skipped    int64      `json:"skipped"`
	Failed     int64      `json:"failed"`
	Rate       float64    `json:"ratePerSecond"`
	MaxRate    int        `json:"maxRate"`
	Resumed    int        `json:"resumed"`
	Started    time.Time  `json:"started"`
	Updated    time.Time  `json:"updated"`
	Finished   *time.Time `json:"finished"`
	Error      string     `json:"error"`
}

// keysPath is the path of collection c's key routes, plus suffix.
func keysPath(c, suffix string) string { return collPath(c, "/keys"+suffix) }

// keyStatus reads GET keys of c and fails unless it is 200.
func (s *srv) keyStatus(tok, c string) keyStatusJSON {
	s.t.Helper()
	var st keyStatusJSON
	s.call(http.MethodGet, keysPath(c, ""), tok, http.StatusOK, &st)
	return st
}

// call sends a request without a body and decodes its answer into out,
// failing unless the status is want.
func (s *srv) call(method, path, tok string, want int, out any) resp {
	s.t.Helper()
	r := s.do(method, path, tok, nil, nil)
	if r.status != want {
		s.t.Fatalf("%s %s: %d %s; want %d", method, path, r.status, r.body, want)
	}
	mustDecode(s.t, method+" "+path, r, out)
	return r
}

// rotate rotates c's key and fails unless the answer is 200 naming an
// active version.
func (s *srv) rotate(tok, c string) keyVersionJSON {
	s.t.Helper()
	var v keyVersionJSON
	r := s.call(http.MethodPost, keysPath(c, ":rotate"), tok, http.StatusOK, &v)
	if !v.Active || v.ID == "" || v.Activated == nil {
		s.t.Fatalf("rotate %s: %s; want an activated, active version with an id", c, r.body)
	}
	return v
}

// retire posts keys:retire with body and returns the response.
func (s *srv) retire(tok, c, body string) resp {
	s.t.Helper()
	return s.do(http.MethodPost, keysPath(c, ":retire"), tok, []byte(body), nil)
}

// startRewrap starts c's rewrap and fails unless the answer is 202.
func (s *srv) startRewrap(tok, c string) rewrapJobJSON {
	s.t.Helper()
	var j rewrapJobJSON
	r := s.call(http.MethodPost, keysPath(c, ":rewrap"), tok, http.StatusAccepted, &j)
	if j.ID == "" || j.Collection != c {
		s.t.Fatalf("POST %s: %s; want a job of %s with an id", keysPath(c, ":rewrap"), r.body, c)
	}
	return j
}

// rewrapStatus reads GET keys/rewrap of c.
func (s *srv) rewrapStatus(tok, c string) rewrapJobJSON {
	s.t.Helper()
	var j rewrapJobJSON
	s.call(http.MethodGet, keysPath(c, "/rewrap"), tok, http.StatusOK, &j)
	return j
}

// waitRewrap polls c's rewrap until job id is no longer running and
// returns it. The deadline only stops a hung job from hanging the test.
func (s *srv) waitRewrap(tok, c, id string) rewrapJobJSON {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j := s.rewrapStatus(tok, c)
		if j.ID != id {
			s.t.Fatalf("rewrap of %s: status names job %q; want %q", c, j.ID, id)
		}
		if j.State == "done" && j.Rewrapped+j.Skipped+j.Failed != j.ToRewrap {
			s.t.Errorf("rewrap of %s: %+v; want rewrapped + skipped + failed = toRewrap", c, j)
		}
		if j.State != "running" {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("rewrap of %s still running after 2 minutes: %+v", c, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rewrapDone runs a rewrap of c to its end and fails unless it is done
// with no record failed.
func (s *srv) rewrapDone(tok, c string) rewrapJobJSON {
	s.t.Helper()
	j := s.waitRewrap(tok, c, s.startRewrap(tok, c).ID)
	if j.State != "done" || j.Failed != 0 || j.Error != "" || j.Finished == nil {
		s.t.Fatalf("rewrap of %s: %+v; want state done, finished, no failures", c, j)
	}
	return j
}

// wantCounts fails unless st's versions hold want records each, the
// active one is the last, and no record is under an unknown version.
func wantCounts(t testing.TB, what string, st keyStatusJSON, want ...int64) {
	t.Helper()
	var total int64
	for _, n := range want {
		total += n
	}
	got := st.counts()
	if fmt.Sprint(got) != fmt.Sprint(want) || st.Items != total || st.OtherItems != 0 || st.ActiveVersion != len(want) {
		t.Errorf("%s: versions hold %v, items %d, otherItems %d, active %d; want %v, %d, 0, %d",
			what, got, st.Items, st.OtherItems, st.ActiveVersion, want, total, len(want))
	}
	for i, v := range st.Versions {
		if v.Version != i+1 || v.Active != (i == len(st.Versions)-1) || v.Activated == nil || v.ID == "" {
			t.Errorf("%s: version %d is %+v; want number %d, activated, active only if last", what, i, v, i+1)
		}
	}
}

// docPut stores a record whose members are the string pairs of kv and
// returns the document a read must give back (with its key members).
func (s *srv) docPut(tok, path string, key map[string]string, kv ...string) map[string]any {
	s.t.Helper()
	doc := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		doc[kv[i]] = kv[i+1]
	}
	s.mustPut(tok, path, string(mustJSON(s.t, doc)))
	for k, v := range key {
		doc[k] = v
	}
	return doc
}

// wantRecords fails unless every record of want reads back as its
// document.
func (s *srv) wantRecords(tok, what string, want map[string]map[string]any) {
	s.t.Helper()
	for path, doc := range want {
		got, _ := s.mustGetDoc(tok, path)
		wantDoc(s.t, what+": GET "+path, got, string(mustJSON(s.t, doc)))
	}
}

// wantGone checks that r is a 410 problem whose detail holds every one of
// words, and not the generic decryption failure.
func wantGone(t testing.TB, what string, r resp, words ...string) {
	t.Helper()
	p := checkProblem(t, what, r, http.StatusGone)
	for _, w := range words {
		if !strings.Contains(p.Detail, w) {
			t.Errorf("%s: detail %q does not say %q", what, p.Detail, w)
		}
	}
	if strings.Contains(p.Detail, "could not be decrypted") {
		t.Errorf("%s: detail %q is the generic decryption failure", what, p.Detail)
	}
}

// The key status counts the records under each version exactly, in
// collections with and without a sort key; a rotation touches only its
// collection, and is audited with the version it made.
func TestKeysStatusCounts(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("flat", custSchema)
	s.mustCollection("sorted", `{"partitionKey":"user","sortKey":"ts","attributes":{"kind":"sign"},"searchable":{"email":8}}`)
	s.mustCollection("bystander", custSchema)
	s.mustPut(adm, recPath("bystander", "b1"), `{"email":"b@x"}`)
	paths := map[string]func(i int) (string, map[string]string){
		"flat": func(i int) (string, map[string]string) {
			id := fmt.Sprintf("r%02d", i)
			return recPath("flat", id), map[string]string{"id": id}
		},
		"sorted": func(i int) (string, map[string]string) {
			u, ts := fmt.Sprintf("u%d", i%3), fmt.Sprintf("2024-%02d", i)
			return recPath("sorted", u, ts), map[string]string{"user": u, "ts": ts}
		},
	}
	for _, c := range []string{"flat", "sorted"} {
		path := paths[c]
		want := map[string]map[string]any{}
		put := func(i int, gen string) {
			p, key := path(i)
			want[p] = s.docPut(adm, p, key, "email", fmt.Sprintf("e%d-%s@x", i, gen), "secret", c+gen+fmt.Sprint(i))
		}
		st := s.keyStatus(adm, c)
		if st.Collection != c || st.BranchKeyID == "" || st.MinDecryptableVersion != 1 || st.Shredded != nil {
			t.Errorf("%s: first status %+v", c, st)
		}
		wantCounts(t, c+" when empty", st, 0)
		// v1: records 0..10.
		for i := range 11 {
			put(i, "v1")
		}
		wantCounts(t, c+" after 11 writes", s.keyStatus(adm, c), 11)
		v2 := s.rotate(adm, c)
		// v2: rewrite 0..4, delete 10, new 11..14: v1 holds 5..9.
		for i := range 5 {
			put(i, "v2")
		}
		p10, _ := path(10)
		if r := s.do(http.MethodDelete, p10, adm, nil, nil); r.status != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", p10, r.status, r.body)
		}
		delete(want, p10)
		for i := 11; i < 15; i++ {
			put(i, "v2")
		}
		wantCounts(t, c+" after the first rotation", s.keyStatus(adm, c), 5, 9)
		v3 := s.rotate(adm, c)
		// v3: rewrite 11, patch 12, new 15: v2 holds 0..4, 13, 14.
		put(11, "v3")
		p12, _ := path(12)
		if r := s.patch(adm, p12, `{"secret":"patched"}`, nil); r.status != http.StatusOK {
			t.Fatalf("PATCH %s: %d %s", p12, r.status, r.body)
		}
		want[p12]["secret"] = "patched"
		put(15, "v3")
		st = s.keyStatus(adm, c)
		wantCounts(t, c+" after the second rotation", st, 5, 7, 3)
		if len(st.Versions) == 3 && (st.Versions[1].ID != v2.ID || st.Versions[2].ID != v3.ID || v2.Version != 2 || v3.Version != 3) {
			t.Errorf("%s: versions %+v; want the rotations' %+v and %+v as 2 and 3", c, st.Versions, v2, v3)
		}
		if ids := map[string]bool{st.Versions[0].ID: true, v2.ID: true, v3.ID: true}; len(ids) != 3 {
			t.Errorf("%s: version ids repeat: %+v", c, st.Versions)
		}
		s.wantRecords(adm, c+" under three versions", want)
		if recs, _ := s.listAll(adm, c, nil, 4); len(recs) != len(want) {
			t.Errorf("%s: list gives %d records; want %d", c, len(recs), len(want))
		}
		if recs, _ := s.listAll(adm, c, url.Values{"email": {"e7-v1@x"}}, 10); len(recs) != 1 {
			t.Errorf("%s: search for a v1 record after two rotations: %d records; want 1", c, len(recs))
		}
	}
	wantCounts(t, "bystander", s.keyStatus(adm, "bystander"), 1)

	rot, _ := s.auditAll(adm, url.Values{"action": {"keys.rotate"}, "collection": {"flat"}}, 100)
	st := s.keyStatus(adm, "flat")
	var details []string
	for _, e := range rot {
		if e.Token != tokAdmin || e.Outcome != "ok" {
			t.Errorf("keys.rotate entry %+v; want t-admin, ok", e)
		}
		details = append(details, e.Detail)
	}
	want := []string{fmt.Sprintf("version=2 id=%s", st.Versions[1].ID), fmt.Sprintf("version=3 id=%s", st.Versions[2].ID)}
	if fmt.Sprint(details) != fmt.Sprint(want) {
		t.Errorf("keys.rotate audit details of flat: %q; want %q", details, want)
	}
	if n := count(s.mustAudit(adm, "keys.status"), func(e auditEntry) bool { return e.Collection == "flat" && e.Outcome == "ok" }); n < 4 {
		t.Errorf("keys.status entries of flat: %d; want at least 4", n)
	}
}

// mustAudit lists every audit entry of action.
func (s *srv) mustAudit(tok, action string) []auditEntry {
	s.t.Helper()
	es, _ := s.auditAll(tok, url.Values{"action": {action}}, 50)
	return es
}

// Retiring is refused while records remain under the versions retired,
// allowed once a rewrap moved them, one way, and never above the active
// version; forced, it makes the remaining records 410 (not a decryption
// failure) and lists skip them.
func TestKeysRetire(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("ret", custSchema)
	want := map[string]map[string]any{}
	for i := range 6 {
		p := recPath("ret", fmt.Sprintf("r%d", i))
		want[p] = s.docPut(adm, p, map[string]string{"id": fmt.Sprintf("r%d", i)}, "email", fmt.Sprintf("r%d@x", i), "secret", fmt.Sprintf("s%d", i))
	}
	s.rotate(adm, "ret")
	for i := 6; i < 8; i++ {
		p := recPath("ret", fmt.Sprintf("r%d", i))
		want[p] = s.docPut(adm, p, map[string]string{"id": fmt.Sprintf("r%d", i)}, "email", fmt.Sprintf("r%d@x", i), "secret", fmt.Sprintf("s%d", i))
	}
	before := s.keyStatus(adm, "ret")
	wantCounts(t, "before retiring", before, 6, 2)

	p := checkProblem(t, "retire 2 with 6 records under v1", s.retire(adm, "ret", `{"minDecryptableVersion":2}`), http.StatusConflict)
	if !strings.Contains(p.Detail, "6 records") || !strings.Contains(p.Detail, "version 1,") {
		t.Errorf("retire refused: detail %q; want it to name the 6 records and version 1", p.Detail)
	}
	if st := s.keyStatus(adm, "ret"); st.MinDecryptableVersion != 1 || st.Versions[0].Retired {
		t.Errorf("after a refused retire: %+v; want nothing retired", st)
	}

	j := s.rewrapDone(adm, "ret")
	if j.ToRewrap != 6 || j.Rewrapped != 6 || j.Items != 8 {
		t.Errorf("rewrap: %+v; want 6 to rewrap, 6 rewrapped, 8 items", j)
	}
	if es := s.mustAudit(adm, "keys.rewrap"); count(es, func(e auditEntry) bool {
		return e.Collection == "ret" && e.Outcome == "ok" && e.Detail == "job="+j.ID
	}) != 1 {
		t.Errorf("keys.rewrap audit entries %+v; want one naming job %s", es, j.ID)
	}
	wantCounts(t, "after the rewrap", s.keyStatus(adm, "ret"), 0, 8)
	r := s.retire(adm, "ret", `{"minDecryptableVersion":2}`)
	if r.status != http.StatusOK {
		t.Fatalf("retire 2 after the rewrap: %d %s; want 200", r.status, r.body)
	}
	var st keyStatusJSON
	mustDecode(t, "retire", r, &st)
	if st.MinDecryptableVersion != 2 || !st.Versions[0].Retired || st.Versions[1].Retired || st.ActiveVersion != 2 {
		t.Errorf("retire 2: %s; want min 2, version 1 retired, 2 not", r.body)
	}
	s.wantRecords(adm, "after retiring v1", want)
	if recs, _ := s.listAll(adm, "ret", nil, 3); len(recs) != 8 {
		t.Errorf("list after retiring an empty v1: %d records; want 8", len(recs))
	}
	// Again is fine; lower is not; above the active version neither.
	if r := s.retire(adm, "ret", `{"minDecryptableVersion":2}`); r.status != http.StatusOK {
		t.Errorf("retire 2 again: %d %s; want 200", r.status, r.body)
	}
	checkProblem(t, "retire 1 after 2 (lowering)", s.retire(adm, "ret", `{"minDecryptableVersion":1}`), http.StatusConflict)
	checkProblem(t, "retire 1 after 2, forced", s.retire(adm, "ret", `{"minDecryptableVersion":1,"force":true}`), http.StatusConflict)
	checkProblem(t, "retire 3 with 2 active", s.retire(adm, "ret", `{"minDecryptableVersion":3}`), http.StatusUnprocessableEntity)
	checkProblem(t, "retire 3 with 2 active, forced", s.retire(adm, "ret", `{"minDecryptableVersion":3,"force":true}`), http.StatusUnprocessableEntity)
	if st := s.keyStatus(adm, "ret"); st.MinDecryptableVersion != 2 {
		t.Errorf("after refused retires: minimum %d; want 2", st.MinDecryptableVersion)
	}

	// Forced, over records still under v1.
	s.mustCollection("frc", custSchema)
	for i := range 4 {
		s.mustPut(adm, recPath("frc", fmt.Sprintf("old%d", i)), fmt.Sprintf(`{"email":"old%d@x","secret":"o%d"}`, i, i))
	}
	s.rotate(adm, "frc")
	live := map[string]map[string]any{}
	for _, id := range []string{"new0", "new1", "old3"} {
		p := recPath("frc", id)
		live[p] = s.docPut(adm, p, map[string]string{"id": id}, "email", id+"@x", "secret", "n-"+id)
	}
	r = s.retire(adm, "frc", `{"minDecryptableVersion":2,"force":true}`)
	if r.status != http.StatusOK {
		t.Fatalf("forced retire: %d %s; want 200", r.status, r.body)
	}
	st = s.keyStatus(adm, "frc")
	if st.MinDecryptableVersion != 2 || !st.Versions[0].Retired || st.Versions[0].Items != 3 || st.Versions[1].Items != 3 {
		t.Errorf("after a forced retire: %+v; want min 2, version 1 retired with its 3 records counted", st)
	}
	for i := range 3 {
		path := recPath("frc", fmt.Sprintf("old%d", i))
		wantGone(t, "GET "+path+" under retired v1", s.do(http.MethodGet, path, adm, nil, nil), "retired", "version 1")
		wantGone(t, "PATCH "+path+" under retired v1", s.patch(adm, path, `{"secret":"x"}`, nil), "retired")
	}
	s.wantRecords(adm, "v2 records after a forced retire", live)
	recs, _ := s.listAll(adm, "frc", nil, 2)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids) // DynamoDB lists in hash order
	if fmt.Sprint(ids) != "[new0 new1 old3]" {
		t.Errorf("list after a forced retire: %v; want [new0 new1 old3] (the retired records skipped)", ids)
	}
	if recs, _ := s.listAll(adm, "frc", url.Values{"email": {"old1@x"}}, 10); len(recs) != 0 {
		t.Errorf("search for a retired record: %d records; want none", len(recs))
	}
	r = s.do(http.MethodPost, collPath("frc", "/records:batchGet"), adm, []byte(`{"keys":[{"id":"old0"},{"id":"new0"}]}`), nil)
	if got := batchStatuses(t, r); fmt.Sprint(got) != "[410 200]" {
		t.Errorf("batchGet of a retired and a live record: statuses %v; want [410 200]", got)
	}
	// A rewrap cannot move what it cannot read: it ends, counting them.
	if j := s.waitRewrap(adm, "frc", s.startRewrap(adm, "frc").ID); j.State != "done" || j.Failed != 3 || j.Rewrapped != 0 {
		t.Errorf("rewrap after a forced retire: %+v; want done, 3 failed, none rewrapped", j)
	}
	// Writing a retired record anew makes it readable under v2.
	p0 := recPath("frc", "old0")
	live[p0] = s.docPut(adm, p0, map[string]string{"id": "old0"}, "secret", "again")
	s.wantRecords(adm, "after rewriting a retired record", live)
	if r := s.do(http.MethodDelete, recPath("frc", "old1"), adm, nil, nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE a retired record: %d %s; want 204", r.status, r.body)
	}
	wantCounts(t, "frc at the end", s.keyStatus(adm, "frc"), 1, 4)

	es := s.mustAudit(adm, "keys.retire")
	for _, w := range []struct{ coll, outcome, detail string }{
		{"ret", "conflict", "minDecryptableVersion=2 force=false"},
		{"ret", "ok", "minDecryptableVersion=2 force=false"},
		{"ret", "conflict", "minDecryptableVersion=1 force=true"},
		{"ret", "invalid", "minDecryptableVersion=3 force=true"},
		{"frc", "ok", "minDecryptableVersion=2 force=true"},
	} {
		if count(es, func(e auditEntry) bool {
			return e.Collection == w.coll && e.Outcome == w.outcome && e.Detail == w.detail && e.Token == tokAdmin
		}) == 0 {
			t.Errorf("no keys.retire audit entry %+v among %+v", w, es)
		}
	}
	if count(s.mustAudit(adm, "keys.rewrap.status"), func(e auditEntry) bool { return e.Collection == "ret" && e.Outcome == "ok" }) == 0 {
		t.Errorf("no keys.rewrap.status audit entry for ret")
	}
	if count(s.mustAudit(adm, "record.get"), func(e auditEntry) bool { return e.Collection == "frc" && e.Outcome == "gone" }) < 3 {
		t.Errorf("the reads of retired records are not audited as gone")
	}
}

// Shredding destroys a collection's keys for good, after a confirmation:
// its records answer 410 everywhere, other collections are untouched, the
// key store holds nothing of the branch key, and the trail has the
// receipt.
func TestKeysShred(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("a", custSchema)
	s.mustCollection("b", custSchema)
	for i := range 4 {
		s.mustPut(adm, recPath("a", fmt.Sprintf("a%d", i)), fmt.Sprintf(`{"email":"a%d@x","secret":"sa%d"}`, i, i))
	}
	s.rotate(adm, "a")
	s.mustPut(adm, recPath("a", "a4"), `{"email":"a4@x"}`)
	s.mustPut(adm, recPath("a", "a5"), `{"email":"a5@x"}`)
	s.mustPut(adm, recPath("a", "a0"), `{"email":"a0@x","secret":"again"}`)
	wantB := map[string]map[string]any{}
	for i := range 3 {
		p := recPath("b", fmt.Sprintf("b%d", i))
		wantB[p] = s.docPut(adm, p, map[string]string{"id": fmt.Sprintf("b%d", i)}, "email", fmt.Sprintf("b%d@x", i), "secret", fmt.Sprintf("sb%d", i))
	}
	stA, stB := s.keyStatus(adm, "a"), s.keyStatus(adm, "b")
	wantCounts(t, "a before the shred", stA, 3, 3)
	var info struct {
		Table string `json:"table"`
	}
	mustDecode(t, "GET collection a", s.do(http.MethodGet, collPath("a"), adm, nil, nil), &info)

	del := func(c, confirm string) resp {
		path := keysPath(c, "")
		if confirm != "-" {
			path += "?confirm=" + url.QueryEscape(confirm)
		}
		return s.do(http.MethodDelete, path, adm, nil, nil)
	}
	checkProblem(t, "shred without confirm", del("a", "-"), http.StatusUnprocessableEntity)
	checkProblem(t, "shred with confirm=b", del("a", "b"), http.StatusUnprocessableEntity)
	checkProblem(t, "shred with confirm=A", del("a", "A"), http.StatusUnprocessableEntity)
	checkProblem(t, "shred items", del("items", "items"), http.StatusConflict)
	s.wantRecords(adm, "b before the shred", wantB)
	if doc, _ := s.mustGetDoc(adm, recPath("a", "a1")); doc["secret"] != "sa1" {
		t.Fatalf("a after refused shreds: a1 is %v", doc)
	}

	r := del("a", "a")
	if r.status != http.StatusOK {
		t.Fatalf("shred a: %d %s; want 200", r.status, r.body)
	}
	var rec shredReceiptJSON
	mustDecode(t, "shred", r, &rec)
	if rec.BranchKeyID != stA.BranchKeyID || rec.Versions != 2 || !rec.BeaconKey || rec.Items != 6 || rec.Time.IsZero() {
		t.Errorf("shred receipt %s; want branch key %s, 2 versions, the beacon key, 6 items", r.body, stA.BranchKeyID)
	}
	if r2 := del("a", "a"); r2.status != http.StatusOK || !bytes.Equal(r2.body, r.body) {
		t.Errorf("shred a again: %d %s; want 200 and the same receipt %s", r2.status, r2.body, r.body)
	}
	if st := s.keyStatus(adm, "a"); st.Shredded == nil || *st.Shredded != rec || st.ActiveVersion != 0 || st.Items != 6 || st.ShredIncomplete {
		t.Errorf("status of a after the shred: %+v; want the receipt, complete, no active version, 6 items", st)
	}
	for _, rq := range shreddedRequests("a") {
		wantGone(t, strings.TrimSpace(rq.method+" "+rq.path+" "+string(rq.body))+" after the shred", s.do(rq.method, rq.path, adm, rq.body, rq.hdr), "shredded")
	}
	s.wantRecords(adm, "b after a's shred", wantB)
	if recs, _ := s.listAll(adm, "b", url.Values{"email": {"b1@x"}}, 10); len(recs) != 1 {
		t.Errorf("search of b after a's shred: %d records; want 1", len(recs))
	}
	s.mustPut(adm, recPath("b", "b9"), `{"email":"b9@x"}`)
	wantCounts(t, "b after a's shred", s.keyStatus(adm, "b"), 4)

	es := s.mustAudit(adm, "keys.shred")
	if n := count(es, func(e auditEntry) bool {
		return e.Collection == "a" && e.Token == tokAdmin && e.Outcome == "ok" && e.Detail == rec.detail()
	}); n != 2 { // the shred and its repetition
		t.Errorf("keys.shred entries of a with the receipt %q: %d; want 2 among %+v", rec.detail(), n, es)
	}
	if n := count(es, func(e auditEntry) bool { return e.Collection == "a" && e.Outcome == "invalid" }); n != 3 {
		t.Errorf("keys.shred entries of a refused for confirm: %d; want 3", n)
	}
	if n := count(es, func(e auditEntry) bool { return e.Collection == "items" && e.Outcome == "conflict" }); n != 1 {
		t.Errorf("keys.shred entries of items: %d; want 1 conflict", n)
	}
	if count(s.mustAudit(adm, "record.get"), func(e auditEntry) bool { return e.Collection == "a" && e.Outcome == "gone" }) == 0 {
		t.Errorf("a read of a shredded collection is not audited as gone")
	}
	all, _ := s.auditAll(adm, nil, 1000)

	s.stopIdle(t)
	rep, err := server.VerifyAudit(context.Background(), verifyConfig(t, s.dataDir), server.VerifyOptions{})
	if err != nil || len(rep.Problems) != 0 || rep.Entries != len(all) {
		t.Errorf("VerifyAudit: %+v, %v; want no problems and %d entries", rep, err, len(all))
	}
	withRaw(t, s.dataDir, func(ctx context.Context, b rawBackend) {
		ks := b.keys()
		if _, err := ks.ActiveKey(ctx, stA.BranchKeyID); err == nil {
			t.Errorf("a's ACTIVE branch key still unwraps after the shred")
		}
		if _, err := ks.BeaconKey(ctx, stA.BranchKeyID); err == nil {
			t.Errorf("a's beacon key still unwraps after the shred")
		}
		for _, v := range stA.Versions {
			if _, err := ks.KeyVersion(ctx, stA.BranchKeyID, v.ID); err == nil {
				t.Errorf("a's branch key version %d still unwraps after the shred", v.Version)
			}
		}
		for _, it := range scanAll(ctx, t, b.db, keyStoreTable) {
			if it["branch-key-id"] == attr.S(stA.BranchKeyID) {
				t.Errorf("key store item %v of a's branch key remains after the shred", it["type"])
			}
		}
		if k, err := ks.ActiveKey(ctx, stB.BranchKeyID); err != nil || k.Version != stB.Versions[0].ID {
			t.Errorf("b's active key after a's shred: version %q, %v; want %s", k.Version, err, stB.Versions[0].ID)
		}
		if _, err := ks.BeaconKey(ctx, stB.BranchKeyID); err != nil {
			t.Errorf("b's beacon key after a's shred: %v", err)
		}
		if n := len(scanAll(ctx, t, b.db, store.Table{Name: info.Table, PartitionKey: "id"})); n != 6 {
			t.Errorf("a's table holds %d items after the shred; want its 6 (unreadable) records", n)
		}
	})

	// The shred outlives a restart.
	s2 := startServer(t, opts{dataDir: s.dataDir, noHTTP: true})
	s2.tokens = s.tokens
	wantGone(t, "GET a record of a after a restart", s2.do(http.MethodGet, recPath("a", "a1"), adm, nil, nil), "shredded")
	s2.wantRecords(adm, "b after a restart", wantB)
}

// shreddedRequests are the record routes of collection c, each of which
// must answer 410 once its keys are shredded.
func shreddedRequests(c string) []bolaRequest {
	patch := map[string]string{"Content-Type": mergePatch}
	return []bolaRequest{
		{method: http.MethodGet, path: recPath(c, "a1")},
		{method: http.MethodGet, path: recPath(c, "missing")},
		{method: http.MethodPut, path: recPath(c, "a1"), body: []byte(`{"email":"new@x"}`)},
		{method: http.MethodPut, path: recPath(c, "fresh"), body: []byte(`{"email":"new@x"}`), hdr: map[string]string{"If-None-Match": "*"}},
		{method: http.MethodPatch, path: recPath(c, "a1"), body: []byte(`{"secret":"x"}`), hdr: patch},
		{method: http.MethodDelete, path: recPath(c, "a1")},
		{method: http.MethodGet, path: listPath(c, nil)},
		{method: http.MethodGet, path: listPath(c, url.Values{"email": {"a1@x"}})},
		{method: http.MethodPost, path: collPath(c, "/records:batchGet"), body: []byte(`{"keys":[{"id":"a1"}]}`)},
		{method: http.MethodPost, path: collPath(c, "/records:batchPut"), body: []byte(`{"records":[{"id":"a1","record":{"email":"x@x"}}]}`)},
		{method: http.MethodGet, path: collPath(c, "/beacons")},
		// The key routes that would change a shredded key: nothing left
		// to change, and the same answer whatever the body asks.
		{method: http.MethodPost, path: keysPath(c, ":rotate")},
		{method: http.MethodPost, path: keysPath(c, ":rewrap")},
		{method: http.MethodPut, path: keysPath(c, "/schedule"), body: []byte(`{"rotationPeriod":"720h"}`)},
		{method: http.MethodPost, path: keysPath(c, ":retire"), body: []byte(`{"minDecryptableVersion":2,"force":true}`)},
		{method: http.MethodPost, path: keysPath(c, ":retire"), body: []byte(`{"minDecryptableVersion":1}`)},
	}
}

// keyRequests are the requests of every key route of collection c.
func keyRequests(c string) []bolaRequest {
	return []bolaRequest{
		{method: http.MethodGet, path: keysPath(c, "")},
		{method: http.MethodPost, path: keysPath(c, ":rotate")},
		{method: http.MethodPost, path: keysPath(c, ":retire"), body: []byte(`{"minDecryptableVersion":1}`)},
		{method: http.MethodPost, path: keysPath(c, ":retire"), body: []byte(`{"minDecryptableVersion":1,"force":true}`)},
		{method: http.MethodPost, path: keysPath(c, ":retire"), body: []byte(`{"minDecryptableVersion":"abc"}`)},
		{method: http.MethodPut, path: keysPath(c, "/schedule"), body: []byte(`{"rotationPeriod":"720h"}`)},
		{method: http.MethodPut, path: keysPath(c, "/schedule"), body: []byte(`{"rotationPeriod":"banana"}`)},
		{method: http.MethodPost, path: keysPath(c, ":rewrap")},
		{method: http.MethodPost, path: keysPath(c, ":rewrap"), body: []byte(`{"maxRate":5}`)},
		{method: http.MethodGet, path: keysPath(c, "/rewrap")},
		{method: http.MethodDelete, path: keysPath(c, "?confirm="+c)},
		{method: http.MethodDelete, path: keysPath(c, "")},
	}
}

// The key routes need admin on the collection: a token with no scope on
// it cannot tell it from a missing one, a reader or writer gets 403; bad
// bodies are 422 and change nothing.
func TestKeysAPIErrorsAndAccess(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("x", custSchema)
	s.mustCollection("y", custSchema)
	s.mustPut(adm, recPath("x", "r1"), `{"email":"x@x","secret":"sx"}`)
	s.mustPut(adm, recPath("y", "r1"), `{"email":"y@x","secret":"sy"}`)
	xAdmin := s.mustToken(adm, "x-admin", "x:admin")
	xRW := s.mustToken(adm, "x-rw", "x:read", "x:write")
	if j := s.rewrapStatus(adm, "x"); j.State != "none" || j.Collection != "x" || j.ID != "" {
		t.Errorf("rewrap status before any job: %+v; want state none", j)
	}
	statusY := s.do(http.MethodGet, keysPath("y", ""), adm, nil, nil)

	// Another collection's keys, or a missing collection's: one 404.
	var first resp
	for _, c := range []string{"y", "nope", "items"} {
		for _, rq := range keyRequests(c) {
			what := rq.method + " " + rq.path + " as x-admin"
			r := s.do(rq.method, rq.path, xAdmin, rq.body, rq.hdr)
			checkProblem(t, what, r, http.StatusNotFound)
			if first.status == 0 {
				first = r
			}
			if !bytes.Equal(r.body, first.body) {
				t.Errorf("%s: body %s; want exactly %s", what, r.body, first.body)
			}
		}
	}
	for _, rq := range keyRequests("nope") {
		if rq.method == http.MethodDelete && !strings.Contains(rq.path, "confirm") || bytes.Contains(rq.body, []byte("abc")) || bytes.Contains(rq.body, []byte("banana")) {
			continue // refused for the request itself first
		}
		r := s.do(rq.method, rq.path, adm, rq.body, rq.hdr)
		if checkProblem(t, rq.method+" "+rq.path+" of a missing collection as *:admin", r, http.StatusNotFound); !bytes.Equal(r.body, first.body) {
			t.Errorf("%s %s of a missing collection: %s; want exactly the body x-admin got for y: %s", rq.method, rq.path, r.body, first.body)
		}
	}
	if r := s.do(http.MethodGet, keysPath("y", ""), adm, nil, nil); !bytes.Equal(r.body, statusY.body) {
		t.Errorf("y's key status after x-admin's attempts: %s; want %s", r.body, statusY.body)
	}
	if doc, _ := s.mustGetDoc(adm, recPath("y", "r1")); doc["secret"] != "sy" {
		t.Errorf("y's record after x-admin's attempts: %v", doc)
	}
	if j := s.rewrapStatus(adm, "y"); j.State != "none" {
		t.Errorf("y's rewrap after x-admin's attempts: %+v; want none", j)
	}

	// Read and write on x, not admin: 403 on each of x's key routes.
	for _, tok := range []string{xRW, s.tokens[tokRW]} {
		c := "x"
		if tok == s.tokens[tokRW] {
			c = "items"
		}
		for _, rq := range keyRequests(c) {
			checkProblem(t, rq.method+" "+rq.path+" without admin", s.do(rq.method, rq.path, tok, rq.body, rq.hdr), http.StatusForbidden)
		}
	}
	for _, rq := range keyRequests("x") {
		checkProblem(t, rq.method+" "+rq.path+" without a token", s.do(rq.method, rq.path, "", rq.body, rq.hdr), http.StatusUnauthorized)
	}
	denied := s.mustAudit(adm, "keys.rotate")
	if count(denied, func(e auditEntry) bool { return e.Token == "x-rw" && e.Collection == "x" && e.Outcome == "denied" }) != 1 ||
		count(denied, func(e auditEntry) bool { return e.Token == "x-admin" && e.Collection == "y" && e.Outcome == "denied" }) != 1 {
		t.Errorf("keys.rotate audit entries %+v; want one denied to x-rw on x and one to x-admin on y", denied)
	}

	// Bad bodies: 422, nothing changes.
	before := s.do(http.MethodGet, keysPath("x", ""), adm, nil, nil)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPost, ":retire", `{"minDecryptableVersion":0}`},
		{http.MethodPost, ":retire", `{"minDecryptableVersion":-1,"force":true}`},
		{http.MethodPost, ":retire", `{"minDecryptableVersion":"abc"}`},
		{http.MethodPost, ":retire", `{"minDecryptableVersion":1.5}`},
		{http.MethodPost, ":retire", `{"force":true}`},
		{http.MethodPost, ":retire", `{}`},
		{http.MethodPost, ":retire", `{"minDecryptableVersion":2}`},
		{http.MethodPost, ":retire", `{"minDecryptableVersion":2,"force":true}`},
		{http.MethodPut, "/schedule", `{"rotationPeriod":"10m"}`},
		{http.MethodPut, "/schedule", `{"rotationPeriod":"59m59s"}`},
		{http.MethodPut, "/schedule", `{"rotationPeriod":"banana"}`},
		{http.MethodPut, "/schedule", `{"rotationPeriod":"-720h"}`},
		{http.MethodPut, "/schedule", `{"rotationPeriod":720}`},
		{http.MethodPost, ":rewrap", `{"maxRate":-1}`},
		{http.MethodPost, ":rewrap", `{"maxRate":"fast"}`},
		{http.MethodPost, ":rewrap", `{"maxRate":100001}`},
		{http.MethodPost, ":rewrap", `{"maxRate":2000000000}`},
	} {
		what := tc.method + " " + tc.path + " " + tc.body
		r := s.do(tc.method, keysPath("x", tc.path), adm, []byte(tc.body), nil)
		checkProblem(t, what, r, http.StatusUnprocessableEntity)
		if after := s.do(http.MethodGet, keysPath("x", ""), adm, nil, nil); !bytes.Equal(after.body, before.body) {
			t.Errorf("%s changed the key status: %s; was %s", what, after.body, before.body)
		}
	}
	if j := s.rewrapStatus(adm, "x"); j.State != "none" {
		t.Errorf("rewrap status after refused rewraps: %+v; want none", j)
	}

	// Good schedules, for contrast: set, shown with the next rotation, cleared.
	r := s.do(http.MethodPut, keysPath("x", "/schedule"), adm, []byte(`{"rotationPeriod":"720h"}`), nil)
	var st keyStatusJSON
	if r.status != http.StatusOK {
		t.Fatalf("schedule 720h: %d %s; want 200", r.status, r.body)
	}
	mustDecode(t, "schedule", r, &st)
	if d, err := time.ParseDuration(st.RotationPeriod); err != nil || d != 720*time.Hour || st.NextRotation == nil ||
		!st.NextRotation.Equal(st.Versions[0].Activated.Add(720*time.Hour)) {
		t.Errorf("schedule 720h: %s; want period 720h and the next rotation 720h after activation", r.body)
	}
	r = s.do(http.MethodPut, keysPath("x", "/schedule"), adm, []byte(`{"rotationPeriod":""}`), nil)
	if r.status != http.StatusOK {
		t.Fatalf("schedule off: %d %s; want 200", r.status, r.body)
	}
	if after := s.do(http.MethodGet, keysPath("x", ""), adm, nil, nil); !bytes.Equal(after.body, before.body) {
		t.Errorf("key status after setting and clearing a schedule: %s; want %s", after.body, before.body)
	}
}
