package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/store"
)

// auditEntry is one entry of GET /v1/audit.
type auditEntry struct {
	Time       string `json:"time"`
	Token      string `json:"token"`
	Action     string `json:"action"`
	Collection string `json:"collection"`
	Record     string `json:"record"`
	Outcome    string `json:"outcome"`
	Detail     string `json:"detail"`
	ETag       string `json:"etag"`
	RequestID  string `json:"requestId"`
	Client     string `json:"client"`
	Chain      string `json:"chain"`
	Seq        uint64 `json:"seq"`
}

func (e auditEntry) pos() string { return fmt.Sprintf("%s/%d", e.Chain, e.Seq) }

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// auditAll walks every page of GET /v1/audit with query q as token.
func (s *srv) auditAll(token string, q url.Values, limit int) ([]auditEntry, int) {
	s.t.Helper()
	var out []auditEntry
	cursor := ""
	for pages := 1; ; pages++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		r := s.do(http.MethodGet, "/v1/audit?"+qq.Encode(), token, nil, nil)
		if r.status != http.StatusOK {
			s.t.Fatalf("GET /v1/audit?%s: %d %s", qq.Encode(), r.status, r.body)
		}
		var p struct {
			Entries []auditEntry `json:"entries"`
			Cursor  string       `json:"cursor"`
		}
		mustDecode(s.t, "GET /v1/audit", r, &p)
		if len(p.Entries) > limit {
			s.t.Errorf("GET /v1/audit: %d entries; limit %d", len(p.Entries), limit)
		}
		out = append(out, p.Entries...)
		if p.Cursor == "" || pages > 10000 {
			return out, pages
		}
		cursor = p.Cursor
	}
}

// count returns how many entries match keep.
func count(es []auditEntry, keep func(auditEntry) bool) int {
	n := 0
	for _, e := range es {
		if keep(e) {
			n++
		}
	}
	return n
}

// The audit trail records who did what to which record (as an HMAC), is
// filterable and paginated for admins only, and verifies offline.
func TestV1AuditTrail(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	s.mustCollection("team-a", custSchema)
	id, other := "rid-"+randHex(8), "rid-"+randHex(8)
	path := recPath("cust", id)

	s.mustPut(adm, path, `{"email":"a@x"}`)
	s.mustPut(adm, recPath("cust", other), `{"email":"b@x"}`)
	s.mustGetDoc(adm, path)
	if r := s.patch(adm, path, `{"email":"c@x"}`, nil); r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	s.listAll(adm, "cust", url.Values{"email": {"c@x"}}, 10)
	s.listAll(adm, "cust", nil, 10)
	checkProblem(t, "GET a missing record", s.do(http.MethodGet, recPath("cust", "missing-"+id), adm, nil, nil), http.StatusNotFound)
	checkProblem(t, "stale If-Match", s.putRecord(adm, path, `{}`, map[string]string{"If-Match": `"x"`}), http.StatusPreconditionFailed)
	aTok := s.mustToken(adm, "a-rw", "team-a:read", "team-a:write")
	aAdmin := s.mustToken(adm, "a-admin", "team-a:admin")
	s.mustPut(aTok, recPath("team-a", "x"), `{"email":"x@x"}`)
	// The BOLA attempts.
	checkProblem(t, "a-rw GET in cust", s.do(http.MethodGet, path, aTok, nil, nil), http.StatusNotFound)
	checkProblem(t, "a-rw PUT in cust", s.putRecord(aTok, path, `{"email":"pwned"}`, nil), http.StatusNotFound)
	checkProblem(t, "a-rw DELETE in cust", s.do(http.MethodDelete, path, aTok, nil, nil), http.StatusNotFound)
	roTok := s.mustToken(adm, "a-ro", "team-a:read")
	checkProblem(t, "a-ro PUT in team-a", s.putRecord(roTok, recPath("team-a", "x"), `{"email":"y@x"}`, nil), http.StatusForbidden)
	if r := s.do(http.MethodDelete, path, adm, nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}

	r := s.do(http.MethodGet, "/v1/audit?limit=1000", adm, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/audit: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), id) || strings.Contains(string(r.body), other) {
		t.Errorf("GET /v1/audit holds a record id in clear: %s", r.body)
	}
	all, _ := s.auditAll(adm, nil, 1000)
	hmacs := map[string]bool{}
	for _, e := range all {
		if e.Action == "" || e.Outcome == "" || e.Chain == "" || !strings.HasSuffix(e.Time, "Z") {
			t.Errorf("entry %+v: want an action, an outcome, a chain and a UTC time", e)
		}
		if e.Record != "" && !hex32.MatchString(e.Record) {
			t.Errorf("entry %+v: record is not a 32-hex HMAC", e)
		}
		if strings.HasPrefix(e.Action, "record.") && e.Action != "record.list" && e.Action != "record.search" && e.Outcome != "denied" {
			if e.Record == "" {
				t.Errorf("entry %+v: a record operation without a record", e)
			}
			hmacs[e.Record] = true
		}
	}
	// The record operations name 3 records: id, other and missing-id (and x in team-a).
	if len(hmacs) != 4 {
		t.Errorf("record HMACs: %d distinct; want 4 (two records, a missing id, one record in team-a)", len(hmacs))
	}
	has := func(tok, action, coll, outcome string) {
		t.Helper()
		if count(all, func(e auditEntry) bool {
			return e.Token == tok && e.Action == action && e.Collection == coll && e.Outcome == outcome
		}) == 0 {
			t.Errorf("no audit entry of %s %s on %q with outcome %s", tok, action, coll, outcome)
		}
	}
	has(tokAdmin, "collection.put", "cust", "ok")
	has(tokAdmin, "record.put", "cust", "ok")
	has(tokAdmin, "record.get", "cust", "ok")
	has(tokAdmin, "record.get", "cust", "not_found")
	has(tokAdmin, "record.put", "cust", "precondition_failed")
	has(tokAdmin, "record.patch", "cust", "ok")
	has(tokAdmin, "record.search", "cust", "ok")
	has(tokAdmin, "record.list", "cust", "ok")
	has(tokAdmin, "record.delete", "cust", "ok")
	has(tokAdmin, "token.create", "", "ok")
	// Token operations say which token, and which scopes were granted.
	if count(all, func(e auditEntry) bool {
		return e.Action == "token.create" && e.Detail == "name=a-rw scopes=team-a:read,team-a:write"
	}) != 1 {
		t.Errorf("no token.create entry naming a-rw and its scopes")
	}
	has("a-rw", "record.put", "team-a", "ok")
	has("a-rw", "record.get", "cust", "denied")
	has("a-rw", "record.put", "cust", "denied")
	has("a-rw", "record.delete", "cust", "denied")

	// Filters.
	puts, _ := s.auditAll(adm, url.Values{"action": {"record.put"}}, 1000)
	if n := count(all, func(e auditEntry) bool { return e.Action == "record.put" }); len(puts) != n || n == 0 ||
		count(puts, func(e auditEntry) bool { return e.Action == "record.put" }) != n {
		t.Errorf("action=record.put: %d entries; want the %d record.put entries", len(puts), n)
	}
	mine, _ := s.auditAll(adm, url.Values{"collection": {"cust"}, "record": {id}}, 1000)
	var actions []string
	for _, e := range mine {
		if e.Collection != "cust" || e.Record != mine[0].Record {
			t.Errorf("collection=cust&record=id: entry %+v of another record", e)
		}
		actions = append(actions, e.Action+":"+e.Outcome)
	}
	want := []string{"record.put:ok", "record.get:ok", "record.patch:ok", "record.put:precondition_failed", "record.delete:ok"}
	if !slices.Equal(actions, want) {
		t.Errorf("collection=cust&record=id: %v; want %v", actions, want)
	}
	if es, _ := s.auditAll(adm, url.Values{"collection": {"team-a"}, "record": {id}}, 1000); len(es) != 0 {
		t.Errorf("collection=team-a&record=id: %d entries; want none (the HMAC is per collection)", len(es))
	}
	denied, _ := s.auditAll(adm, url.Values{"outcome": {"denied"}}, 1000)
	if len(denied) != 4 || count(denied, func(e auditEntry) bool { return e.Token == "a-rw" && e.Collection == "cust" && e.Outcome == "denied" }) != 3 ||
		count(denied, func(e auditEntry) bool {
			return e.Token == "a-ro" && e.Action == "record.put" && e.Collection == "team-a"
		}) != 1 {
		t.Errorf("outcome=denied: %+v; want a-rw's 3 attempts on cust and a-ro's PUT in team-a", denied)
	}
	if es, _ := s.auditAll(adm, url.Values{"token": {"a-rw"}}, 1000); len(es) != 4 {
		t.Errorf("token=a-rw: %d entries; want 4", len(es))
	}

	// Pagination: small pages give the same entries, each once, in order.
	paged, pages := s.auditAll(adm, nil, 3)
	if pages < len(all)/3 {
		t.Errorf("limit=3: %d pages for %d entries", pages, len(all))
	}
	var a, b []string
	for _, e := range all {
		a = append(a, e.pos())
	}
	for _, e := range paged {
		b = append(b, e.pos())
	}
	if !slices.Equal(a, b) {
		t.Errorf("limit=3 walk: %v; want %v", b, a)
	}

	checkProblem(t, "audit as items:read,write", s.do(http.MethodGet, "/v1/audit", s.tokens[tokRW], nil, nil), http.StatusForbidden)
	checkProblem(t, "audit as team-a:read,write", s.do(http.MethodGet, "/v1/audit?collection=team-a", aTok, nil, nil), http.StatusForbidden)
	checkProblem(t, "audit of everything as team-a:admin", s.do(http.MethodGet, "/v1/audit", aAdmin, nil, nil), http.StatusForbidden)
	checkProblem(t, "audit of cust as team-a:admin", s.do(http.MethodGet, "/v1/audit?collection=cust", aAdmin, nil, nil), http.StatusForbidden)
	if es, _ := s.auditAll(aAdmin, url.Values{"collection": {"team-a"}}, 100); len(es) == 0 ||
		count(es, func(e auditEntry) bool { return e.Collection != "team-a" }) != 0 {
		t.Errorf("audit of team-a as team-a:admin: %+v; want team-a's entries only", es)
	}
	checkProblem(t, "audit without a token", s.do(http.MethodGet, "/v1/audit", "", nil, nil), http.StatusUnauthorized)
	checkProblem(t, "record filter without collection", s.do(http.MethodGet, "/v1/audit?record="+id, adm, nil, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "bad audit cursor", s.do(http.MethodGet, "/v1/audit?cursor=zz", adm, nil, nil), http.StatusUnprocessableEntity)

	final, _ := s.auditAll(adm, nil, 1000)
	s.stopIdle(t)
	rep, err := server.VerifyAudit(context.Background(), verifyConfig(t, s.dataDir), server.VerifyOptions{})
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if len(rep.Problems) != 0 || rep.Entries != len(final) || rep.Chains != 1 {
		t.Errorf("VerifyAudit: %+v; want no problems, 1 chain, %d entries", rep, len(final))
	}
	// Neither the stored trail nor the request log holds the ids.
	withRaw(t, s.dataDir, func(ctx context.Context, b rawBackend) {
		for _, tbl := range []store.Table{auditBatches, {Name: "sealstore_audit_chains", PartitionKey: "chain"}} {
			items := scanAll(ctx, t, b.trail, tbl)
			if len(items) == 0 {
				t.Errorf("no stored items in %s", tbl.Name)
			}
			for _, it := range items {
				js, err := attr.MarshalItemJSON(it)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(js), id) || strings.Contains(string(js), other) {
					t.Errorf("stored audit item of %s holds a record id in clear", tbl.Name)
				}
			}
		}
	})
	if log := s.log.String(); strings.Contains(log, id) || strings.Contains(log, other) {
		t.Errorf("the request log holds a record id in clear")
	}
}

// auditBatches is the audit trail's batch table (audit/stored.go).
var auditBatches = store.Table{Name: "sealstore_audit", PartitionKey: "chain", SortKey: "seq", SortType: store.KeyN}

// busyAuditServer runs a server that writes batches of several audit
// entries (concurrent requests are committed together), then stops it
// and checks that its trail verifies. How requests batch depends on the
// machine: a burst of 60 concurrent reads is sent again, on a restarted
// server, until some batch holds 3 entries (10 rounds at most).
func busyAuditServer(t *testing.T) string {
	t.Helper()
	dataDir := t.TempDir()
	var adm string
	entries := 0
	for round := 1; ; round++ {
		s := startServer(t, opts{dataDir: dataDir, seed: round == 1, noHTTP: true})
		if round == 1 {
			adm = s.tokens[tokAdmin]
			s.mustCollection("cust", custSchema)
			s.mustPut(adm, recPath("cust", "r1"), `{"email":"a@x"}`)
			entries += 2
		}
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				path := recPath("cust", fmt.Sprintf("r%d", i%3))
				_, _ = s.tryDo(http.MethodGet, path, adm, nil, nil)
			})
		}
		wg.Wait()
		entries += 60
		s.stopIdle(t)
		if largestAuditBatch(t, dataDir) >= 3 {
			break
		}
		if round == 10 {
			t.Fatalf("no audit batch holds 3 entries or more after 10 bursts of 60 concurrent requests")
		}
	}
	rep, err := server.VerifyAudit(context.Background(), verifyConfig(t, dataDir), server.VerifyOptions{})
	if err != nil || len(rep.Problems) != 0 || rep.Entries != entries {
		t.Fatalf("VerifyAudit before tampering: %+v, %v; want no problems and %d entries", rep, err, entries)
	}
	return dataDir
}

// largestAuditBatch is the number of entries of the largest stored batch.
func largestAuditBatch(t *testing.T, dataDir string) int {
	n := 0
	withRaw(t, dataDir, func(ctx context.Context, b rawBackend) {
		for _, it := range scanAll(ctx, t, b.trail, auditBatches) {
			es, _ := it["entries"].(attr.L)
			n = max(n, len(es))
		}
	})
	return n
}

// Editing, deleting or reordering one stored audit entry makes VerifyAudit
// report that chain and the entry.
func TestV1AuditTamper(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// tamper changes the entries of a batch of at least 3 around
		// index 1 and returns the seq the problem must name.
		tamper func(es attr.L) (attr.L, int)
		reason string
	}{
		{"edit", func(es attr.L) (attr.L, int) {
			e := es[1].(attr.M)
			if e["outcome"] == attr.S("ok") {
				e["outcome"] = attr.S("denied")
			} else {
				e["outcome"] = attr.S("ok")
			}
			return es, 1
		}, "MAC"},
		// A missing entry shows at the next entry, which is stored.
		{"delete", func(es attr.L) (attr.L, int) {
			return slices.Delete(es, 1, 2), 2
		}, "missing"},
		// The first entry out of place is the one that moved up.
		{"swap", func(es attr.L) (attr.L, int) {
			es[1], es[2] = es[2], es[1]
			return es, 2
		}, "order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := busyAuditServer(t)
			var chain string
			var seq uint64
			withRaw(t, dataDir, func(ctx context.Context, b rawBackend) {
				for _, it := range scanAll(ctx, t, b.trail, auditBatches) {
					es, _ := it["entries"].(attr.L)
					if len(es) < 3 {
						continue
					}
					first := es[0].(attr.M)["seq"].(attr.N)
					var base uint64
					fmt.Sscan(string(first), &base)
					var at int
					it["entries"], at = tc.tamper(slices.Clone(es))
					chain, seq = string(it["chain"].(attr.S)), base+uint64(at)
					if err := b.replace(ctx, auditBatches, it); err != nil {
						t.Fatalf("rewrite the batch: %v", err)
					}
					return
				}
				t.Fatal("no audit batch holds 3 entries or more, though busyAuditServer saw one")
			})
			rep, err := server.VerifyAudit(context.Background(), verifyConfig(t, dataDir), server.VerifyOptions{})
			if err != nil {
				t.Fatalf("VerifyAudit: %v", err)
			}
			t.Logf("VerifyAudit after %s (problem expected at entry %d): %+v", tc.name, seq, rep.Problems)
			want := audit.Problem{Chain: chain, Seq: seq}
			if len(rep.Problems) != 1 || rep.Problems[0].Chain != want.Chain || rep.Problems[0].Seq != want.Seq ||
				!strings.Contains(rep.Problems[0].Reason, tc.reason) {
				t.Errorf("VerifyAudit after %s: %+v; want one problem at chain %s entry %d saying %q", tc.name, rep.Problems, chain, seq, tc.reason)
			}
		})
	}
}

// Each server start writes a chain of its own; the trail lists and
// verifies across them, and a record's HMAC stays the same.
func TestV1AuditRestart(t *testing.T) {
	t.Parallel()
	s1 := startServer(t, opts{seed: true, noHTTP: true})
	adm := s1.tokens[tokAdmin]
	s1.mustCollection("cust", custSchema)
	s1.mustPut(adm, recPath("cust", "r1"), `{"email":"a@x"}`)
	s1.mustGetDoc(adm, recPath("cust", "r1"))
	s1.stopIdle(t)

	s2 := startServer(t, opts{dataDir: s1.dataDir, noHTTP: true})
	s2.tokens = s1.tokens
	s2.mustGetDoc(adm, recPath("cust", "r1"))
	s2.mustPut(adm, recPath("cust", "r2"), `{"email":"b@x"}`)

	all, _ := s2.auditAll(adm, nil, 1000)
	paged, _ := s2.auditAll(adm, nil, 2)
	chains := map[string][]uint64{}
	for _, e := range paged {
		chains[e.Chain] = append(chains[e.Chain], e.Seq)
	}
	if len(all) != 5 || len(paged) != 5 || len(chains) != 2 {
		t.Fatalf("audit after a restart: %d entries (%d paged) in %d chains; want 5 in 2", len(all), len(paged), len(chains))
	}
	for c, seqs := range chains {
		for i, seq := range seqs {
			if seq != uint64(i) {
				t.Errorf("chain %s: seqs %v; want 0, 1, ...", c, seqs)
				break
			}
		}
	}
	r1, _ := s2.auditAll(adm, url.Values{"collection": {"cust"}, "record": {"r1"}}, 1000)
	if len(r1) != 3 || r1[0].Chain == r1[2].Chain || r1[0].Record != r1[2].Record {
		t.Errorf("record r1 across the restart: %+v; want 3 entries with one HMAC in two chains", r1)
	}
	s2.stopIdle(t)
	rep, err := server.VerifyAudit(context.Background(), verifyConfig(t, s1.dataDir), server.VerifyOptions{})
	if err != nil || len(rep.Problems) != 0 || rep.Chains != 2 || rep.Entries != 5 {
		t.Errorf("VerifyAudit: %+v, %v; want 2 chains, 5 entries, no problems", rep, err)
	}
}
