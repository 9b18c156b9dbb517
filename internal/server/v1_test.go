package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wantDoc fails unless got equals the JSON object want.
func wantDoc(t testing.TB, what string, got map[string]any, want string) {
	t.Helper()
	w := decodeDoc(t, what+" (want)", []byte(want))
	if !reflect.DeepEqual(got, w) {
		gb, _ := json.Marshal(got)
		t.Errorf("%s: %s; want %s", what, gb, want)
	}
}

// wantETag checks that an ETag is a quoted entity tag.
func wantETag(t testing.TB, what, etag string) {
	t.Helper()
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("%s: ETag %q is not a quoted entity tag", what, etag)
	}
}

// PUT and GET of a record: ETags, exact numbers, no-store, and the
// If-Match / If-None-Match conditions.
func TestV1RecordPutGet(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	path := recPath("cust", "r1")
	const body = `{"email":"ada@example.com","amount":12345678901234567890.5,"count":42,"ok":true,"none":null,"tags":["a",1],"addr":{"city":"London"},"country":"GB","note":"hi"}`

	r := s.putRecord(tok, path, body, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PUT: %d %s; want 200", r.status, r.body)
	}
	etag := r.header.Get("ETag")
	wantETag(t, "PUT", etag)
	var put struct{ ETag string }
	mustDecode(t, "PUT", r, &put)
	if put.ETag != etag {
		t.Errorf("PUT: body etag %q, ETag header %q; want equal", put.ETag, etag)
	}

	r = s.do(http.MethodGet, path, tok, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
	if got := r.header.Get("ETag"); got != etag {
		t.Errorf("GET: ETag %q; want the PUT's %q", got, etag)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("GET: Cache-Control %q; want no-store", cc)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET: Content-Type %q; want application/json", ct)
	}
	if !strings.Contains(string(r.body), `"amount":12345678901234567890.5`) {
		t.Errorf("GET: body %s does not hold the number 12345678901234567890.5 exactly", r.body)
	}
	wantDoc(t, "GET", decodeDoc(t, "GET", r.body), strings.Replace(body, `{`, `{"id":"r1",`, 1))
	checkSecurityHeaders(t, "GET record", r.header)

	// Create only.
	r = s.putRecord(tok, recPath("cust", "r2"), `{"email":"b@x"}`, map[string]string{"If-None-Match": "*"})
	if r.status != http.StatusCreated {
		t.Fatalf("PUT If-None-Match: * on a new id: %d %s; want 201", r.status, r.body)
	}
	etag2 := r.header.Get("ETag")
	wantETag(t, "PUT 201", etag2)
	r = s.putRecord(tok, recPath("cust", "r2"), `{"email":"c@x"}`, map[string]string{"If-None-Match": "*"})
	checkProblem(t, "PUT If-None-Match: * on an existing id", r, http.StatusPreconditionFailed)
	if doc, et := s.mustGetDoc(tok, recPath("cust", "r2")); doc["email"] != "b@x" || et != etag2 {
		t.Errorf("after a refused create: %v %s; want email b@x, ETag %s", doc, et, etag2)
	}

	// Conditional replace.
	r = s.putRecord(tok, path, `{"email":"new@x"}`, map[string]string{"If-Match": etag})
	if r.status != http.StatusOK {
		t.Fatalf("PUT If-Match current: %d %s; want 200", r.status, r.body)
	}
	etag3 := r.header.Get("ETag")
	if etag3 == etag {
		t.Errorf("PUT If-Match: the new version kept the ETag %s", etag)
	}
	for _, stale := range []string{etag, `"nope"`, etag + ", " + `"other"`} {
		r = s.putRecord(tok, path, `{"email":"stale@x"}`, map[string]string{"If-Match": stale})
		checkProblem(t, "PUT If-Match "+stale, r, http.StatusPreconditionFailed)
	}
	r = s.putRecord(tok, path, `{"email":"list@x"}`, map[string]string{"If-Match": `"nope", ` + etag3})
	if r.status != http.StatusOK {
		t.Errorf("PUT If-Match listing the current tag: %d %s; want 200", r.status, r.body)
	}
	doc, etag4 := s.mustGetDoc(tok, path)
	wantDoc(t, "after conditional PUTs", doc, `{"id":"r1","email":"list@x"}`)
	r = s.putRecord(tok, path, `{"email":"star@x"}`, map[string]string{"If-Match": "*"})
	if r.status != http.StatusOK {
		t.Errorf("PUT If-Match: * on an existing record: %d %s; want 200", r.status, r.body)
	}
	checkProblem(t, "PUT If-Match: * on a missing record", s.putRecord(tok, recPath("cust", "missing"), `{}`, map[string]string{"If-Match": "*"}), http.StatusPreconditionFailed)
	checkProblem(t, "PUT If-Match on a missing record", s.putRecord(tok, recPath("cust", "missing"), `{}`, map[string]string{"If-Match": etag4}), http.StatusPreconditionFailed)
	checkProblem(t, "GET after refused conditional PUTs", s.do(http.MethodGet, recPath("cust", "missing"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "If-None-Match other than *", s.putRecord(tok, path, `{}`, map[string]string{"If-None-Match": etag}), http.StatusBadRequest)
	checkProblem(t, "If-Match with If-None-Match", s.putRecord(tok, path, `{}`, map[string]string{"If-None-Match": "*", "If-Match": "*"}), http.StatusBadRequest)

	// The key attribute in the body must match the path.
	checkProblem(t, "PUT with another id in the body", s.putRecord(tok, path, `{"id":"r9"}`, nil), http.StatusUnprocessableEntity)
	if r := s.putRecord(tok, path, `{"id":"r1","email":"same@x"}`, nil); r.status != http.StatusOK {
		t.Errorf("PUT with the same id in the body: %d %s; want 200", r.status, r.body)
	}
	checkProblem(t, "PUT into a missing collection", s.putRecord(tok, recPath("nope", "r1"), `{}`, nil), http.StatusNotFound)
	checkProblem(t, "GET a missing record", s.do(http.MethodGet, recPath("cust", "nope"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "GET a record of a missing collection", s.do(http.MethodGet, recPath("nope", "r1"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "PUT as items:read,write", s.putRecord(s.tokens[tokRW], path, `{}`, nil), http.StatusNotFound)
}

// PATCH with a JSON merge patch: null removes, encrypted fields change,
// nested objects merge; If-Match guards it.
func TestV1RecordPatch(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	path := recPath("cust", "r1")
	etag := s.mustPut(tok, path, `{"email":"a@x","name":"Ada","addr":{"city":"London","zip":"N1"},"country":"GB","amount":1.5}`)

	r := s.patch(tok, path, `{"email":"b@x","name":null,"addr":{"zip":null,"street":"Main"},"country":"FR","new":12345678901234567890.5}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s; want 200", r.status, r.body)
	}
	const merged = `{"id":"r1","email":"b@x","addr":{"city":"London","street":"Main"},"country":"FR","amount":1.5,"new":12345678901234567890.5}`
	wantDoc(t, "PATCH response", decodeDoc(t, "PATCH", r.body), merged)
	etag2 := r.header.Get("ETag")
	wantETag(t, "PATCH", etag2)
	if etag2 == etag {
		t.Errorf("PATCH kept the ETag %s", etag)
	}
	doc, got := s.mustGetDoc(tok, path)
	wantDoc(t, "GET after PATCH", doc, merged)
	if got != etag2 {
		t.Errorf("GET after PATCH: ETag %s; want the PATCH's %s", got, etag2)
	}
	// The searchable (encrypted) attribute's beacon follows the patch.
	if recs, _ := s.listAll(tok, "cust", url.Values{"email": {"b@x"}}, 10); len(recs) != 1 || recs[0].ID != "r1" {
		t.Errorf("search email=b@x after PATCH: %v; want r1", recs)
	}
	if recs, _ := s.listAll(tok, "cust", url.Values{"email": {"a@x"}}, 10); len(recs) != 0 {
		t.Errorf("search email=a@x after PATCH: %v; want none", recs)
	}

	checkProblem(t, "PATCH with a stale If-Match", s.patch(tok, path, `{"email":"c@x"}`, map[string]string{"If-Match": etag}), http.StatusPreconditionFailed)
	r = s.patch(tok, path, `{"email":"c@x"}`, map[string]string{"If-Match": etag2})
	if r.status != http.StatusOK {
		t.Errorf("PATCH with the current If-Match: %d %s; want 200", r.status, r.body)
	}
	etag3 := r.header.Get("ETag")
	checkProblem(t, "PATCH a missing record", s.patch(tok, recPath("cust", "nope"), `{"email":"c@x"}`, nil), http.StatusNotFound)
	checkProblem(t, "PATCH a record of a missing collection", s.patch(tok, recPath("nope", "r1"), `{"a":1}`, nil), http.StatusNotFound)
	checkProblem(t, "PATCH the key", s.patch(tok, path, `{"id":"r2"}`, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "PATCH a reserved name", s.patch(tok, path, `{"aws_dbe_head":"x"}`, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "PATCH a non-string searchable attribute", s.patch(tok, path, `{"email":5}`, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "PATCH with bad JSON", s.patch(tok, path, `{"email":`, nil), http.StatusBadRequest)
	checkProblem(t, "PATCH with an array", s.patch(tok, path, `[]`, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "PATCH as items:read", s.patch(s.tokens[tokReader], recPath("items", "x"), `{"a":1}`, nil), http.StatusForbidden)
	doc, got = s.mustGetDoc(tok, path)
	if doc["email"] != "c@x" || got != etag3 {
		t.Errorf("after refused PATCHes: email %v, ETag %s; want c@x, %s", doc["email"], got, etag3)
	}
}

// DELETE: 204, then 404 on GET and on DELETE; a stale If-Match keeps the
// record.
func TestV1RecordDelete(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	path := recPath("cust", "r1")
	etag := s.mustPut(tok, path, `{"email":"a@x"}`)
	etag2 := s.mustPut(tok, path, `{"email":"b@x"}`)

	checkProblem(t, "DELETE with a stale If-Match", s.do(http.MethodDelete, path, tok, nil, map[string]string{"If-Match": etag}), http.StatusPreconditionFailed)
	if doc, _ := s.mustGetDoc(tok, path); doc["email"] != "b@x" {
		t.Errorf("after a refused DELETE: %v", doc)
	}
	r := s.do(http.MethodDelete, path, tok, nil, map[string]string{"If-Match": etag2})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE: %d %q; want 204, no body", r.status, r.body)
	}
	checkProblem(t, "GET after DELETE", s.do(http.MethodGet, path, tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "DELETE again", s.do(http.MethodDelete, path, tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "DELETE with If-Match of a deleted record", s.do(http.MethodDelete, path, tok, nil, map[string]string{"If-Match": etag2}), http.StatusPreconditionFailed)
	s.mustPut(tok, path, `{"email":"c@x"}`)
	if r := s.do(http.MethodDelete, path, tok, nil, nil); r.status != http.StatusNoContent {
		t.Errorf("unconditional DELETE: %d %s; want 204", r.status, r.body)
	}
	checkProblem(t, "DELETE in a missing collection", s.do(http.MethodDelete, recPath("nope", "r1"), tok, nil, nil), http.StatusNotFound)
	if recs, _ := s.listAll(tok, "cust", nil, 10); len(recs) != 0 {
		t.Errorf("list after DELETE: %v; want none", recs)
	}
}

// A collection with a sort key serves /records/{id}/{sort}.
func TestV1SortKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("events", `{"partitionKey":"user","sortKey":"ts","attributes":{"kind":"sign"}}`)
	s.mustCollection("flat", `{"partitionKey":"id"}`)
	keys := [][2]string{{"u1", "2024-01"}, {"u1", "2024-02"}, {"u2", "2024-01"}, {"u 3/x", "a/b c"}}
	etags := map[[2]string]string{}
	for i, k := range keys {
		etags[k] = s.mustPut(tok, recPath("events", k[0], k[1]), fmt.Sprintf(`{"kind":"login","n":%d}`, i))
	}
	for i, k := range keys {
		doc, etag := s.mustGetDoc(tok, recPath("events", k[0], k[1]))
		want, _ := json.Marshal(map[string]any{"user": k[0], "ts": k[1], "kind": "login", "n": i})
		wantDoc(t, "GET "+k[0]+"/"+k[1], doc, string(want))
		if etag != etags[k] {
			t.Errorf("GET %v: ETag %s; want %s", k, etag, etags[k])
		}
	}
	recs, _ := s.listAll(tok, "events", nil, 2)
	var got [][2]string
	for _, r := range recs {
		got = append(got, [2]string{r.ID, r.Sort})
	}
	slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	want := slices.Clone(keys)
	slices.SortFunc(want, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	if !slices.Equal(got, want) {
		t.Errorf("list: %v; want %v", got, want)
	}

	r := s.patch(tok, recPath("events", "u1", "2024-01"), `{"kind":"logout"}`, nil)
	if r.status != http.StatusOK {
		t.Errorf("PATCH u1/2024-01: %d %s", r.status, r.body)
	}
	checkProblem(t, "PATCH the sort key", s.patch(tok, recPath("events", "u1", "2024-01"), `{"ts":"2025"}`, nil), http.StatusUnprocessableEntity)
	if doc, _ := s.mustGetDoc(tok, recPath("events", "u1", "2024-02")); doc["kind"] != "login" {
		t.Errorf("PATCH of u1/2024-01 changed u1/2024-02: %v", doc)
	}
	checkProblem(t, "PUT with another sort key in the body", s.putRecord(tok, recPath("events", "u1", "x"), `{"ts":"y"}`, nil), http.StatusUnprocessableEntity)
	if r := s.do(http.MethodDelete, recPath("events", "u1", "2024-02"), tok, nil, nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE u1/2024-02: %d %s", r.status, r.body)
	}
	checkProblem(t, "GET a deleted sorted record", s.do(http.MethodGet, recPath("events", "u1", "2024-02"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "GET a missing sort key", s.do(http.MethodGet, recPath("events", "u1", "1999"), tok, nil, nil), http.StatusNotFound)

	r = s.do(http.MethodPost, collPath("events", "/records:batchGet"), tok, []byte(`{"keys":[{"id":"u1","sort":"2024-01"},{"id":"u1","sort":"2024-02"},{"id":"u2","sort":"2024-01"}]}`), nil)
	if got := batchStatuses(t, r); !slices.Equal(got, []int{200, 404, 200}) {
		t.Errorf("batchGet with sort keys: statuses %v; want [200 404 200]", got)
	}

	// Without the sort key the record has no address; in a collection
	// without one, a sort key path names nothing.
	r = s.do(http.MethodGet, recPath("events", "u1"), tok, nil, nil)
	if r.status != http.StatusNotFound && r.status != http.StatusUnprocessableEntity {
		t.Errorf("GET without the sort key: %d %s; want 404 or 422", r.status, r.body)
	}
	checkProblem(t, "PUT without the sort key", s.putRecord(tok, recPath("events", "u9"), `{"kind":"x"}`, nil), r.status)
	s.mustPut(tok, recPath("flat", "x"), `{"a":1}`)
	checkProblem(t, "GET a sort key path of an unsorted collection", s.do(http.MethodGet, recPath("flat", "x", "y"), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "PUT a sort key path of an unsorted collection", s.putRecord(tok, recPath("flat", "x", "y"), `{"a":2}`, nil), http.StatusNotFound)
	if doc, _ := s.mustGetDoc(tok, recPath("flat", "x")); doc["a"] != json.Number("1") {
		t.Errorf("flat/x after a refused sorted PUT: %v", doc)
	}
}

// batchStatuses decodes a batch answer's per-entry statuses.
func batchStatuses(t testing.TB, r resp) []int {
	t.Helper()
	if r.status != http.StatusOK {
		t.Errorf("batch: %d %s; want 200", r.status, r.body)
		return nil
	}
	var out batchAnswer
	mustDecode(t, "batch", r, &out)
	var st []int
	for _, e := range out.Results {
		st = append(st, e.Status)
	}
	return st
}

type batchAnswer struct {
	Results []struct {
		ID     string         `json:"id"`
		Sort   string         `json:"sort"`
		Status int            `json:"status"`
		ETag   string         `json:"etag"`
		Record map[string]any `json:"record"`
		Error  string         `json:"error"`
	} `json:"results"`
}

// Listing walks every record exactly once; cursors are opaque and bound.
func TestV1ListCursor(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	s.mustCollection("other", custSchema)
	const n = 23
	want := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("record-%04d", i)
		want[id] = s.mustPut(tok, recPath("cust", id), fmt.Sprintf(`{"email":"%d@x","i":%d}`, i%5, i))
	}
	s.mustPut(tok, recPath("other", "o1"), `{"email":"o@x"}`)

	for _, limit := range []int{1, 5, 23, 100} {
		recs, pages := s.listAll(tok, "cust", nil, limit)
		seen := map[string]int{}
		for _, r := range recs {
			seen[r.ID]++
			if r.ETag != want[r.ID] {
				t.Errorf("limit %d: %s has ETag %s; want %s", limit, r.ID, r.ETag, want[r.ID])
			}
			i, _ := strconv.Atoi(strings.TrimPrefix(r.ID, "record-"))
			if r.Record["id"] != r.ID || r.Record["i"] != json.Number(strconv.Itoa(i)) {
				t.Errorf("limit %d: %s holds %v", limit, r.ID, r.Record)
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("limit %d: %s listed %d times; want once", limit, id, seen[id])
			}
		}
		if len(recs) != n {
			t.Errorf("limit %d: %d records; want %d", limit, len(recs), n)
		}
		if limit < n && pages < (n+limit-1)/limit {
			t.Errorf("limit %d: %d pages; want at least %d", limit, pages, (n+limit-1)/limit)
		}
	}

	r := s.do(http.MethodGet, listPath("cust", url.Values{"limit": {"5"}}), tok, nil, nil)
	var p listPage
	mustDecode(t, "first page", r, &p)
	if p.Cursor == "" || len(p.Records) != 5 {
		t.Fatalf("first page of 5: %s; want 5 records and a cursor", r.body)
	}
	// The cursor is base64url: a record id in clear would show in its
	// decoded bytes. The ids are 11 bytes long so that none turns up by
	// chance (a 3-letter id did, in about 1 run in 1,400, in the text).
	raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil {
		t.Fatalf("cursor %q is not base64url: %v", p.Cursor, err)
	}
	for _, id := range []string{"record-0000", "record-0001", "record-0004", "record-0005", "record-0010"} {
		if bytes.Contains(raw, []byte(id)) {
			t.Errorf("cursor %q holds record id %s in clear", p.Cursor, id)
		}
	}
	b := []byte(p.Cursor)
	b[len(b)/2] ^= 1
	for what, c := range map[string]string{
		"tampered":  string(b),
		"truncated": p.Cursor[:len(p.Cursor)-2],
		"garbage":   "not-a-cursor!",
	} {
		r := s.do(http.MethodGet, listPath("cust", url.Values{"limit": {"5"}, "cursor": {c}}), tok, nil, nil)
		checkProblem(t, what+" cursor", r, http.StatusUnprocessableEntity)
	}
	r = s.do(http.MethodGet, listPath("other", url.Values{"limit": {"5"}, "cursor": {p.Cursor}}), tok, nil, nil)
	checkProblem(t, "a cursor of another collection", r, http.StatusUnprocessableEntity)
	r = s.do(http.MethodGet, listPath("cust", url.Values{"email": {"1@x"}, "cursor": {p.Cursor}}), tok, nil, nil)
	checkProblem(t, "a list cursor used for a search", r, http.StatusUnprocessableEntity)
	for _, l := range []string{"-1", "1001", "x"} {
		checkProblem(t, "limit="+l, s.do(http.MethodGet, listPath("cust", url.Values{"limit": {l}}), tok, nil, nil), http.StatusUnprocessableEntity)
	}
	checkProblem(t, "list a missing collection", s.do(http.MethodGet, listPath("nope", nil), tok, nil, nil), http.StatusNotFound)
	checkProblem(t, "list cust as items:read", s.do(http.MethodGet, listPath("cust", nil), s.tokens[tokReader], nil, nil), http.StatusNotFound)
}

// ?attribute=value searches a searchable attribute; other attributes are
// refused.
func TestV1Search(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	s.mustPut(tok, recPath("cust", "r1"), `{"email":"ada@example.com","country":"GB"}`)
	s.mustPut(tok, recPath("cust", "r2"), `{"email":"bob@example.com","country":"GB"}`)
	s.mustPut(tok, recPath("cust", "r3"), `{"email":"ada@example.com","country":"FR"}`)
	s.mustPut(tok, recPath("cust", "r4"), `{"country":"FR"}`)

	for email, want := range map[string][]string{
		"ada@example.com": {"r1", "r3"},
		"bob@example.com": {"r2"},
		"ADA@example.com": nil,
		"":                nil,
	} {
		recs, _ := s.listAll(tok, "cust", url.Values{"email": {email}}, 10)
		var got []string
		for _, r := range recs {
			got = append(got, r.ID)
			if r.Record["email"] != email {
				t.Errorf("search email=%q returned %s holding %v", email, r.ID, r.Record["email"])
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("search email=%q: %v; want %v", email, got, want)
		}
	}
	// A search cursor is bound to the value searched for.
	r := s.do(http.MethodGet, listPath("cust", url.Values{"email": {"ada@example.com"}, "limit": {"1"}}), tok, nil, nil)
	var page listPage
	mustDecode(t, "search page", r, &page)
	if page.Cursor == "" {
		t.Fatalf("search with limit 1 of 2 matches: %s; want a cursor", r.body)
	}
	r = s.do(http.MethodGet, listPath("cust", url.Values{"email": {"bob@example.com"}, "cursor": {page.Cursor}}), tok, nil, nil)
	checkProblem(t, "a search cursor for another value", r, http.StatusUnprocessableEntity)
	r = s.do(http.MethodGet, listPath("cust", url.Values{"cursor": {page.Cursor}}), tok, nil, nil)
	checkProblem(t, "a search cursor for a list", r, http.StatusUnprocessableEntity)

	r = s.do(http.MethodGet, listPath("cust", url.Values{"country": {"GB"}}), tok, nil, nil)
	p := checkProblem(t, "search on a signed attribute", r, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "country") {
		t.Errorf("search on country: detail %q does not name the attribute", p.Detail)
	}
	// Two filters: records matching both.
	s.mustCollection("two", `{"partitionKey":"id","searchable":{"a":2,"b":2}}`)
	for i := range 12 {
		s.mustPut(tok, recPath("two", strconv.Itoa(i)), fmt.Sprintf(`{"a":"a%d","b":"b%d"}`, i%3, i%4))
	}
	recs, _ := s.listAll(tok, "two", url.Values{"a": {"a1"}, "b": {"b3"}}, 2)
	if len(recs) != 1 || recs[0].ID != "7" {
		t.Errorf("search a=a1&b=b3: %v; want record 7 alone", recs)
	}
	checkProblem(t, "search on an unknown attribute", s.do(http.MethodGet, listPath("cust", url.Values{"zzz": {"1"}}), tok, nil, nil), http.StatusUnprocessableEntity)
	checkProblem(t, "a search attribute twice", s.do(http.MethodGet, collPath("cust", "/records?email=a&email=b"), tok, nil, nil), http.StatusUnprocessableEntity)
}

// Other methods on /v1 paths are 405 with Allow; a body of another media
// type is 415; ids of any printable Unicode round-trip.
func TestV1MethodsAndMedia(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	tok := s.tokens[tokAdmin]
	s.mustCollection("c", `{"partitionKey":"id"}`)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, recPath("c", "r1"), "GET, PUT, PATCH, DELETE, HEAD"},
		{http.MethodGet, collPath("c", "/records:batchGet"), "POST"},
		{http.MethodPut, collPath("c", "/records:batchPut"), "POST"},
		{http.MethodDelete, collPath("c"), "GET, PUT, HEAD"},
		{http.MethodPost, "/v1/collections", "GET, HEAD"},
		{http.MethodPut, "/v1/tokens", "GET, POST, HEAD"},
		{http.MethodDelete, "/v1/audit", "GET, HEAD"},
	} {
		r := s.do(tc.method, tc.path, tok, nil, nil)
		checkProblem(t, tc.method+" "+tc.path, r, http.StatusMethodNotAllowed)
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q; want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	s.mustPut(tok, recPath("c", "r1"), `{"a":1}`)
	for _, m := range []string{http.MethodPut, http.MethodPatch} {
		r := s.do(m, recPath("c", "r1"), tok, []byte(`{"a":2}`), map[string]string{"Content-Type": "text/plain"})
		checkProblem(t, m+" text/plain", r, http.StatusUnsupportedMediaType)
	}
	if doc, _ := s.mustGetDoc(tok, recPath("c", "r1")); doc["a"] != json.Number("1") {
		t.Errorf("after refused media types: %v", doc)
	}

	ids := []string{"ünï cødé 🚀", "100% + & ? # / \\ \"q\"", "..x", "a//b", " lead and trail "}
	for _, id := range ids {
		s.mustPut(tok, recPath("c", id), `{"a":1}`)
		if doc, _ := s.mustGetDoc(tok, recPath("c", id)); doc["id"] != id {
			t.Errorf("GET %q: id %v", id, doc["id"])
		}
	}
	recs, _ := s.listAll(tok, "c", nil, 100)
	var got []string
	for _, r := range recs {
		got = append(got, r.ID)
	}
	want := append([]string{"r1"}, ids...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("list: ids %q; want %q", got, want)
	}
}
