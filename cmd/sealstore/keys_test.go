package main

// End-to-end tests of "sealstore keys": each command runs as a subprocess
// against a real "sealstore serve" (another subprocess), trusting it
// through the data directory's certificate or its pinned fingerprint, with
// the token in SEALSTORE_TOKEN only.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/internal/syncbuf"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/store"
)

// keysTimeout bounds one keys command. A rewrap that follows a job left
// by a killed DynamoDB server waits for the job's lease (15 s) first.
const keysTimeout = 2 * time.Minute

// keysTarget is a running server and how keys commands reach it.
type keysTarget struct {
	p        *proc
	admin    string // a *:admin token
	certFile string // the certificate the server presents
	// secrets are tokens no command may ever print.
	secrets []string
}

// keysRun is the outcome of one keys command.
type keysRun struct {
	stdout, stderr string
	both           string // stdout and stderr as they came (roughly)
	code           int
}

func (r keysRun) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// env is the default environment of a keys command: the admin token, the
// server's address and its certificate as the CA.
func (k *keysTarget) env() []string {
	return []string{"SEALSTORE_TOKEN=" + k.admin, "SEALSTORE_ADDR=https://" + k.p.addr, "SEALSTORE_CA=" + k.certFile}
}

// run runs "sealstore keys ARGS..." with k.env().
func (k *keysTarget) run(t *testing.T, args ...string) keysRun {
	t.Helper()
	return k.runEnv(t, k.env(), args...)
}

// runEnv runs "sealstore keys ARGS..." with childEnv() plus env (and no
// late race report wait). It never calls t.Fatal, so that it can run in a
// goroutine of its own. Any token in k.secrets or env in its output is an
// error.
func (k *keysTarget) runEnv(t *testing.T, env []string, args ...string) keysRun {
	t.Helper()
	return k.runCommand(t, env, append([]string{"keys"}, args...)...)
}

// runCommand runs "sealstore ARGS..." as runEnv does.
func (k *keysTarget) runCommand(t *testing.T, env []string, args ...string) keysRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), keysTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sealstore", args...)
	for _, kv := range childEnv() {
		if !strings.HasPrefix(kv, "GORACE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	var both syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, &both), io.MultiWriter(&errb, &both)
	err := cmd.Run()
	r := keysRun{stdout: out.String(), stderr: errb.String(), both: both.String(), code: -2}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Errorf("sealstore %s did not finish within %v; stderr %q", strings.Join(args, " "), keysTimeout, r.stderr)
		return r
	case err != nil && !errors.As(err, &ee):
		t.Errorf("sealstore %s: %v", strings.Join(args, " "), err)
		return r
	}
	r.code = cmd.ProcessState.ExitCode()
	if strings.Contains(r.stderr, "DATA RACE") {
		t.Errorf("sealstore %s reported a data race:\n%s", strings.Join(args, " "), r.stderr)
	}
	secrets := slices.Clone(k.secrets)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SEALSTORE_TOKEN="); ok && len(v) > 8 && !slices.Contains(secrets, v) {
			secrets = append(secrets, v)
		}
	}
	for _, s := range secrets {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("sealstore %s printed a token: %v", strings.Join(args, " "), r)
		}
	}
	return r
}

// want checks r: its exit code, stdout against a regexp that must match
// all of it (empty: no output), and stderr containing stderrHas (empty:
// no output).
func (r keysRun) want(t *testing.T, what string, code int, stdoutRE, stderrHas string) {
	t.Helper()
	okOut := r.stdout == ""
	if stdoutRE != "" {
		okOut = regexp.MustCompile(`^(?s:` + stdoutRE + `)$`).MatchString(r.stdout)
	}
	okErr := r.stderr == ""
	if stderrHas != "" {
		okErr = strings.Contains(r.stderr, stderrHas)
	}
	if r.code != code || !okOut || !okErr {
		t.Errorf("%s: %v\nwant exit %d, stdout matching %q, stderr containing %q", what, r, code, stdoutRE, stderrHas)
	}
}

// api sends a request to the server with token and decodes a 2xx answer
// into out (if not nil); it returns the status.
func (k *keysTarget) api(t *testing.T, token, method, path string, body, out any) int {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	r := k.p.do(t.Context(), method, path, token, b)
	if r.err != nil {
		t.Fatalf("%s %s: %v", method, path, r.err)
	}
	if out != nil && r.status/100 == 2 {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: %d with a body that does not decode: %v: %s", method, path, r.status, err, r.body)
		}
	}
	return r.status
}

func collPath(coll string) string { return "/v1/collections/" + url.PathEscape(coll) }

// createCollection creates coll with partition key "id".
func (k *keysTarget) createCollection(t *testing.T, coll string) {
	t.Helper()
	if st := k.api(t, k.admin, http.MethodPut, collPath(coll), map[string]string{"partitionKey": "id"}, nil); st != http.StatusCreated {
		t.Fatalf("PUT %s: %d, want 201", collPath(coll), st)
	}
}

// createToken creates a token with scopes and returns it.
func (k *keysTarget) createToken(t *testing.T, name string, scopes ...string) string {
	t.Helper()
	var out struct{ Token string }
	if st := k.api(t, k.admin, http.MethodPost, "/v1/tokens", map[string]any{"name": name, "scopes": scopes}, &out); st != http.StatusCreated || !tokenRE.MatchString(out.Token) {
		t.Fatalf("POST /v1/tokens %s: %d, token %q; want 201 and a token", name, st, out.Token)
	}
	k.secrets = append(k.secrets, out.Token)
	return out.Token
}

// putRecords stores n records in coll through batchPut and returns them
// by id.
func (k *keysTarget) putRecords(t *testing.T, coll string, n int) map[string]map[string]any {
	t.Helper()
	docs := map[string]map[string]any{}
	type entry struct {
		ID     string         `json:"id"`
		Record map[string]any `json:"record"`
	}
	var batches [][]entry
	for i := range n {
		id := fmt.Sprintf("rec-%04d", i)
		doc := map[string]any{"id": id, "secret": newSecret(id, 40+i%200), "n": float64(i)}
		docs[id] = doc
		if i%25 == 0 {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], entry{id, doc})
	}
	var wg sync.WaitGroup
	var bad atomic.Bool
	for _, b := range batches {
		wg.Go(func() {
			var out struct{ Results []struct{ Status int } }
			st := k.api(t, k.admin, http.MethodPost, collPath(coll)+"/records:batchPut", map[string]any{"records": b}, &out)
			if st != http.StatusOK || len(out.Results) != len(b) {
				t.Errorf("batchPut of %d records: %d, %d results", len(b), st, len(out.Results))
				bad.Store(true)
				return
			}
			for i, r := range out.Results {
				if r.Status/100 != 2 {
					t.Errorf("batchPut %s: status %d", b[i].ID, r.Status)
					bad.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() {
		t.FailNow()
	}
	return docs
}

// snapshot reads every record of docs through batchGet, requires each to
// be exactly as stored, and returns their entity tags by id.
func (k *keysTarget) snapshot(t *testing.T, coll string, docs map[string]map[string]any) map[string]string {
	t.Helper()
	var ids []string
	for id := range docs {
		ids = append(ids, id)
	}
	etags := map[string]string{}
	bad := 0
	for len(ids) > 0 {
		n := min(len(ids), 100)
		keys := make([]map[string]string, n)
		for i, id := range ids[:n] {
			keys[i] = map[string]string{"id": id}
		}
		var out struct {
			Results []struct {
				ID, ETag, Error string
				Status          int
				Record          map[string]any
			}
		}
		if st := k.api(t, k.admin, http.MethodPost, collPath(coll)+"/records:batchGet", map[string]any{"keys": keys}, &out); st != http.StatusOK {
			t.Fatalf("batchGet: %d", st)
		}
		for _, r := range out.Results {
			switch {
			case r.Status != http.StatusOK:
				t.Errorf("batchGet %s: %d %s", r.ID, r.Status, r.Error)
			case !reflect.DeepEqual(r.Record, docs[r.ID]):
				t.Errorf("batchGet %s: %v, want %v", r.ID, r.Record, docs[r.ID])
			case r.ETag == "":
				t.Errorf("batchGet %s: no etag", r.ID)
			default:
				etags[r.ID] = r.ETag
				continue
			}
			bad++
		}
		ids = ids[n:]
	}
	if bad > 0 || len(etags) != len(docs) {
		t.Fatalf("batchGet: %d of %d records read back exactly", len(etags), len(docs))
	}
	return etags
}

// readEach reads every record of docs with GET and requires its body to
// be exact and its ETag header to be etags[id].
func (k *keysTarget) readEach(t *testing.T, coll string, docs map[string]map[string]any, etags map[string]string) {
	t.Helper()
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range ids {
				k.readOne(t, coll, id, docs[id], etags[id])
			}
		})
	}
	for id := range docs {
		ids <- id
	}
	close(ids)
	wg.Wait()
}

func (k *keysTarget) readOne(t *testing.T, coll, id string, doc map[string]any, etag string) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, k.p.url(collPath(coll)+"/records/"+url.PathEscape(id)), nil)
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+k.admin)
	resp, err := k.p.client.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", id, err)
		return
	}
	defer resp.Body.Close()
	var got map[string]any
	err = json.NewDecoder(resp.Body).Decode(&got)
	switch {
	case resp.StatusCode != http.StatusOK || err != nil:
		t.Errorf("GET %s: %d (%v)", id, resp.StatusCode, err)
	case !reflect.DeepEqual(got, doc):
		t.Errorf("GET %s: %v, want %v", id, got, doc)
	case resp.Header.Get("ETag") != etag:
		t.Errorf("GET %s: ETag %s, batchGet said %s", id, resp.Header.Get("ETag"), etag)
	}
}

func (k *keysTarget) rewrapJob(t *testing.T, coll string) records.RewrapJob {
	t.Helper()
	var job records.RewrapJob
	if st := k.api(t, k.admin, http.MethodGet, collPath(coll)+"/keys/rewrap", nil, &job); st != http.StatusOK {
		t.Fatalf("GET %s/keys/rewrap: %d", collPath(coll), st)
	}
	return job
}

func (k *keysTarget) keyStatus(t *testing.T, coll string) records.KeyStatus {
	t.Helper()
	var st records.KeyStatus
	if code := k.api(t, k.admin, http.MethodGet, collPath(coll)+"/keys", nil, &st); code != http.StatusOK {
		t.Fatalf("GET %s/keys: %d", collPath(coll), code)
	}
	return st
}

// statusRow is a row of the "keys status" table.
type statusRow struct {
	version int
	id      string
	state   string
	records int64
}

// checkStatusTable parses the table "keys status" printed in out (after
// its first line and the optional rotation line) and requires it to show
// want, with st's version ids.
func checkStatusTable(t *testing.T, out string, st records.KeyStatus, want []statusRow) {
	t.Helper()
	ls := lines(out)
	i := slices.IndexFunc(ls, func(l string) bool { return strings.HasPrefix(l, "VERSION ") })
	if i < 0 || strings.Join(strings.Fields(ls[i]), " ") != "VERSION ID CREATED STATE RECORDS" {
		t.Errorf("keys status: no table header in\n%s", out)
		return
	}
	var got []statusRow
	for _, l := range ls[i+1:] {
		f := strings.Fields(l)
		if len(f) < 5 {
			t.Errorf("keys status: table row %q", l)
			continue
		}
		v, err1 := strconv.Atoi(f[0])
		n, err2 := strconv.ParseInt(f[len(f)-1], 10, 64)
		_, err3 := time.Parse(time.RFC3339, f[2])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Errorf("keys status: table row %q", l)
		}
		got = append(got, statusRow{v, f[1], strings.Join(f[3:len(f)-1], " "), n})
	}
	for j := range want {
		if j < len(st.Versions) {
			want[j].id = st.Versions[j].ID
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keys status table: %+v, want %+v\n%s", got, want, out)
	}
}

// summaryRE is the last line of a followed rewrap.
var summaryRE = regexp.MustCompile(`^rewrap of (\S+): (\w+) — (\d+) rewrapped, (\d+) retried, (\d+) skipped, (\d+) failed, (\d+) pass(?:es)?, resumed (\d+) times?\n$`)

// startBolt returns a function that starts a server on dir (a new one the
// first time), for rewrapAcrossKill.
func startBolt(t *testing.T, dir string) func() *keysTarget {
	var admin string
	return func() *keysTarget {
		p := startServer(t, dir)
		if admin == "" {
			admin = p.bootstrap
		}
		if admin == "" {
			t.Fatal("no bootstrap token")
		}
		return &keysTarget{p: p, admin: admin, certFile: filepath.Join(dir, datadir.CertFile), secrets: []string{admin}}
	}
}

// TestKeysRewrapSurvivesSIGKILL: see rewrapAcrossKill. On the embedded
// store the restarted server resumes the job at once, so the records as
// the kill left them are read from the database file itself.
func TestKeysRewrapSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rewrapAcrossKill(t, startBolt(t, dir), func(table string) map[string]string {
		return boltETags(t, dir, table)
	})
}

// boltETags reads the entity tags of the records of table straight from
// the database in dir, as records.etagOf computes them.
func boltETags(t *testing.T, dir, table string) map[string]string {
	t.Helper()
	db, err := datadir.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	etags := map[string]string{}
	var cursor []byte
	for {
		page, err := db.Scan(t.Context(), store.Table{Name: table, PartitionKey: "id"}, cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			id, _ := it["id"].(attr.S)
			head, _ := it[item.HeaderAttr].(attr.B)
			sum := sha256.Sum256(head)
			etags[string(id)] = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		}
		if page.Next == nil {
			return etags
		}
		cursor = page.Next
	}
}

// snapshotAt is the records' entity tags at some point of a test.
type snapshotAt struct {
	when  string
	etags map[string]string
}

// rewrappedOnce requires every record's entity tag to change exactly once
// over snaps (the first taken before the rewrap, the last after it): a
// record rewritten twice was rewrapped again after it was done.
func rewrappedOnce(t *testing.T, snaps []snapshotAt) {
	t.Helper()
	first, last := snaps[0], snaps[len(snaps)-1]
	bad := 0
	for id, orig := range first.etags {
		changedAt := -1
		for i, s := range snaps[1:] {
			switch {
			case changedAt < 0 && s.etags[id] != orig:
				changedAt = i + 1
			case changedAt >= 0 && s.etags[id] != snaps[changedAt].etags[id]:
				t.Errorf("record %s was rewritten twice: %s %s, then %s %s", id, snaps[changedAt].when, snaps[changedAt].etags[id], s.when, s.etags[id])
				bad++
				changedAt = i + 1
			}
		}
		if last.etags[id] == orig {
			t.Errorf("record %s was never rewrapped: %s throughout", id, orig)
			bad++
		}
		if bad > 20 {
			t.Fatal("too many failures")
		}
	}
}

// changed counts the records whose entity tag differs in b from a.
func changed(a, b map[string]string) int {
	n := 0
	for id, e := range a {
		if b[id] != e {
			n++
		}
	}
	return n
}

// rewrapAcrossKill rotates the key of a collection of 600 records, starts
// a rewrap at 50 records a second, kills the server with SIGKILL when
// about half is done (in the middle of a page; 7 s of work remain, time
// for the test to act on a loaded machine), starts it again on the
// same data and finishes the rewrap with "keys rewrap": every record must
// read back exactly, all must end under the new version, the job must be
// the same one, resumed, and no record may be rewritten twice (its entity
// tag changes once). start starts a server on the test's data (the same
// data each time); offline, if not nil, reads the records' entity tags
// with no server running (where a restart resumes the job at once).
func rewrapAcrossKill(t *testing.T, start func() *keysTarget, offline func(table string) map[string]string) {
	const coll, n = "c", 600
	k := start()
	k.createCollection(t, coll)
	docs := k.putRecords(t, coll, n)
	var info struct{ Table string }
	if st := k.api(t, k.admin, http.MethodGet, collPath(coll), nil, &info); st != http.StatusOK || info.Table == "" {
		t.Fatalf("GET %s: %d, table %q", collPath(coll), st, info.Table)
	}
	k.run(t, "rotate", coll).want(t, "keys rotate", 0,
		`collection c: version 2 \([0-9a-f-]{36}\) is now active; older records keep reading until retired\n`, "")
	snaps := []snapshotAt{{"after the rotation", k.snapshot(t, coll, docs)}}

	r := k.run(t, "rewrap", coll, "--max-rate", "50", "--detach")
	r.want(t, "keys rewrap --detach", 0, `rewrap of c: running \(job \S+\); follow it with 'sealstore keys rewrap c' or GET /v1/collections/c/keys/rewrap\n`, "")
	m := regexp.MustCompile(`\(job (\S+)\)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("keys rewrap --detach: no job id: %v", r)
	}
	jobID := m[1]

	// Pages hold 100 records: kill in the middle of the third.
	const killAt = n/3 + 50
	deadline := time.Now().Add(2 * time.Minute)
	for {
		job := k.rewrapJob(t, coll)
		if job.State != records.JobRunning || job.ID != jobID {
			t.Fatalf("before the kill the job is %+v; want job %s running (is --max-rate 50 honoured?)", job, jobID)
		}
		if job.Rewrapped >= killAt {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rewrap reached only %+v in 2 minutes", job)
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.p.signal(syscall.SIGKILL)
	if code := k.p.wait(exitTimeout); code != -1 {
		t.Fatalf("after SIGKILL: exit %d, want death by signal", code)
	}
	if offline != nil {
		snaps = append(snaps, snapshotAt{"at the kill", offline(info.Table)})
	}

	k2 := start()
	// Follow the rewrap at once (on the embedded store the restart has
	// resumed it already; on DynamoDB it resumes once its lease is out),
	// and meanwhile read the records as they are.
	follow := make(chan keysRun, 1)
	go func() { follow <- k2.run(t, "rewrap", coll) }()
	snaps = append(snaps, snapshotAt{"after the restart", k2.snapshot(t, coll, docs)})
	if offline == nil {
		if job := k2.rewrapJob(t, coll); job.Resumed != 0 {
			t.Logf("the job resumed before the records were read after the restart: %+v", job)
		}
	}
	if done := changed(snaps[0].etags, snaps[1].etags); done < killAt || done == n {
		t.Fatalf("%d of %d records rewrapped %s; want at least %d and not all", done, n, snaps[1].when, killAt)
	} else {
		t.Logf("%d of %d records rewrapped %s", done, n, snaps[1].when)
	}
	r = <-follow
	if r.code != 0 || !summaryRE.MatchString(r.stdout) {
		t.Fatalf("keys rewrap (resuming): %v; want exit 0 and a summary line", r)
	}
	f := summaryRE.FindStringSubmatch(r.stdout)
	if f[1] != coll || f[2] != records.JobDone || f[6] != "0" || f[7] != "2" || f[8] == "0" {
		t.Errorf("keys rewrap (resuming): %q; want c done, 0 failed, 2 passes, resumed at least once", r.stdout)
	}
	for _, l := range lines(r.stderr) {
		// On DynamoDB the job waits for its lease to run out, and the
		// command says why nothing moves meanwhile.
		if l != "resuming the rewrap of c (job "+jobID+")" && !progressRE.MatchString(l) && !strings.HasPrefix(l, "no progress for ") {
			t.Errorf("keys rewrap (resuming): unexpected stderr line %q", l)
		}
	}
	t.Logf("keys rewrap after the restart:\n%s%s", r.stdout, r.stderr)

	snaps = append(snaps, snapshotAt{"at the end", k2.snapshot(t, coll, docs)})
	rewrappedOnce(t, snaps)
	k2.readEach(t, coll, docs, snaps[len(snaps)-1].etags)

	job := k2.rewrapJob(t, coll)
	t.Logf("job: %+v", job)
	if job.ID != jobID || job.State != records.JobDone || job.Resumed < 1 || job.Failed != 0 || job.ToRewrap != n || job.Pass != 2 {
		t.Errorf("job after the restart: %+v; want job %s done, resumed at least once, 0 failed, %d to rewrap, 2 passes", job, jobID, n)
	}
	if job.Rewrapped+job.Skipped != n {
		t.Errorf("the resumed job reports %d rewrapped + %d skipped = %d, but all %d records were rewrapped: "+
			"those of the page under way at the kill must count as skipped when found already rewrapped",
			job.Rewrapped, job.Skipped, job.Rewrapped+job.Skipped, n)
	}

	st := k2.keyStatus(t, coll)
	if st.ActiveVersion != 2 || st.Items != n || st.OtherItems != 0 || len(st.Versions) != 2 || st.Versions[0].Items != 0 || st.Versions[1].Items != n {
		t.Errorf("key status after the rewrap: %+v; want every record under the active version 2", st)
	}
	r = k2.run(t, "status", coll)
	r.want(t, "keys status", 0, `collection c: branch key \S+, active version 2, minimum decryptable version 1, 600 records\n.*`, "")
	checkStatusTable(t, r.stdout, st, []statusRow{{1, "", "decryptable", 0}, {2, "", "active", n}})
	k2.p.stop()
}

// progressRE is a progress line of a followed rewrap: a fraction, or,
// during a first count (no total yet), the records counted.
var progressRE = regexp.MustCompile(`^\[[#.]{30}\] +(?:(\d+)% pass \d+ (counting|rewrapping) +(\d+)/(\d+) records|pass \d+ counting +\d+ records? counted), (\d+) rewrapped, \d+/s$`)

// TestKeysRewrapProgress: a followed rewrap with stderr not a terminal
// prints a plain progress line every 5 s, before the summary on stdout.
func TestKeysRewrapProgress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := startBolt(t, dir)()
	// 150 records at 10/s: 15 s, three progress lines' worth, so a
	// poll delayed on a loaded machine cannot leave none.
	const coll, n = "p", 150
	k.createCollection(t, coll)
	docs := k.putRecords(t, coll, n)
	k.run(t, "rotate", coll).want(t, "keys rotate", 0, `collection p: version 2 .*\n`, "")

	start := time.Now()
	r := k.run(t, "rewrap", coll, "--max-rate", "10")
	t.Logf("keys rewrap --max-rate 10 of %d records: %v in %v", n, r, time.Since(start).Round(time.Millisecond))
	r.want(t, "keys rewrap --max-rate 10", 0, `rewrap of p: done — 150 rewrapped, 0 retried, 0 skipped, 0 failed, 2 passes, resumed 0 times\n`, "% pass ")
	progress := 0
	for _, l := range strings.SplitAfter(r.stderr, "\n") {
		if l == "" {
			continue
		}
		m := progressRE.FindStringSubmatch(strings.TrimSuffix(l, "\n"))
		if m == nil || !strings.HasSuffix(l, "\n") {
			t.Errorf("stderr line %q is not a plain progress line (want %s, no terminal control)", l, progressRE)
			continue
		}
		if pct, _ := strconv.Atoi(m[1]); pct > 100 {
			t.Errorf("progress line %q: over 100%%", l)
		}
		progress++
	}
	if progress == 0 {
		t.Errorf("keys rewrap printed no progress line in %v", time.Since(start))
	} else if p, d := strings.Index(r.both, "% pass "), strings.Index(r.both, "rewrap of p: done"); p > d {
		t.Errorf("the progress came after the summary:\n%s", r.both)
	}
	if d := time.Since(start); d < 10*time.Second {
		t.Errorf("the rewrap of %d records at 10/s took %v: --max-rate was not honoured", n, d)
	}
	k.snapshot(t, coll, docs)
	k.p.stop()
}

// TestKeysRewrapInterrupted: Ctrl-C on a followed rewrap stops following,
// says so and exits 1; the job goes on in the server.
func TestKeysRewrapInterrupted(t *testing.T) {
	t.Parallel()
	k := startBolt(t, t.TempDir())()
	const coll, n = "i", 100
	k.createCollection(t, coll)
	k.putRecords(t, coll, n)
	k.run(t, "rotate", coll).want(t, "keys rotate", 0, `collection i: version 2 .*\n`, "")

	// The command runs with a token of its own, so that its progress
	// requests can be told apart in the audit trail.
	follower := k.createToken(t, "follower", coll+":admin")
	cmd := exec.Command("sealstore", "keys", "rewrap", coll, "--max-rate", "5")
	cmd.Env = append(childEnv(), "SEALSTORE_TOKEN="+follower, "SEALSTORE_ADDR=https://"+k.p.addr, "SEALSTORE_CA="+k.certFile)
	var out, errb syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Once the command follows the job (20 s of work at 5/s), that is once
	// its first progress request is in the audit trail, interrupt it.
	deadline := time.Now().Add(time.Minute)
	for !k.audited(t, "keys.rewrap.status", coll, "follower") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the command asked for no progress in a minute; stderr %q", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("keys rewrap still running 30 s after SIGINT; stderr %q", errb.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "stopped following; the rewrap goes on") {
		t.Errorf("keys rewrap after SIGINT: %v, stdout %q, stderr %q; want exit 1 saying the rewrap goes on", err, out.String(), errb.String())
	}
	if job := k.rewrapJob(t, coll); job.State != records.JobRunning {
		t.Errorf("the job after the command was interrupted: %+v; want it running in the server", job)
	}
	k.p.stop()
}

// audited says whether the audit trail holds an entry of action on coll by
// the token named name. Filtered pages may come back empty with a cursor
// (the filter is applied to each page read): every page is read.
func (k *keysTarget) audited(t *testing.T, action, coll, name string) bool {
	t.Helper()
	q := url.Values{"action": {action}, "collection": {coll}, "token": {name}}
	for {
		var page struct {
			Entries []struct{ Token string } `json:"entries"`
			Cursor  string                   `json:"cursor"`
		}
		if st := k.api(t, k.admin, http.MethodGet, "/v1/audit?"+q.Encode(), nil, &page); st != http.StatusOK {
			t.Fatalf("GET /v1/audit: %d", st)
		}
		if len(page.Entries) > 0 {
			return true
		}
		if page.Cursor == "" {
			return false
		}
		q.Set("cursor", page.Cursor)
	}
}

// TestKeysCLI runs every keys command against a server on the embedded
// store: status, rotate, retire (refused while records remain under the
// old version), rewrap, schedule, shred; and the connection settings:
// trust by CA or fingerprint, the token, the address.
func TestKeysCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := startBolt(t, dir)()
	const coll, n = "c", 20
	k.createCollection(t, coll)
	docs := k.putRecords(t, coll, n)

	r := k.run(t, "status", coll)
	r.want(t, "keys status", 0, `collection c: branch key \S+, active version 1, minimum decryptable version 1, 20 records\nVERSION .*`, "")
	checkStatusTable(t, r.stdout, k.keyStatus(t, coll), []statusRow{{1, "", "active", n}})

	r = k.run(t, "rotate", coll)
	r.want(t, "keys rotate", 0, `collection c: version 2 \([0-9a-f-]{36}\) is now active; older records keep reading until retired\n`, "")
	st := k.keyStatus(t, coll)
	if len(st.Versions) != 2 || !strings.Contains(r.stdout, "("+st.Versions[1].ID+")") {
		t.Errorf("keys rotate printed %q; key status has %+v", r.stdout, st.Versions)
	}
	r = k.run(t, "status", coll)
	checkStatusTable(t, r.stdout, st, []statusRow{{1, "", "decryptable", n}, {2, "", "active", 0}})

	// Retiring version 1 is refused while its records remain.
	k.run(t, "retire", coll, "--min-version", "2").want(t, "keys retire before the rewrap", 1, "",
		"sealstore keys retire c: 409 Conflict: 20 records are still under key version 1, below 2: rewrap them first")
	k.run(t, "retire", coll).want(t, "keys retire without --min-version", 2, "", "--min-version N")
	k.run(t, "retire", coll, "--min-version", "3").want(t, "keys retire --min-version 3", 1, "", "422 Unprocessable Entity: --min-version must be at most the active version (2)")
	if st := k.keyStatus(t, coll); st.MinDecryptableVersion != 1 {
		t.Errorf("after refused retires the minimum decryptable version is %d", st.MinDecryptableVersion)
	}
	k.run(t, "rewrap", coll).want(t, "keys rewrap", 0,
		`rewrap of c: done — 20 rewrapped, 0 retried, 0 skipped, 0 failed, 2 passes, resumed 0 times\n`, "")
	r = k.run(t, "retire", coll, "--min-version", "2")
	r.want(t, "keys retire after the rewrap", 0, `collection c: versions below 2 are retired\ncollection c: branch key \S+, active version 2, minimum decryptable version 2, 20 records\n.*`, "")
	st = k.keyStatus(t, coll)
	checkStatusTable(t, r.stdout, st, []statusRow{{1, "", "retired", 0}, {2, "", "active", n}})
	k.run(t, "retire", coll, "--min-version", "1").want(t, "keys retire --min-version 1 (lowering)", 1, "", "409")
	k.snapshot(t, coll, docs)

	// Automatic rotation.
	before := time.Now()
	r = k.run(t, "schedule", coll, "--every", "720h")
	r.want(t, "keys schedule --every 720h", 0, `collection c: rotates every 720h0m0s; next at \S+\n`, "")
	if m := regexp.MustCompile(`next at (\S+)\n`).FindStringSubmatch(r.stdout); m != nil {
		next, err := time.Parse(time.RFC3339, m[1])
		if err != nil || next.Before(before.Add(719*time.Hour)) || next.After(before.Add(721*time.Hour)) {
			t.Errorf("keys schedule: next rotation %q, want about 720h from now (%v)", m[1], err)
		}
	}
	k.run(t, "status", coll).want(t, "keys status with a schedule", 0,
		`collection c: .*\nautomatic rotation every 720h0m0s, next at \S+\nVERSION .*`, "")
	k.run(t, "schedule", coll, "--every", "off").want(t, "keys schedule --every off", 0, "collection c: automatic rotation is off\n", "")
	if st := k.keyStatus(t, coll); st.RotationPeriod != "" || st.NextRotation != nil {
		t.Errorf("after --every off: %+v", st)
	}
	k.run(t, "schedule", coll, "--every", "10m").want(t, "keys schedule --every 10m", 1, "", "422 Unprocessable Entity: --every must be at least 1h0m0s")
	k.run(t, "schedule", coll, "--every", "soon").want(t, "keys schedule --every soon", 2, "", "must be a duration")
	k.run(t, "schedule", coll).want(t, "keys schedule without --every", 2, "", "--every DURATION")
	if st := k.keyStatus(t, coll); st.RotationPeriod != "" {
		t.Errorf("refused schedules changed the period to %q", st.RotationPeriod)
	}

	keysConnection(t, k, coll)
	keysUsageErrors(t, k, coll)

	// Shred: refused without --confirm or with another name.
	k.run(t, "shred", coll).want(t, "keys shred without --confirm", 2, "", "--confirm c")
	k.run(t, "shred", coll, "--confirm", "other").want(t, "keys shred --confirm other", 1, "", "422 Unprocessable Entity: --confirm must repeat the collection's name")
	k.snapshot(t, coll, docs) // nothing destroyed
	r = k.run(t, "shred", coll, "--confirm", coll)
	r.want(t, "keys shred --confirm c", 0,
		`collection c shredded at \S+: destroyed branch key \S+: 2 versions and its beacon key; 20 records made unreadable\n`, "")
	k.run(t, "status", coll).want(t, "keys status after the shred", 0,
		`collection c: SHREDDED at \S+: destroyed branch key \S+: 2 versions and its beacon key; 20 records made unreadable; 20 records remain stored, unreadable\n`, "")
	if r := k.p.do(t.Context(), http.MethodGet, collPath(coll)+"/records/rec-0000", k.admin, nil); r.status/100 != 4 {
		t.Errorf("GET a record after the shred: %v, want a refusal", r)
	}
	k.run(t, "rotate", coll).want(t, "keys rotate after the shred", 1, "", "410")
	k.p.stop()
	for _, s := range k.secrets {
		if strings.Contains(k.p.stderr.String(), s) || s != k.admin && strings.Contains(strings.Join(k.p.stdout(), "\n"), s) {
			t.Errorf("the server's output holds a token (only the banner may show the bootstrap token)")
		}
	}
}

// keysConnection checks how keys commands find and trust the server and
// present the token.
func keysConnection(t *testing.T, k *keysTarget, coll string) {
	t.Helper()
	addr := "https://" + k.p.addr
	reader := k.createToken(t, "reader", coll+":read")
	otherAdmin := k.createToken(t, "other-admin", "other:admin")
	_, _, otherFP := makeCert(t, "other")
	otherCA, _, _ := makeCert(t, "other CA")
	otherCAFile := filepath.Join(t.TempDir(), "other.pem")
	writeFile(t, otherCAFile, otherCA)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	writeFile(t, notPEM, []byte("not a certificate"))
	lowerFP := strings.ToLower(strings.ReplaceAll(k.p.fingerprint, ":", ""))
	statusOK := `collection c: branch key .*`
	tok := "SEALSTORE_TOKEN=" + k.admin
	for _, c := range []struct {
		name      string
		env       []string
		args      []string
		code      int
		stdoutRE  string
		stderrHas string
	}{
		{"--ca", []string{tok}, []string{"--addr", addr, "--ca", k.certFile}, 0, statusOK, ""},
		{"SEALSTORE_CA", []string{tok, "SEALSTORE_ADDR=" + addr, "SEALSTORE_CA=" + k.certFile}, nil, 0, statusOK, ""},
		{"--fingerprint as printed", []string{tok}, []string{"--addr", addr, "--fingerprint", k.p.fingerprint}, 0, statusOK, ""},
		{"SEALSTORE_FINGERPRINT lower-case", []string{tok, "SEALSTORE_ADDR=" + addr, "SEALSTORE_FINGERPRINT=" + lowerFP}, nil, 0, statusOK, ""},
		{"wrong --fingerprint", []string{tok}, []string{"--addr", addr, "--fingerprint", otherFP}, 1, "", "pinned fingerprint"},
		{"malformed --fingerprint", []string{tok}, []string{"--addr", addr, "--fingerprint", k.p.fingerprint[:30]}, 2, "", "64 hex digits"},
		{"non-hex --fingerprint", []string{tok}, []string{"--addr", addr, "--fingerprint", strings.Repeat("zz", 32)}, 2, "", "64 hex digits"},
		{"--ca and --fingerprint", []string{tok}, []string{"--addr", addr, "--ca", k.certFile, "--fingerprint", k.p.fingerprint}, 2, "", "not both"},
		{"another --ca", []string{tok}, []string{"--addr", addr, "--ca", otherCAFile}, 1, "", "certificate"},
		{"no trust but the system's", []string{tok}, []string{"--addr", addr}, 1, "", "certificate"},
		{"missing --ca file", []string{tok}, []string{"--addr", addr, "--ca", otherCAFile + ".missing"}, 2, "", "--ca"},
		{"--ca not PEM", []string{tok}, []string{"--addr", addr, "--ca", notPEM}, 2, "", "no PEM certificate"},
		{"no token", nil, []string{"--addr", addr, "--ca", k.certFile}, 2, "", "SEALSTORE_TOKEN"},
		{"http:// address", []string{tok}, []string{"--addr", "http://" + k.p.addr, "--ca", k.certFile}, 2, "", "https://"},
		{"read-only token", []string{"SEALSTORE_TOKEN=" + reader}, []string{"--addr", addr, "--ca", k.certFile}, 1, "", "403"},
		{"admin of another collection", []string{"SEALSTORE_TOKEN=" + otherAdmin}, []string{"--addr", addr, "--ca", k.certFile}, 1, "", "404"},
		{"unknown token", []string{"SEALSTORE_TOKEN=sst_" + strings.Repeat("A", 43)}, []string{"--addr", addr, "--ca", k.certFile}, 1, "", "401"},
	} {
		r := k.runEnv(t, c.env, append([]string{"status", coll}, c.args...)...)
		r.want(t, "keys status, "+c.name, c.code, c.stdoutRE, c.stderrHas)
	}
	k.run(t, "status", "nope").want(t, "keys status of a missing collection", 1, "", "404")
	k.runEnv(t, []string{"SEALSTORE_TOKEN=" + reader, "SEALSTORE_ADDR=" + addr, "SEALSTORE_CA=" + k.certFile}, "rotate", coll).
		want(t, "keys rotate with a read-only token", 1, "", "403")
}

// keysUsageErrors checks the command lines refused before any request.
func keysUsageErrors(t *testing.T, k *keysTarget, coll string) {
	t.Helper()
	for _, args := range [][]string{
		nil,
		{"status"},
		{"status", coll, "other"},
		{"frobnicate", coll},
		{"status", coll, "--no-such-flag"},
		{"rewrap", coll, "--max-rate", "many"},
	} {
		r := k.run(t, args...)
		if r.code != 2 || r.stdout != "" || r.stderr == "" {
			t.Errorf("keys %s: %v; want exit 2 with usage on stderr", strings.Join(args, " "), r)
		}
	}
	k.run(t, "rewrap", coll, "--max-rate", "-1").want(t, "keys rewrap --max-rate -1", 1, "", "422")
}
