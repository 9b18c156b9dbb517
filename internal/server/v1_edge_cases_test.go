package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// Defects a security review found, each kept fixed by a test here.

// A token with write but not read scope can change a record through PATCH
// but not read it back that way.
func TestV1PatchDoesNotReadForWriters(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("wo", `{"partitionKey":"id"}`)
	const canary = "ssn-canary-4417"
	s.mustPut(adm, recPath("wo", "r1"), `{"ssn":"`+canary+`","name":"Ann"}`)
	w := s.mustToken(adm, "writer-only", "wo:write")
	if r := s.do(http.MethodGet, recPath("wo", "r1"), w, nil, nil); r.status != http.StatusForbidden {
		t.Fatalf("GET with write scope only: %d; want 403", r.status)
	}
	r := s.patch(w, recPath("wo", "r1"), `{"name":"Bo"}`, nil)
	if r.status != http.StatusNoContent || r.header.Get("ETag") == "" || len(r.body) != 0 {
		t.Fatalf("PATCH with write scope only: %d, ETag %q, body %q; want 204 with an ETag and no body", r.status, r.header.Get("ETag"), r.body)
	}
	if bytes.Contains(r.body, []byte(canary)) {
		t.Fatal("PATCH showed the record to a token that may not read it")
	}
	doc, etag := s.mustGetDoc(adm, recPath("wo", "r1"))
	if doc["name"] != "Bo" || doc["ssn"] != canary || etag != r.header.Get("ETag") {
		t.Fatalf("after the writer's PATCH: %v (ETag %s, PATCH said %s)", doc, etag, r.header.Get("ETag"))
	}
	// A token that may read gets the merged record.
	if r := s.patch(adm, recPath("wo", "r1"), `{"age":3}`, nil); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(canary)) {
		t.Fatalf("PATCH by an admin: %d %s; want 200 with the merged record", r.status, r.body)
	}
}

// A query string that does not parse is refused, not read as "no filter".
func TestV1MalformedSearchQuery(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("mq", custSchema)
	s.mustPut(adm, recPath("mq", "r1"), `{"email":"a@x"}`)
	for _, q := range []string{"email=%ZZ", "email=a@x;x=1", "email=a%"} {
		r := s.do(http.MethodGet, collPath("mq", "/records")+"?"+q, adm, nil, nil)
		checkProblem(t, "GET records?"+q, r, http.StatusUnprocessableEntity)
		if bytes.Contains(r.body, []byte(`"records"`)) {
			t.Errorf("GET records?%s listed records", q)
		}
	}
}

// Record ids a URL path cannot name are refused everywhere.
func TestV1DotIDsRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("dots", `{"partitionKey":"id"}`)
	body := `{"records":[{"id":".","record":{}},{"id":"..","record":{}},{"id":"...","record":{}}]}`
	r := s.do(http.MethodPost, collPath("dots", "/records:batchPut"), adm, []byte(body), nil)
	if r.status != http.StatusOK {
		t.Fatalf("batchPut: %d %s", r.status, r.body)
	}
	var out struct {
		Results []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
		} `json:"results"`
	}
	mustDecode(t, "batchPut", r, &out)
	want := map[string]int{".": 422, "..": 422, "...": 200}
	for _, res := range out.Results {
		if res.Status != want[res.ID] {
			t.Errorf("batchPut id %q: status %d; want %d", res.ID, res.Status, want[res.ID])
		}
	}
	// The reference route refuses them too.
	r = s.do(http.MethodPost, "/items/", adm, []byte(`{"id":"..","secret":"x"}`), nil)
	checkProblem(t, `POST /items/ id ".."`, r, http.StatusUnprocessableEntity)
}

// Conditions that do not parse are client errors, not failed conditions.
func TestV1MalformedConditions(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("cond", `{"partitionKey":"id"}`)
	etag := s.mustPut(adm, recPath("cond", "r"), `{"v":1}`)
	for _, h := range []string{"garbage", `"unterminated`, `a"b"`} {
		r := s.putRecord(adm, recPath("cond", "r"), `{"v":2}`, map[string]string{"If-Match": h})
		checkProblem(t, "PUT with If-Match "+h, r, http.StatusBadRequest)
	}
	if r := s.putRecord(adm, recPath("cond", "r"), `{"v":2}`, map[string]string{"If-Match": "W/" + etag + ", " + etag}); r.status != http.StatusOK {
		t.Errorf("PUT with a list of well-formed tags: %d %s", r.status, r.body)
	}
	body := `{"records":[{"id":"new","record":{},"ifMatch":"\"x\"","ifNoneMatch":true}]}`
	r := s.do(http.MethodPost, collPath("cond", "/records:batchPut"), adm, []byte(body), nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":422`) {
		t.Fatalf("batchPut with ifMatch and ifNoneMatch: %d %s; want a 422 result", r.status, r.body)
	}
	if r := s.do(http.MethodGet, recPath("cond", "new"), adm, nil, nil); r.status != http.StatusNotFound {
		t.Errorf("the refused batch entry was stored: %d", r.status)
	}
}

// The audit trail can be searched for one record of a sort-key collection.
func TestV1AuditFilterBySortKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("events", `{"partitionKey":"u","sortKey":"at"}`)
	s.mustPut(adm, recPath("events", "u1", "s1"), `{"v":1}`)
	s.mustPut(adm, recPath("events", "u1", "s2"), `{"v":2}`)
	s.mustPut(adm, recPath("events", "u1", "s2"), `{"v":3}`)
	for sort, want := range map[string]int{"s1": 1, "s2": 2, "s3": 0} {
		r := s.do(http.MethodGet, "/v1/audit?action=record.put&collection=events&record=u1&sort="+sort, adm, nil, nil)
		var out struct {
			Entries []struct {
				Record string `json:"record"`
			} `json:"entries"`
		}
		mustDecode(t, "GET /v1/audit", r, &out)
		if len(out.Entries) != want {
			t.Errorf("record u1, sort %s: %d record.put entries; want %d", sort, len(out.Entries), want)
		}
	}
}
