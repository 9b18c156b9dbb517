package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// collectionInfo is the body of a collection route.
type collectionInfo struct {
	Name   string `json:"name"`
	Table  string `json:"table"`
	Schema struct {
		PartitionKey string            `json:"partitionKey"`
		SortKey      string            `json:"sortKey"`
		Attributes   map[string]string `json:"attributes"`
		Searchable   map[string]int    `json:"searchable"`
		Suite        string            `json:"suite"`
	} `json:"schema"`
	Version int `json:"version"`
}

// collectionNames lists the collections token sees.
func (s *srv) collectionNames(token string) []string {
	s.t.Helper()
	r := s.do(http.MethodGet, "/v1/collections", token, nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /v1/collections: %d %s", r.status, r.body)
	}
	var out struct{ Collections []collectionInfo }
	mustDecode(s.t, "GET /v1/collections", r, &out)
	names := []string{}
	for _, c := range out.Collections {
		names = append(names, c.Name)
	}
	return names
}

// getCollection reads a collection as the admin.
func (s *srv) getCollection(name string) collectionInfo {
	s.t.Helper()
	r := s.do(http.MethodGet, collPath(name), s.tokens[tokAdmin], nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s; want 200", collPath(name), r.status, r.body)
	}
	var c collectionInfo
	mustDecode(s.t, "GET "+collPath(name), r, &c)
	return c
}

// custSchema is a collection of customers with a searchable email.
const custSchema = `{"partitionKey":"id","attributes":{"country":"sign","note":"plain"},"searchable":{"email":16}}`

// PUT /v1/collections/{name}: 201 on create, 200 for the same or a safe
// schema, 409 naming the attribute for unsafe changes, 422 for bad
// schemas, 404 to a token with no scope on the name, 403 to one without
// admin.
func TestV1CollectionPut(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	const schema = `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain"},"searchable":{"email":16}}`

	r := s.do(http.MethodPut, collPath("cust"), adm, []byte(schema), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s; want 201", r.status, r.body)
	}
	var c collectionInfo
	mustDecode(t, "create", r, &c)
	if c.Name != "cust" || c.Table != "col_cust" || c.Version != 1 || c.Schema.PartitionKey != "id" ||
		c.Schema.Suite != "0x6700" || c.Schema.Searchable["email"] != 16 || c.Schema.Attributes["tier"] != "sign-and-bind" {
		t.Errorf("create: body %s; want name cust, table col_cust, version 1, the schema with suite 0x6700", r.body)
	}
	r = s.do(http.MethodPut, collPath("cust"), adm, []byte(schema), nil)
	if r.status != http.StatusOK {
		t.Fatalf("same schema again: %d %s; want 200", r.status, r.body)
	}
	if c = s.getCollection("cust"); c.Version != 1 {
		t.Errorf("same schema again: version %d; want 1 (nothing changed)", c.Version)
	}

	// A stored record makes the collection non-empty.
	s.mustPut(adm, recPath("cust", "r1"), `{"email":"ada@example.com","country":"GB","tier":"gold","note":"n"}`)
	safe := `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain","nickname":"sign"},"searchable":{"email":16}}`
	r = s.do(http.MethodPut, collPath("cust"), adm, []byte(safe), nil)
	if r.status != http.StatusOK {
		t.Fatalf("add an attribute: %d %s; want 200", r.status, r.body)
	}
	if c = s.getCollection("cust"); c.Version != 2 || c.Schema.Attributes["nickname"] != "sign" {
		t.Errorf("after adding an attribute: version %d, attributes %v; want version 2 with nickname:sign", c.Version, c.Schema.Attributes)
	}
	if doc, _ := s.mustGetDoc(adm, recPath("cust", "r1")); doc["email"] != "ada@example.com" {
		t.Errorf("after a safe change the stored record reads %v", doc)
	}

	for _, tc := range []struct {
		what, schema, names string
	}{
		{"sign to plain", `{"partitionKey":"id","attributes":{"country":"plain","tier":"sign-and-bind","note":"plain","nickname":"sign"},"searchable":{"email":16}}`, `"country"`},
		{"plain to encrypt", `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","nickname":"sign"},"searchable":{"email":16}}`, `"note"`},
		{"new searchable", `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain","nickname":"sign"},"searchable":{"email":16,"name":8}}`, `"name"`},
		{"beacon length", `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain","nickname":"sign"},"searchable":{"email":8}}`, `"email"`},
		{"key", `{"partitionKey":"pk","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain","nickname":"sign"},"searchable":{"email":16}}`, "key"},
	} {
		r := s.do(http.MethodPut, collPath("cust"), adm, []byte(tc.schema), nil)
		p := checkProblem(t, "unsafe change: "+tc.what, r, http.StatusConflict)
		if !strings.Contains(p.Detail, tc.names) {
			t.Errorf("unsafe change %s: detail %q does not name %s", tc.what, p.Detail, tc.names)
		}
	}
	if c = s.getCollection("cust"); c.Version != 2 || c.Schema.Attributes["country"] != "sign" || c.Schema.PartitionKey != "id" {
		t.Errorf("after refused changes: version %d, schema %+v; want version 2, unchanged", c.Version, c.Schema)
	}

	for _, tc := range []struct{ what, schema string }{
		{"no partition key", `{}`},
		{"empty partition key", `{"partitionKey":""}`},
		{"unknown action", `{"partitionKey":"id","attributes":{"x":"shred"}}`},
		{"reserved attribute name", `{"partitionKey":"id","attributes":{"aws_dbe_x":"sign"}}`},
		{"plain key", `{"partitionKey":"id","attributes":{"id":"plain"}}`},
		{"searchable signed attribute", `{"partitionKey":"id","attributes":{"c":"sign"},"searchable":{"c":8}}`},
		{"beacon of 0 bits", `{"partitionKey":"id","searchable":{"e":0}}`},
		{"beacon of 64 bits", `{"partitionKey":"id","searchable":{"e":64}}`},
		{"unknown suite", `{"partitionKey":"id","suite":"0x6702"}`},
		{"sort key equals partition key", `{"partitionKey":"id","sortKey":"id"}`},
		{"not JSON", `{"partitionKey":`},
	} {
		r := s.do(http.MethodPut, collPath("bad"), adm, []byte(tc.schema), nil)
		if r.status != http.StatusBadRequest {
			checkProblem(t, "bad schema: "+tc.what, r, http.StatusUnprocessableEntity)
		} else {
			checkProblem(t, "bad schema: "+tc.what, r, http.StatusBadRequest)
		}
	}
	checkProblem(t, "bad collection name", s.do(http.MethodPut, collPath("-bad"), adm, []byte(`{"partitionKey":"id"}`), nil), http.StatusUnprocessableEntity)
	checkProblem(t, "GET a collection no valid PUT created", s.do(http.MethodGet, collPath("bad"), adm, nil, nil), http.StatusNotFound)

	// other:admin has no scope on "newcoll": 404, and nothing is created.
	p := checkProblem(t, "PUT by a token with no scope on the name", s.do(http.MethodPut, collPath("newcoll"), s.tokens[tokOther], []byte(`{"partitionKey":"id"}`), nil), http.StatusNotFound)
	if p.Detail != "not found" {
		t.Errorf("PUT by a token with no scope: detail %q; want \"not found\"", p.Detail)
	}
	checkProblem(t, "GET after a refused PUT", s.do(http.MethodGet, collPath("newcoll"), adm, nil, nil), http.StatusNotFound)
	// items:read,write sees "items" but does not administer it.
	checkProblem(t, "PUT by a token without admin", s.do(http.MethodPut, collPath("items"), s.tokens[tokRW], []byte(`{"partitionKey":"item_id"}`), nil), http.StatusForbidden)
	// other:admin creates its own collection.
	if r := s.do(http.MethodPut, collPath("other"), s.tokens[tokOther], []byte(`{"partitionKey":"id"}`), nil); r.status != http.StatusCreated {
		t.Errorf("PUT /v1/collections/other by other:admin: %d %s; want 201", r.status, r.body)
	}
	r = s.do(http.MethodPut, collPath("items"), adm, []byte(`{"partitionKey":"item_id","attributes":{"secret":"sign"}}`), nil)
	checkProblem(t, "changing the reference collection", r, http.StatusConflict)
}

// GET /v1/collections lists only what the token has a scope on; GET
// /v1/collections/{name} and /beacons answer per scope.
func TestV1CollectionGet(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("cust", custSchema)
	s.mustCollection("other", `{"partitionKey":"id"}`)

	for _, tc := range []struct {
		tok  string
		want []string
	}{
		{tokAdmin, []string{"cust", "items", "other"}},
		{tokRW, []string{"items"}},
		{tokReader, []string{"items"}},
		{tokWriter, []string{"items"}},
		{tokOther, []string{"other"}},
	} {
		got := s.collectionNames(s.tokens[tc.tok])
		if !slices.Equal(got, tc.want) {
			t.Errorf("GET /v1/collections as %s: %v; want %v", tc.tok, got, tc.want)
		}
	}
	checkProblem(t, "list without a token", s.do(http.MethodGet, "/v1/collections", "", nil, nil), http.StatusUnauthorized)

	c := s.getCollection("cust")
	var want collectionInfo
	want.Name, want.Table, want.Version = "cust", "col_cust", 1
	if err := json.Unmarshal([]byte(custSchema), &want.Schema); err != nil {
		t.Fatal(err)
	}
	want.Schema.Suite = "0x6700"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("GET cust: %+v; want %+v", c, want)
	}
	r := s.do(http.MethodGet, collPath("items"), s.tokens[tokReader], nil, nil)
	if r.status != http.StatusOK {
		t.Errorf("GET items as items:read: %d %s; want 200", r.status, r.body)
	}
	checkProblem(t, "GET cust as items:read", s.do(http.MethodGet, collPath("cust"), s.tokens[tokReader], nil, nil), http.StatusNotFound)
	checkProblem(t, "GET a missing collection", s.do(http.MethodGet, collPath("nope"), adm, nil, nil), http.StatusNotFound)

	// Beacon advice counts the stored beacons: 6 records, 3 emails. The
	// beacon is 32 bits long so that the 3 emails' beacons differ but
	// for a chance of 3 in 2^32 (with 16 bits, 1 run in 22,000 failed).
	s.mustCollection("adv", `{"partitionKey":"id","searchable":{"email":32}}`)
	for i, e := range []string{"a@x", "b@x", "c@x", "a@x", "b@x", "c@x"} {
		s.mustPut(adm, recPath("adv", "r"+string(rune('0'+i))), `{"email":"`+e+`"}`)
	}
	s.mustPut(adm, recPath("adv", "no-email"), `{"name":"n"}`)
	r = s.do(http.MethodGet, collPath("adv", "/beacons"), adm, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET beacons: %d %s", r.status, r.body)
	}
	var adv struct {
		Beacons []struct {
			Attribute string `json:"attribute"`
			Length    int    `json:"length"`
			Records   int    `json:"records"`
			Distinct  int    `json:"distinctBeacons"`
			Advice    string `json:"advice"`
		} `json:"beacons"`
	}
	mustDecode(t, "GET beacons", r, &adv)
	if len(adv.Beacons) != 1 {
		t.Fatalf("GET beacons: %s; want one attribute", r.body)
	}
	if b := adv.Beacons[0]; b.Attribute != "email" || b.Length != 32 || b.Records != 6 || b.Distinct != 3 || b.Advice == "" {
		t.Errorf("GET beacons: %+v; want email, 32 bits, 6 records, 3 distinct, some advice", b)
	}
	checkProblem(t, "beacons as items:read,write", s.do(http.MethodGet, collPath("items", "/beacons"), s.tokens[tokRW], nil, nil), http.StatusForbidden)
	checkProblem(t, "beacons of cust as other:admin", s.do(http.MethodGet, collPath("cust", "/beacons"), s.tokens[tokOther], nil, nil), http.StatusNotFound)
	checkProblem(t, "beacons of a missing collection", s.do(http.MethodGet, collPath("nope", "/beacons"), adm, nil, nil), http.StatusNotFound)
}

// Every /v1 route refuses a request without a valid token with 401
// problem+json.
func TestV1Unauthenticated(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true, failureLimit: 1000})
	s.mustCollection("cust", custSchema)
	s.mustPut(s.tokens[tokAdmin], recPath("cust", "r1"), `{"email":"a@x"}`)
	for _, rt := range v1Routes {
		path := strings.NewReplacer("{name}", "cust", "{id}", "r1", "{sort}", "s").Replace(rt.path)
		for _, tok := range []string{"", s.tokens[tokRevoked], "sst_" + randB64URL(32)} {
			var body []byte
			if rt.method == http.MethodPut || rt.method == http.MethodPost || rt.method == http.MethodPatch {
				body = []byte(`{}`)
			}
			r := s.do(rt.method, path, tok, body, nil)
			checkProblem(t, rt.method+" "+path+" without a valid token", r, http.StatusUnauthorized)
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", rt.method, path)
			}
			checkSecurityHeaders(t, rt.method+" "+path, r.header)
		}
	}
	if doc, _ := s.mustGetDoc(s.tokens[tokAdmin], recPath("cust", "r1")); doc["email"] != "a@x" {
		t.Errorf("after refused requests the record reads %v", doc)
	}
}

// Changes the server accepts on a collection that holds records leave
// those records readable, patchable and replaceable, and new records
// follow the new schema.
func TestV1CollectionSafeChanges(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("evo", `{"partitionKey":"id","attributes":{"country":"sign-and-bind","kind":"sign","note":"plain"},"searchable":{"email":8}}`)
	s.mustPut(adm, recPath("evo", "old"), `{"email":"a@x","name":"Ada","country":"GB","kind":"k","note":"n"}`)
	p := checkProblem(t, "a record without its sign-and-bind attribute", s.putRecord(adm, recPath("evo", "nobind"), `{"email":"b@x"}`, nil), http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "country") {
		t.Errorf("a record without its sign-and-bind attribute: detail %q does not name it", p.Detail)
	}
	checkProblem(t, "PATCH removing the sign-and-bind attribute", s.patch(adm, recPath("evo", "old"), `{"country":null}`, nil), http.StatusUnprocessableEntity)

	for i, schema := range []string{
		// name: encrypt → sign; kind: sign → encrypt.
		`{"partitionKey":"id","attributes":{"country":"sign-and-bind","name":"sign","note":"plain"},"searchable":{"email":8}}`,
		// country: sign-and-bind → sign (no attribute bound any more).
		`{"partitionKey":"id","attributes":{"country":"sign","name":"sign","note":"plain"},"searchable":{"email":8}}`,
		// The other suite, and a new attribute.
		`{"partitionKey":"id","attributes":{"country":"sign","name":"sign","note":"plain","extra":"sign"},"searchable":{"email":8},"suite":"0x6701"}`,
		// Back to the first suite, country encrypted.
		`{"partitionKey":"id","attributes":{"name":"encrypt","note":"plain","extra":"sign"},"searchable":{"email":8}}`,
	} {
		r := s.do(http.MethodPut, collPath("evo"), adm, []byte(schema), nil)
		if r.status != http.StatusOK {
			t.Fatalf("change %d: %d %s; want 200", i, r.status, r.body)
		}
		if c := s.getCollection("evo"); c.Version != i+2 {
			t.Errorf("change %d: version %d; want %d", i, c.Version, i+2)
		}
		id := "new" + strconv.Itoa(i)
		s.mustPut(adm, recPath("evo", id), `{"email":"a@x","name":"N","country":"FR","kind":"k","note":"n"}`)
		for _, rid := range []string{"old", id} {
			doc, _ := s.mustGetDoc(adm, recPath("evo", rid))
			if doc["email"] != "a@x" || doc["kind"] != "k" {
				t.Errorf("change %d: %s reads %v", i, rid, doc)
			}
		}
		r = s.patch(adm, recPath("evo", "old"), `{"step":`+strconv.Itoa(i)+`}`, nil)
		if r.status != http.StatusOK {
			t.Errorf("change %d: PATCH of the oldest record: %d %s", i, r.status, r.body)
		}
	}
	recs, _ := s.listAll(adm, "evo", url.Values{"email": {"a@x"}}, 2)
	if len(recs) != 5 {
		t.Errorf("search after the changes: %d records; want 5", len(recs))
	}
	if doc, _ := s.mustGetDoc(adm, recPath("evo", "old")); doc["step"] != json.Number("3") || doc["name"] != "Ada" {
		t.Errorf("the oldest record after the changes: %v", doc)
	}
}
