package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load shape of TestKeysRotateUnderLoad.
const (
	loadClients    = 20
	loadHot        = 4                      // records each client rewrites
	loadCold       = 2                      // records each client only reads
	loadMin        = 3 * time.Second        // least time under load
	rotationsGap   = 300 * time.Millisecond // between rotations
	loadRotations  = 3
	loadSearchEach = 7 // every 7th operation of a client also searches
)

// loadClient is one client of the load: its records and what it saw.
type loadClient struct {
	s    *srv
	tok  string
	n    int
	want map[string]map[string]any // path → last document written
	ids  map[string]string         // path → id
	ops  int
	errs []string
}

func (c *loadClient) failf(format string, a ...any) {
	if len(c.errs) < 10 {
		c.errs = append(c.errs, fmt.Sprintf("client %02d op %d: ", c.n, c.ops)+fmt.Sprintf(format, a...))
	}
}

// do sends a request and reports anything but 2xx.
func (c *loadClient) do(method, path string, body any, hdr map[string]string) (resp, bool) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	r, err := c.s.tryDo(method, path, c.tok, b, hdr)
	if err != nil || r.status/100 != 2 {
		c.failf("%s %s: %d %s %v", method, path, r.status, bytes.TrimSpace(r.body), err)
		return r, false
	}
	return r, true
}

// check reads path and compares it with the last write.
func (c *loadClient) check(path string) {
	r, ok := c.do(http.MethodGet, path, nil, nil)
	if !ok {
		return
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil || !reflect.DeepEqual(got, c.want[path]) {
		c.failf("GET %s: %s; want %v (the last write)", path, r.body, c.want[path])
	}
}

// step writes (PUT, or every 5th time a PATCH) one hot record, reads it
// back, reads a cold record, and now and then searches.
func (c *loadClient) step(coll string) {
	c.ops++
	k := c.ops % loadHot
	id := fmt.Sprintf("c%02d-hot%d", c.n, k)
	path := recPath(coll, id)
	if c.ops%5 == 0 {
		patch := map[string]any{"secret": fmt.Sprintf("patched %d/%d", c.n, c.ops), "note": nil}
		if _, ok := c.do(http.MethodPatch, path, patch, map[string]string{"Content-Type": mergePatch}); ok {
			c.want[path]["secret"] = patch["secret"]
			delete(c.want[path], "note")
		}
	} else {
		doc := map[string]any{"email": fmt.Sprintf("%s-%d@x", id, c.ops), "country": "GB",
			"secret": fmt.Sprintf("secret %d/%d", c.n, c.ops), "note": fmt.Sprintf("op %d", c.ops)}
		if _, ok := c.do(http.MethodPut, path, doc, nil); ok {
			doc["id"] = id
			c.want[path] = doc
		}
	}
	c.ids[path] = id
	c.check(path)
	c.check(recPath(coll, fmt.Sprintf("c%02d-cold%d", c.n, c.ops%loadCold)))
	if c.ops%loadSearchEach == 0 && c.want[path] != nil {
		email, _ := c.want[path]["email"].(string)
		q := url.Values{"email": {email}}
		r, ok := c.do(http.MethodGet, listPath(coll, q), nil, nil)
		var p listPage
		if ok && (json.Unmarshal(r.body, &p) != nil || len(p.Records) != 1 || p.Records[0].ID != id) {
			c.failf("search email=%s: %s; want %s alone", email, r.body, id)
		}
	}
}

// 20 clients write and read their records over HTTPS while the key is
// rotated three times and then rewrapped: no request fails, every read
// gives the last write, and at the end every record is under the active
// version.
func TestKeysRotateUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	const coll = "hot"
	s.mustCollection(coll, custSchema)
	clients := make([]*loadClient, loadClients)
	for i := range clients {
		c := &loadClient{s: s, tok: adm, n: i, want: map[string]map[string]any{}, ids: map[string]string{}}
		for k := range loadCold {
			id := fmt.Sprintf("c%02d-cold%d", i, k)
			c.want[recPath(coll, id)] = s.docPut(adm, recPath(coll, id), map[string]string{"id": id},
				"email", id+"@x", "secret", "cold secret of "+id)
			c.ids[recPath(coll, id)] = id
		}
		clients[i] = c
	}

	var ops, inflight atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	var warm sync.WaitGroup // every client has completed an operation
	warm.Add(len(clients))
	for _, c := range clients {
		wg.Go(func() {
			defer func() {
				if c.ops == 0 {
					warm.Done()
				}
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				inflight.Add(1)
				c.step(coll)
				inflight.Add(-1)
				if ops.Add(1); c.ops == 1 {
					warm.Done()
				}
			}
		})
	}
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopClients()

	warm.Wait()
	var rotations []keyVersionJSON
	var opsAt, busyAt []int64
	var last int64
	for range loadRotations {
		// The gap, and as many operations as there are clients since the
		// last rotation (a loaded machine may stall the clients a while).
		time.Sleep(rotationsGap)
		for deadline := time.Now().Add(time.Minute); ops.Load() < last+loadClients; {
			if time.Now().After(deadline) {
				t.Fatalf("the clients completed %d operations in a minute since the last rotation; want %d", ops.Load()-last, loadClients)
			}
			time.Sleep(10 * time.Millisecond)
		}
		last = ops.Load()
		opsAt = append(opsAt, last)
		busyAt = append(busyAt, inflight.Load())
		rotations = append(rotations, s.rotate(adm, coll))
	}
	job := s.rewrapDone(adm, coll)
	opsAt = append(opsAt, ops.Load())
	if d := loadMin - time.Since(start); d > 0 {
		time.Sleep(d)
	}
	stopClients()
	elapsed := time.Since(start)

	total := 0
	for _, c := range clients {
		total += c.ops
		for _, e := range c.errs {
			t.Error(e)
		}
	}
	t.Logf("%d operations by %d clients in %v; ops counted at the rotations and the rewrap's end: %v; requests in flight as each rotation began: %v; rewrap: %+v",
		total, loadClients, elapsed.Round(time.Millisecond), opsAt, busyAt, job)
	// Each rotation began with client requests in flight (20 clients
	// looping leave none in flight only if all pause at once).
	for i, n := range busyAt {
		if n == 0 {
			t.Errorf("no client request was in flight as rotation %d began (%v): the rotations did not run under load", i+1, busyAt)
		}
	}
	if n := len(opsAt); opsAt[n-1] == opsAt[n-2] {
		t.Errorf("no client operation completed between the last rotation and the rewrap's end (%v): the rewrap did not run under load", opsAt)
	}
	if job.Rewrapped < loadClients*loadCold || job.ToRewrap < job.Rewrapped {
		t.Errorf("rewrap: %+v; want at least the %d cold records rewrapped", job, loadClients*loadCold)
	}
	for i, v := range rotations {
		if v.Version != i+2 {
			t.Errorf("rotation %d made version %d; want %d", i+1, v.Version, i+2)
		}
	}

	st := s.keyStatus(adm, coll)
	records := int64(loadClients * (loadHot + loadCold))
	wantCounts(t, "key status after the load and the rewrap", st, 0, 0, 0, records)
	if len(st.Versions) == 4 && st.Versions[3].ID != rotations[2].ID {
		t.Errorf("active version %s; want the last rotation's %s", st.Versions[3].ID, rotations[2].ID)
	}
	for _, c := range clients {
		for path := range c.ids {
			if c.want[path] == nil {
				continue // its only write failed, reported above
			}
			got, _ := s.mustGetDoc(adm, path)
			wantDoc(t, "final read of "+path, got, string(mustJSON(t, c.want[path])))
		}
	}
	if recs, _ := s.listAll(adm, coll, nil, 50); int64(len(recs)) != records {
		t.Errorf("list after the load: %d records; want %d", len(recs), records)
	}
}

// Rotations from 8 clients at once, 20 times over: each succeeds or is
// refused with 409; each success is listed, activated, under the number
// it was given; a version never activated holds nothing; the active
// version is the newest one activated, so retiring can neither reach
// above it nor retire it.
func TestKeysConcurrentRotations(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("race", custSchema)
	const rounds, clients = 20, 8
	made := map[string]int{} // version id → number its rotation gave
	for round := range rounds {
		start := make(chan struct{})
		rs := make([]resp, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				<-start
				rs[i], _ = s.tryDo(http.MethodPost, keysPath("race", ":rotate"), adm, nil, nil)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, r := range rs {
			switch r.status {
			case http.StatusOK:
				var v keyVersionJSON
				mustDecode(t, "concurrent rotate", r, &v)
				made[v.ID] = v.Version
				ok++
			case http.StatusConflict:
				checkProblem(t, fmt.Sprintf("round %d: concurrent rotation %d", round, i), r, http.StatusConflict)
			default:
				t.Errorf("round %d: concurrent rotation %d: %d %s; want 200 or 409", round, i, r.status, r.body)
			}
		}
		if ok == 0 {
			t.Errorf("round %d: none of %d concurrent rotations succeeded", round, clients)
		}
	}
	st := s.keyStatus(adm, "race")
	byID := map[string]keyVersionJSON{}
	newestActivated, active := 0, 0
	for i, v := range st.Versions {
		byID[v.ID] = v
		if v.Version != i+1 {
			t.Errorf("race: version %d numbered %d", i+1, v.Version)
		}
		if v.Activated != nil {
			newestActivated = v.Version
		} else if v.Active || v.Items != 0 {
			t.Errorf("race: version %+v was never activated, yet is active or holds records", v)
		}
		if v.Active {
			active++
		}
	}
	for id, n := range made {
		if v, ok := byID[id]; !ok || v.Version != n || v.Activated == nil {
			t.Errorf("race: the rotation to version %d (%s) answered 200, active and activated; the status then lists %+v (absent, renumbered, or never activated)", n, id, v)
		}
	}
	if len(byID) != len(st.Versions) || len(st.Versions) < 1+len(made) || len(st.Versions) > 1+rounds*clients {
		t.Errorf("race: %d versions (%d distinct) after %d successful rotations of %d", len(st.Versions), len(byID), len(made), rounds*clients)
	}
	if active != 1 || st.ActiveVersion != newestActivated {
		t.Errorf("race: %d active versions, active %d, newest activated %d; want one, the newest activated: %+v",
			active, st.ActiveVersion, newestActivated, st.Versions)
	}
	// Retiring: above the active version is refused, forced or not; up to
	// it, new records still read.
	checkProblem(t, "race: forced retire above the active version", s.retire(adm, "race",
		fmt.Sprintf(`{"minDecryptableVersion":%d,"force":true}`, st.ActiveVersion+1)), http.StatusUnprocessableEntity)
	if r := s.retire(adm, "race", fmt.Sprintf(`{"minDecryptableVersion":%d}`, st.ActiveVersion)); r.status != http.StatusOK {
		t.Errorf("race: retire up to the active version %d: %d %s; want 200", st.ActiveVersion, r.status, r.body)
	}
	s.mustPut(adm, recPath("race", "r1"), `{"email":"r@x","secret":"after the race"}`)
	if r := s.do(http.MethodGet, recPath("race", "r1"), adm, nil, nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "after the race") {
		t.Errorf("race: a record written after the rotations and the retires reads %d %s; want 200 and what was written", r.status, r.body)
	}
	if after := s.keyStatus(adm, "race"); after.ActiveVersion != st.ActiveVersion || after.Items != 1 ||
		after.Versions[st.ActiveVersion-1].Items != 1 {
		t.Errorf("race: after one write, %+v; want it under the active version %d", after, st.ActiveVersion)
	}
}
