package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// batchGet and batchPut answer per entry; a batch over its size is
// refused whole.
func TestV1Batch(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	etag1 := s.mustPut(tok, recPath("cust", "r1"), `{"email":"a@x","n":12345678901234567890.5}`)
	etag2 := s.mustPut(tok, recPath("cust", "r2"), `{"email":"b@x"}`)
	getPath, putPath := collPath("cust", "/records:batchGet"), collPath("cust", "/records:batchPut")

	r := s.do(http.MethodPost, getPath, tok, []byte(`{"keys":[{"id":"r1"},{"id":"nope"},{"id":""},{"id":"r2"}]}`), nil)
	if got := batchStatuses(t, r); !slices.Equal(got, []int{200, 404, 422, 200}) {
		t.Fatalf("batchGet: statuses %v (%s); want [200 404 422 200]", got, r.body)
	}
	var ga batchAnswer
	mustDecode(t, "batchGet", r, &ga)
	if e := ga.Results[0]; e.ID != "r1" || e.ETag != etag1 || e.Record["n"] != json.Number("12345678901234567890.5") || e.Record["email"] != "a@x" {
		t.Errorf("batchGet r1: %+v; want its record and ETag %s", e, etag1)
	}
	if e := ga.Results[1]; e.ID != "nope" || e.Record != nil || e.ETag != "" || e.Error == "" {
		t.Errorf("batchGet of a missing id: %+v; want an error and no record", e)
	}
	if e := ga.Results[3]; e.ID != "r2" || e.ETag != etag2 {
		t.Errorf("batchGet r2: %+v; want ETag %s", e, etag2)
	}

	body := fmt.Sprintf(`{"records":[
		{"id":"r3","record":{"email":"c@x"}},
		{"id":"r1","record":{"email":"stale@x"},"ifMatch":%q},
		{"id":"r4","record":{"aws_dbe_x":"v"}},
		{"id":"r2","record":{"email":"dup@x"},"ifNoneMatch":true},
		{"id":"r2","record":{"email":"b2@x"},"ifMatch":%q},
		{"id":"r5","record":{"email":5}}
	]}`, `"stale"`, etag2)
	r = s.do(http.MethodPost, putPath, tok, []byte(body), nil)
	if got := batchStatuses(t, r); !slices.Equal(got, []int{200, 412, 422, 412, 200, 422}) {
		t.Fatalf("batchPut: statuses %v (%s); want [200 412 422 412 200 422]", got, r.body)
	}
	var pa batchAnswer
	mustDecode(t, "batchPut", r, &pa)
	for i, e := range pa.Results {
		if (e.Status == 200) != (e.ETag != "") || (e.Status != 200) != (e.Error != "") {
			t.Errorf("batchPut entry %d: %+v; want an ETag exactly when stored, an error otherwise", i, e)
		}
	}
	for path, want := range map[string]string{
		"r1": `{"id":"r1","email":"a@x","n":12345678901234567890.5}`,
		"r2": `{"id":"r2","email":"b2@x"}`,
		"r3": `{"id":"r3","email":"c@x"}`,
	} {
		doc, etag := s.mustGetDoc(tok, recPath("cust", path))
		wantDoc(t, "after batchPut: "+path, doc, want)
		if path == "r3" && etag != pa.Results[0].ETag {
			t.Errorf("r3: ETag %s; batchPut said %s", etag, pa.Results[0].ETag)
		}
	}
	for _, id := range []string{"r4", "r5"} {
		checkProblem(t, "GET a record whose batchPut entry failed", s.do(http.MethodGet, recPath("cust", id), tok, nil, nil), http.StatusNotFound)
	}

	keys := make([]string, 101)
	for i := range keys {
		keys[i] = fmt.Sprintf(`{"id":"k%d"}`, i)
	}
	checkProblem(t, "batchGet of 101 keys", s.do(http.MethodPost, getPath, tok, []byte(`{"keys":[`+strings.Join(keys, ",")+`]}`), nil), http.StatusUnprocessableEntity)
	r = s.do(http.MethodPost, getPath, tok, []byte(`{"keys":[`+strings.Join(keys[:100], ",")+`]}`), nil)
	if got := batchStatuses(t, r); len(got) != 100 {
		t.Errorf("batchGet of 100 keys: %d results; want 100", len(got))
	}
	checkProblem(t, "batchGet of no keys", s.do(http.MethodPost, getPath, tok, []byte(`{"keys":[]}`), nil), http.StatusUnprocessableEntity)
	recs := make([]string, 26)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"id":"b%d","record":{"email":"e%d"}}`, i, i)
	}
	checkProblem(t, "batchPut of 26 records", s.do(http.MethodPost, putPath, tok, []byte(`{"records":[`+strings.Join(recs, ",")+`]}`), nil), http.StatusUnprocessableEntity)
	checkProblem(t, "GET a record of a refused batchPut", s.do(http.MethodGet, recPath("cust", "b0"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "batchPut of no records", s.do(http.MethodPost, putPath, tok, []byte(`{"records":[]}`), nil), http.StatusUnprocessableEntity)
	r = s.do(http.MethodPost, putPath, tok, []byte(`{"records":[`+strings.Join(recs[:25], ",")+`]}`), nil)
	if got := batchStatuses(t, r); len(got) != 25 || slices.ContainsFunc(got, func(st int) bool { return st != 200 }) {
		t.Errorf("batchPut of 25 records: statuses %v; want 25 × 200", got)
	}
	if all, _ := s.listAll(tok, "cust", nil, 100); len(all) != 28 {
		t.Errorf("after the batches: %d records; want 28", len(all))
	}
	checkProblem(t, "batchGet in a missing collection", s.do(http.MethodPost, collPath("nope", "/records:batchGet"), tok, []byte(`{"keys":[{"id":"a"}]}`), nil), http.StatusNotFound)
	checkProblem(t, "batchPut as items:read", s.do(http.MethodPost, collPath("items", "/records:batchPut"), s.tokens[tokReader], []byte(`{"records":[{"id":"a","record":{"secret":"s"}}]}`), nil), http.StatusForbidden)
}

// Bodies that are not a storable JSON object are refused with a 4xx
// problem, and nothing is stored: the previous version stays.
func TestV1BadBodies(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	path := recPath("cust", "r1")
	etag := s.mustPut(tok, path, `{"email":"keep@x"}`)

	for _, tc := range []struct {
		what, body string
		status     int
	}{
		{"bad JSON", `{"email":`, 400},
		{"trailing data", `{"email":"x"} {}`, 400},
		{"empty body", ``, 400},
		{"an array", `[{"email":"x"}]`, 422},
		{"a string", `"x"`, 422},
		{"a number", `5`, 422},
		{"null", `null`, 422},
		{"invalid UTF-8", "{\"email\":\"\xff\"}", 400},
		{"an escaped lone surrogate", `{"email":"k\ud800"}`, 400},
		{"duplicate member", `{"email":"x","email":"y"}`, 422},
		{"nesting too deep", strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), 422},
		{"a number DynamoDB cannot hold", `{"n":123456789012345678901234567890123456789}`, 422},
		{"a number out of range", `{"n":1e999}`, 400},
		{"a reserved attribute name", `{"aws_dbe_x":"v"}`, 422},
		{"the reserved header name", `{"aws_dbe_head":"v"}`, 422},
		{"a beacon name", `{"aws_dbe_b_email":"v"}`, 422},
		{"a non-string searchable attribute", `{"email":["x"]}`, 422},
		{"over the item limit once encrypted", `{"email":"x","blob":"` + strings.Repeat("x", 450<<10) + `"}`, 413},
		{"over the body limit", `{"email":"x","blob":"` + strings.Repeat("x", 600<<10) + `"}`, 413},
	} {
		for _, p := range []string{path, recPath("cust", "fresh")} {
			r := s.putRecord(tok, p, tc.body, nil)
			checkProblem(t, "PUT "+tc.what, r, tc.status)
			if strings.Contains(string(r.body), "keep@x") {
				t.Errorf("PUT %s: the answer quotes the stored value: %s", tc.what, r.body)
			}
		}
		if tc.body != "" && tc.body[0] == '{' {
			r := s.patch(tok, path, tc.body, nil)
			if r.status < 400 || r.status >= 500 {
				t.Errorf("PATCH %s: %d %.200s; want 4xx", tc.what, r.status, r.body)
			}
		}
	}
	doc, got := s.mustGetDoc(tok, path)
	wantDoc(t, "after refused writes", doc, `{"id":"r1","email":"keep@x"}`)
	if got != etag {
		t.Errorf("after refused writes: ETag %s; want %s", got, etag)
	}
	checkProblem(t, "GET a record no valid write created", s.do(http.MethodGet, recPath("cust", "fresh"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "a control character in the id", s.putRecord(tok, recPath("cust", "a\x01b"), `{"email":"x"}`, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "an id over 1024 bytes", s.putRecord(tok, recPath("cust", strings.Repeat("i", 1025)), `{"email":"x"}`, nil), http.StatusUnprocessableEntity)
	if recs, _ := s.listAll(tok, "cust", nil, 100); len(recs) != 1 {
		t.Errorf("after refused writes: %d records; want 1", len(recs))
	}
}

// A problem's errors[].location names where the bad input is, as huma's
// own validation errors do: body.<attribute>, query.<name>, path.<name>.
func TestV1ProblemLocations(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	s.mustCollection("events", `{"partitionKey":"user","sortKey":"ts"}`)
	for _, tc := range []struct {
		what string
		r    resp
		want string
	}{
		{"huma's own: limit", s.do(http.MethodGet, listPath("cust", url.Values{"limit": {"5000"}}), tok, nil, nil), "query.limit"},
		{"reserved attribute", s.putRecord(tok, recPath("cust", "r1"), `{"aws_dbe_x":1}`, nil), "body.aws_dbe_x"},
		{"duplicate member", s.putRecord(tok, recPath("cust", "r1"), `{"a":1,"a":2}`, nil), "body.a"},
		{"schema attribute", s.do(http.MethodPut, collPath("c2"), tok, []byte(`{"partitionKey":"id","attributes":{"x":"bogus"}}`), nil), "body.attributes.x"},
		{"cursor", s.do(http.MethodGet, listPath("cust", url.Values{"cursor": {"abc"}}), tok, nil, nil), "query.cursor"},
		{"search attribute", s.do(http.MethodGet, listPath("cust", url.Values{"zzz": {"1"}}), tok, nil, nil), "query.zzz"},
		{"missing sort key", s.do(http.MethodGet, recPath("events", "u1"), tok, nil, nil), "path.sort"},
	} {
		var p struct {
			Errors []struct{ Location string }
		}
		mustDecode(t, tc.what, tc.r, &p)
		var locs []string
		for _, e := range p.Errors {
			locs = append(locs, e.Location)
		}
		if !slices.Contains(locs, tc.want) {
			t.Errorf("%s: %d %s: error locations %q; want %q", tc.what, tc.r.status, tc.r.body, locs, tc.want)
		}
	}
}
