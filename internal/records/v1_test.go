package records_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/store"
)

// v1Env is a service over a bolt store, with helpers for /v1 collections.
type v1Env struct {
	*env
	svc *records.Service
}

func newV1(t *testing.T) *v1Env {
	t.Helper()
	e := newEnv(t)
	return &v1Env{env: e, svc: e.open(t)}
}

// create creates collection name with schema sc, which must succeed.
func (v *v1Env) create(t *testing.T, name string, sc records.Schema) records.CollectionInfo {
	t.Helper()
	info, created, err := v.svc.PutCollection(t.Context(), name, sc)
	if err != nil || !created {
		t.Fatalf("PutCollection(%q): created %v, %v", name, created, err)
	}
	return info
}

func (v *v1Env) putRec(t *testing.T, coll string, k records.Key, doc attr.Item) string {
	t.Helper()
	etag, err := v.svc.PutRecord(t.Context(), coll, k, doc, records.Precondition{})
	if err != nil {
		t.Fatalf("PutRecord(%s, %v): %v", coll, k, err)
	}
	if etag == "" {
		t.Fatalf("PutRecord(%s, %v): empty ETag", coll, k)
	}
	return etag
}

func (v *v1Env) getRec(t *testing.T, coll string, k records.Key) records.Record {
	t.Helper()
	r, err := v.svc.GetRecord(t.Context(), coll, k)
	if err != nil {
		t.Fatalf("GetRecord(%s, %v): %v", coll, k, err)
	}
	return r
}

// table is the store table of collection coll with schema sc, as a reader
// of the raw store names it.
func table(coll string, sc records.Schema) store.Table {
	return store.Table{Name: "col_" + coll, PartitionKey: sc.PartitionKey, SortKey: sc.SortKey}
}

// rawKey is the store key of k under sc.
func rawKey(sc records.Schema, k records.Key) attr.Item {
	key := attr.Item{sc.PartitionKey: attr.S(k.ID)}
	if sc.SortKey != "" {
		key[sc.SortKey] = attr.S(k.Sort)
	}
	return key
}

func (v *v1Env) raw(t *testing.T, coll string, sc records.Schema, k records.Key) attr.Item {
	t.Helper()
	it, err := v.db.Get(t.Context(), table(coll, sc), rawKey(sc, k))
	if err != nil {
		t.Fatalf("store Get(%s, %v): %v", coll, k, err)
	}
	return it
}

func (v *v1Env) putRaw(t *testing.T, coll string, sc records.Schema, it attr.Item) {
	t.Helper()
	if err := v.db.Put(t.Context(), table(coll, sc), it, store.Cond{}); err != nil {
		t.Fatalf("store Put(%s): %v", coll, err)
	}
}

// parse parses a JSON document, which must succeed.
func parse(t *testing.T, doc string) attr.Item {
	t.Helper()
	it, err := records.ParseDocument([]byte(doc))
	if err != nil {
		t.Fatalf("ParseDocument(%s): %v", doc, err)
	}
	return it
}

// equalItems reports whether two items hold the same attributes and values.
func equalItems(a, b attr.Item) bool { return attr.Equal(attr.M(a), attr.M(b)) }

// show renders an item for a failure message.
func show(it attr.Item) string {
	b, err := records.MarshalDocument(it)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// with returns a copy of it with the attributes of more added.
func with(it attr.Item, more attr.Item) attr.Item {
	out := maps.Clone(it)
	maps.Copy(out, more)
	return out
}

// wantInvalid checks that err is an *InvalidError matching ErrInvalid
// whose field is field (any field when field is "").
func wantInvalid(t *testing.T, what string, err error, field string) {
	t.Helper()
	var inv *records.InvalidError
	if !errors.Is(err, records.ErrInvalid) || !errors.As(err, &inv) {
		t.Errorf("%s: %v, want an *InvalidError", what, err)
		return
	}
	if field != "" && inv.Field != field {
		t.Errorf("%s: field %q, want %q (%v)", what, inv.Field, field, err)
	}
	if inv.Reason == "" {
		t.Errorf("%s: empty reason", what)
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: %v, want %v", what, err, target)
	}
}

var peopleSchema = records.Schema{PartitionKey: "id"}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	docs := map[string]string{
		"strings": `{"name":"Ada","empty":"","unicode":"秘密 🔑 é","escapes":"a\"b\\c\n\u0000"}`,
		"numbers": `{"big":12345678901234567890.5,"neg":-42,"small":0.000001,"zero":0,"max":99999999999999999999999999999999999999}`,
		"bools":   `{"yes":true,"no":false}`,
		"null":    `{"nothing":null}`,
		"nested":  `{"list":[1,"two",[3,[4]],{"five":5},null,true],"map":{"a":{"b":{"c":[]}},"d":{}},"emptyList":[]}`,
		"only id": `{}`,
	}
	for id, doc := range docs {
		want := parse(t, doc)
		etag := v.putRec(t, "people", records.Key{ID: id}, want)
		got := v.getRec(t, "people", records.Key{ID: id})
		// The key attribute comes from the path.
		want = with(want, attr.Item{"id": attr.S(id)})
		if !equalItems(got.Doc, want) {
			t.Errorf("%s: got %s, want %s", id, show(got.Doc), show(want))
		}
		if got.Key != (records.Key{ID: id}) {
			t.Errorf("%s: key %v", id, got.Key)
		}
		if got.ETag != etag {
			t.Errorf("%s: GetRecord ETag %s, PutRecord returned %s", id, got.ETag, etag)
		}
	}
	// Numbers keep their digits exactly: no float64 on the way.
	got := v.getRec(t, "people", records.Key{ID: "numbers"})
	for name, lit := range map[string]string{"big": "12345678901234567890.5", "max": "99999999999999999999999999999999999999", "small": "0.000001"} {
		if got.Doc[name] != attr.N(lit) {
			t.Errorf("number %s came back as %#v, want %s", name, got.Doc[name], lit)
		}
	}
	out, err := records.MarshalDocument(got.Doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"big":12345678901234567890.5`)) {
		t.Errorf("MarshalDocument lost the digits: %s", out)
	}
}

func TestPutRecordKeyAttributes(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	// A body key attribute equal to the path is fine.
	v.putRec(t, "people", records.Key{ID: "a"}, attr.Item{"id": attr.S("a"), "x": attr.N("1")})
	cases := map[string]attr.Item{
		"other id":       {"id": attr.S("b")},
		"id as a number": {"id": attr.N("1")},
		"id as a list":   {"id": attr.L{attr.S("a")}},
	}
	for name, doc := range cases {
		_, err := v.svc.PutRecord(ctx, "people", records.Key{ID: "a"}, doc, records.Precondition{})
		wantInvalid(t, name, err, "body.id")
	}
	if r := v.getRec(t, "people", records.Key{ID: "a"}); r.Doc["x"] != attr.N("1") {
		t.Errorf("a refused put changed the record: %s", show(r.Doc))
	}
	// Reserved names, at the top level, are refused; nested they are data.
	for _, name := range []string{item.HeaderAttr, item.FooterAttr, "aws_dbe_b_x", "aws_dbe_"} {
		_, err := v.svc.PutRecord(ctx, "people", records.Key{ID: "r"}, attr.Item{name: attr.S("v")}, records.Precondition{})
		wantInvalid(t, name, err, "body."+name)
	}
	if _, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "r"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a refused put stored a record: %v", err)
	}
	v.putRec(t, "people", records.Key{ID: "n"}, attr.Item{"m": attr.M{"aws_dbe_head": attr.S("data")}})
	// Names the item format cannot hold are refused, not stored.
	for name, doc := range map[string]string{"empty name": `{"":1}`, "empty nested name": `{"m":{"":1}}`} {
		_, err := v.svc.PutRecord(ctx, "people", records.Key{ID: "e"}, parse(t, doc), records.Precondition{})
		wantInvalid(t, name, err, "")
	}
	// Bad ids.
	for _, id := range []string{"", "a\x00b", strings.Repeat("x", records.MaxIDLen+1), "\xff"} {
		_, err := v.svc.PutRecord(ctx, "people", records.Key{ID: id}, attr.Item{}, records.Precondition{})
		wantInvalid(t, fmt.Sprintf("PutRecord id %.10q", id), err, "id")
		_, err = v.svc.GetRecord(ctx, "people", records.Key{ID: id})
		wantInvalid(t, fmt.Sprintf("GetRecord id %.10q", id), err, "id")
	}
	// A sort key in a collection without one names no record.
	_, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "a", Sort: "s"})
	wantIs(t, "GetRecord with a sort key in a collection without one", err, records.ErrNotFound)
	// Unknown collections.
	_, err = v.svc.PutRecord(ctx, "nobody", records.Key{ID: "a"}, attr.Item{}, records.Precondition{})
	wantIs(t, "PutRecord in an unknown collection", err, records.ErrNotFound)
	_, err = v.svc.GetRecord(ctx, "no such name!", records.Key{ID: "a"})
	wantIs(t, "GetRecord in an invalid collection name", err, records.ErrNotFound)
}

func TestSortKeyCollection(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	sc := records.Schema{PartitionKey: "user", SortKey: "at"}
	v.create(t, "events", sc)
	ctx := t.Context()
	want := map[records.Key]string{}
	for _, u := range []string{"u1", "u2"} {
		for _, at := range []string{"2024-01-01", "2024-01-02", "2024-01-03"} {
			k := records.Key{ID: u, Sort: at}
			v.putRec(t, "events", k, attr.Item{"what": attr.S(u + "@" + at)})
			want[k] = u + "@" + at
		}
	}
	for k, what := range want {
		r := v.getRec(t, "events", k)
		if r.Key != k || r.Doc["what"] != attr.S(what) || r.Doc["user"] != attr.S(k.ID) || r.Doc["at"] != attr.S(k.Sort) {
			t.Errorf("GetRecord(%v) = %v %s", k, r.Key, show(r.Doc))
		}
	}
	_, err := v.svc.GetRecord(ctx, "events", records.Key{ID: "u1"})
	wantInvalid(t, "GetRecord without the sort key", err, "path.sort")
	_, err = v.svc.GetRecord(ctx, "events", records.Key{ID: "u1", Sort: "1999"})
	wantIs(t, "GetRecord of a missing sort key", err, records.ErrNotFound)
	_, err = v.svc.PutRecord(ctx, "events", records.Key{ID: "u1", Sort: "x"}, attr.Item{"at": attr.S("y")}, records.Precondition{})
	wantInvalid(t, "body sort key disagreeing with the path", err, "body.at")
	// The list names every key.
	page, err := v.svc.ListRecords(ctx, "events", records.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[records.Key]string{}
	for _, r := range page.Records {
		got[r.Key] = string(r.Doc["what"].(attr.S))
	}
	if !maps.Equal(got, want) || page.Cursor != "" {
		t.Errorf("ListRecords: %v (cursor %q), want %v", got, page.Cursor, want)
	}
	if err := v.svc.DeleteRecord(ctx, "events", records.Key{ID: "u1", Sort: "2024-01-02"}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.svc.GetRecord(ctx, "events", records.Key{ID: "u1", Sort: "2024-01-02"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if r := v.getRec(t, "events", records.Key{ID: "u1", Sort: "2024-01-03"}); r.Doc["what"] != attr.S("u1@2024-01-03") {
		t.Errorf("delete touched a sibling: %s", show(r.Doc))
	}
}

func TestPutRecordPreconditions(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	k := records.Key{ID: "p"}
	createOnly := records.Precondition{IfNoneMatch: true}

	etag1, err := v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("1")}, createOnly)
	if err != nil {
		t.Fatalf("create-only put of a new record: %v", err)
	}
	// A strong entity tag: a quoted string.
	if len(etag1) < 3 || etag1[0] != '"' || etag1[len(etag1)-1] != '"' || strings.Count(etag1, `"`) != 2 {
		t.Errorf("ETag %s is not a quoted entity tag", etag1)
	}
	_, err = v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("2")}, createOnly)
	wantIs(t, "second create-only put", err, records.ErrPrecondition)

	etag2, err := v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("3")}, records.Precondition{IfMatch: []string{etag1}})
	if err != nil {
		t.Fatalf("If-Match with the current ETag: %v", err)
	}
	if etag2 == etag1 {
		t.Errorf("the ETag did not change on write: %s", etag2)
	}
	_, err = v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("4")}, records.Precondition{IfMatch: []string{etag1}})
	wantIs(t, "If-Match with a stale ETag", err, records.ErrPrecondition)
	// Any of several tags, and "*", match an existing record.
	etag3, err := v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("5")}, records.Precondition{IfMatch: []string{etag1, etag2}})
	if err != nil {
		t.Fatalf("If-Match with a list holding the current ETag: %v", err)
	}
	if _, err := v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("6")}, records.Precondition{IfMatch: []string{"*"}}); err != nil {
		t.Fatalf("If-Match * on an existing record: %v", err)
	}
	_, err = v.svc.PutRecord(ctx, "people", k, attr.Item{"v": attr.N("7")}, records.Precondition{IfMatch: []string{etag3}})
	wantIs(t, "If-Match with the ETag before an If-Match: * write", err, records.ErrPrecondition)
	_, err = v.svc.PutRecord(ctx, "people", records.Key{ID: "missing"}, attr.Item{}, records.Precondition{IfMatch: []string{"*"}})
	wantIs(t, "If-Match * on a missing record", err, records.ErrPrecondition)
	if _, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "missing"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a failed If-Match put created the record: %v", err)
	}
	if r := v.getRec(t, "people", k); r.Doc["v"] != attr.N("6") {
		t.Errorf("record after the failed writes: %s, want v 6", show(r.Doc))
	}
}

func TestDeleteRecord(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	err := v.svc.DeleteRecord(ctx, "people", records.Key{ID: "missing"}, records.Precondition{})
	wantIs(t, "deleting a missing record", err, records.ErrNotFound)
	err = v.svc.DeleteRecord(ctx, "people", records.Key{ID: "missing"}, records.Precondition{IfMatch: []string{"*"}})
	wantIs(t, "deleting a missing record If-Match *", err, records.ErrPrecondition)

	etag1 := v.putRec(t, "people", records.Key{ID: "a"}, attr.Item{"v": attr.N("1")})
	etag2 := v.putRec(t, "people", records.Key{ID: "a"}, attr.Item{"v": attr.N("2")})
	err = v.svc.DeleteRecord(ctx, "people", records.Key{ID: "a"}, records.Precondition{IfMatch: []string{etag1}})
	wantIs(t, "delete with a stale If-Match", err, records.ErrPrecondition)
	v.getRec(t, "people", records.Key{ID: "a"})
	if err := v.svc.DeleteRecord(ctx, "people", records.Key{ID: "a"}, records.Precondition{IfMatch: []string{etag2}}); err != nil {
		t.Fatalf("delete with the current ETag: %v", err)
	}
	if _, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "a"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	err = v.svc.DeleteRecord(ctx, "people", records.Key{ID: "a"}, records.Precondition{})
	wantIs(t, "deleting twice", err, records.ErrNotFound)

	v.putRec(t, "people", records.Key{ID: "b"}, attr.Item{})
	if err := v.svc.DeleteRecord(ctx, "people", records.Key{ID: "b"}, records.Precondition{}); err != nil {
		t.Fatalf("unconditional delete: %v", err)
	}
	err = v.svc.DeleteRecord(ctx, "people", records.Key{ID: ""}, records.Precondition{})
	wantInvalid(t, "delete with an empty id", err, "id")
}

func TestPatchRecord(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	k := records.Key{ID: "p"}
	v.putRec(t, "people", k, parse(t, `{"name":"Ada","drop":1,"tags":["a","b"],"addr":{"city":"London","zip":"N1","geo":{"lat":1,"lon":2}},"scalar":"s"}`))

	patch := parse(t, `{"name":"Ada L.","drop":null,"absent":null,"tags":["c"],"addr":{"zip":null,"street":"Main","geo":{"lat":3}},"scalar":{"now":"a map","gone":null},"new":[null,{"x":null}]}`)
	got, err := v.svc.PatchRecord(ctx, "people", k, patch, records.Precondition{})
	if err != nil {
		t.Fatalf("PatchRecord: %v", err)
	}
	want := parse(t, `{"id":"p","name":"Ada L.","tags":["c"],"addr":{"city":"London","street":"Main","geo":{"lat":3,"lon":2}},"scalar":{"now":"a map"},"new":[null,{"x":null}]}`)
	if !equalItems(got.Doc, want) {
		t.Errorf("PatchRecord returned %s, want %s", show(got.Doc), show(want))
	}
	stored := v.getRec(t, "people", k)
	if !equalItems(stored.Doc, want) {
		t.Errorf("after patch: %s, want %s", show(stored.Doc), show(want))
	}
	if stored.ETag != got.ETag || got.Key != k {
		t.Errorf("PatchRecord returned ETag %s key %v; GetRecord says %s", got.ETag, got.Key, stored.ETag)
	}

	_, err = v.svc.PatchRecord(ctx, "people", k, attr.Item{"id": attr.S("p")}, records.Precondition{})
	wantInvalid(t, "patching the key attribute", err, "body.id")
	_, err = v.svc.PatchRecord(ctx, "people", k, attr.Item{"aws_dbe_head": attr.Null{}}, records.Precondition{})
	wantInvalid(t, "patching a reserved attribute", err, "body.aws_dbe_head")
	_, err = v.svc.PatchRecord(ctx, "people", records.Key{ID: "missing"}, attr.Item{"a": attr.N("1")}, records.Precondition{})
	wantIs(t, "patching a missing record", err, records.ErrNotFound)
	_, err = v.svc.PatchRecord(ctx, "people", records.Key{ID: "missing"}, attr.Item{"a": attr.N("1")}, records.Precondition{IfMatch: []string{"*"}})
	wantIs(t, "patching a missing record If-Match *", err, records.ErrPrecondition)
	if _, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "missing"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a patch created a record: %v", err)
	}

	_, err = v.svc.PatchRecord(ctx, "people", k, attr.Item{"a": attr.N("1")}, records.Precondition{IfMatch: []string{`"stale"`}})
	wantIs(t, "patch with a stale If-Match", err, records.ErrPrecondition)
	_, err = v.svc.PatchRecord(ctx, "people", k, attr.Item{"a": attr.N("1")}, records.Precondition{IfNoneMatch: true})
	wantIs(t, "patch with If-None-Match on an existing record", err, records.ErrPrecondition)
	if r := v.getRec(t, "people", k); !equalItems(r.Doc, want) || r.ETag != stored.ETag {
		t.Errorf("a refused patch changed the record: %s", show(r.Doc))
	}
	next, err := v.svc.PatchRecord(ctx, "people", k, attr.Item{"a": attr.N("1")}, records.Precondition{IfMatch: []string{stored.ETag}})
	if err != nil {
		t.Fatalf("patch with the current ETag: %v", err)
	}
	if next.ETag == stored.ETag || next.Doc["a"] != attr.N("1") {
		t.Errorf("patch with the current ETag: %s %s", next.ETag, show(next.Doc))
	}
}

func TestStoredForm(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	sc := records.Schema{
		PartitionKey: "id",
		Attributes:   map[string]string{"country": records.ActionSign, "note": records.ActionPlain, "team": records.ActionSignAndBind},
		Searchable:   map[string]int{"email": 16, "odd": 5},
	}
	v.create(t, "people", sc)
	const email = "ada.lovelace.canary@example.org"
	doc := attr.Item{
		"email":   attr.S(email),
		"odd":     attr.S("an odd-length beacon"),
		"secret":  attr.S("the distinctive secret canary"),
		"nums":    attr.N("12345678901234567890.5"),
		"country": attr.S("GB"),
		"team":    attr.S("engines"),
		"note":    attr.S("plain note"),
	}
	v.putRec(t, "people", records.Key{ID: "ada"}, doc)
	it := v.raw(t, "people", sc, records.Key{ID: "ada"})

	for _, name := range []string{"email", "odd", "secret", "nums"} {
		b, ok := it[name].(attr.B)
		if !ok {
			t.Errorf("encrypted attribute %s stored as %T", name, it[name])
			continue
		}
		if plain, ok := doc[name].(attr.S); ok && bytes.Contains(b, []byte(plain)) {
			t.Errorf("encrypted attribute %s holds its plaintext", name)
		}
	}
	for name, want := range map[string]attr.Value{"id": attr.S("ada"), "country": attr.S("GB"), "team": attr.S("engines"), "note": attr.S("plain note")} {
		if !attr.Equal(it[name], want) {
			t.Errorf("stored %s = %#v, want it readable: %#v", name, it[name], want)
		}
	}
	for _, name := range []string{item.HeaderAttr, item.FooterAttr} {
		if b, ok := it[name].(attr.B); !ok || len(b) == 0 {
			t.Errorf("stored %s is %T, want non-empty binary", name, it[name])
		}
	}
	typed, err := attr.MarshalTyped(attr.M(it))
	if err != nil {
		t.Fatal(err)
	}
	for _, canary := range []string{"canary", "12345678901234567890"} {
		if bytes.Contains(typed, []byte(canary)) {
			t.Errorf("the stored item holds %q in clear", canary)
		}
	}

	// Beacons: a hex string of ceil(bits/4) digits, equal to the DB-ESDK
	// standard beacon under the collection's beacon key.
	bk := v.beaconKey(t, "people")
	for name, bits := range sc.Searchable {
		b, ok := it[beacon.AttributeName(name)].(attr.S)
		if !ok {
			t.Errorf("no string beacon %s: %#v", beacon.AttributeName(name), it[beacon.AttributeName(name)])
			continue
		}
		if len(b) != (bits+3)/4 || strings.Trim(string(b), "0123456789abcdef") != "" {
			t.Errorf("beacon of %s = %q, want %d lowercase hex digits", name, b, (bits+3)/4)
		}
		st, err := bk.Standard(name, bits)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.Hash([]byte(doc[name].(attr.S)))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("beacon of %s = %q, the DB-ESDK standard beacon is %q", name, b, want)
		}
	}
	wantAttrs := len(doc) + 1 /* id */ + 2 /* head, foot */ + len(sc.Searchable)
	if len(it) != wantAttrs {
		t.Errorf("stored item has %d attributes, want %d: %v", len(it), wantAttrs, slices.Sorted(maps.Keys(it)))
	}
	// A record without a searchable attribute has no beacon for it.
	v.putRec(t, "people", records.Key{ID: "bob"}, attr.Item{"odd": attr.S("y"), "team": attr.S("t")})
	if b, ok := v.raw(t, "people", sc, records.Key{ID: "bob"})[beacon.AttributeName("email")]; ok {
		t.Errorf("a record without email has an email beacon %v", b)
	}
	// A sign-and-bind attribute is in every record's encryption context:
	// a record without it is refused.
	_, err = v.svc.PutRecord(t.Context(), "people", records.Key{ID: "noteam"}, attr.Item{"odd": attr.S("y")}, records.Precondition{})
	wantInvalid(t, "a record without its sign-and-bind attribute", err, "body.team")
	// A searchable attribute must be a string.
	_, err = v.svc.PutRecord(t.Context(), "people", records.Key{ID: "num"}, attr.Item{"email": attr.N("1"), "team": attr.S("t")}, records.Precondition{})
	wantInvalid(t, "a number in a searchable attribute", err, "body.email")
	if _, err := v.svc.GetRecord(t.Context(), "people", records.Key{ID: "num"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("a refused record was stored: %v", err)
	}
	// Every action reads back.
	if r := v.getRec(t, "people", records.Key{ID: "ada"}); !equalItems(r.Doc, with(doc, attr.Item{"id": attr.S("ada")})) {
		t.Errorf("read back %s", show(r.Doc))
	}
}

// beaconKey is the beacon key of collection coll, read as an SDK in
// another language would: the branch key id from the catalog, the key from
// the key store.
func (v *v1Env) beaconKey(t *testing.T, coll string) beacon.Key {
	t.Helper()
	rec, err := v.db.Get(t.Context(), collectionsTable, attr.Item{"name": attr.S(coll)})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := rec["branch_key_id"].(attr.S)
	raw, err := v.keys(t).BeaconKey(t.Context(), string(id))
	if err != nil {
		t.Fatal(err)
	}
	k, err := beacon.NewKey(raw.InsecureBytes())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTamperedRecordsFail(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	sc := records.Schema{
		PartitionKey: "id",
		Attributes:   map[string]string{"country": records.ActionSign, "note": records.ActionPlain, "team": records.ActionSignAndBind},
		Searchable:   map[string]int{"email": 8},
	}
	v.create(t, "people", sc)
	v.create(t, "others", sc)
	doc := func(who string) attr.Item {
		return attr.Item{"email": attr.S(who + "@x"), "secret": attr.S("secret of " + who), "country": attr.S("GB"), "team": attr.S("t-" + who), "note": attr.S("n")}
	}
	for _, who := range []string{"a", "b"} {
		v.putRec(t, "people", records.Key{ID: who}, doc(who))
	}
	origA := v.raw(t, "people", sc, records.Key{ID: "a"})
	origB := v.raw(t, "people", sc, records.Key{ID: "b"})

	edits := map[string]func(it attr.Item){
		"secret from a":     func(it attr.Item) { it["secret"] = origA["secret"] },
		"email from a":      func(it attr.Item) { it["email"] = origA["email"] },
		"signed country":    func(it attr.Item) { it["country"] = attr.S("FR") },
		"signed-bound team": func(it attr.Item) { it["team"] = attr.S("t-a") },
		"signed removed":    func(it attr.Item) { delete(it, "country") },
		"encrypted removed": func(it attr.Item) { delete(it, "secret") },
		"attribute added":   func(it attr.Item) { it["extra"] = attr.S("x") },
		"head from a":       func(it attr.Item) { it[item.HeaderAttr] = origA[item.HeaderAttr] },
		"head and foot from a": func(it attr.Item) {
			it[item.HeaderAttr], it[item.FooterAttr] = origA[item.HeaderAttr], origA[item.FooterAttr]
		},
		"whole item of a": func(it attr.Item) {
			maps.Copy(it, origA)
			it["id"] = attr.S("b")
		},
		"secret bit flipped": func(it attr.Item) {
			s := bytes.Clone(it["secret"].(attr.B))
			s[len(s)-1] ^= 1
			it["secret"] = attr.B(s)
		},
	}
	for name, edit := range edits {
		it := maps.Clone(origB)
		edit(it)
		v.putRaw(t, "people", sc, it)
		r, err := v.svc.GetRecord(t.Context(), "people", records.Key{ID: "b"})
		if !errors.Is(err, item.ErrDecrypt) {
			t.Errorf("%s: GetRecord = %s, %v; want item.ErrDecrypt", name, show(r.Doc), err)
		} else if strings.Contains(err.Error(), "secret of") {
			t.Errorf("%s: error holds a plaintext: %v", name, err)
		}
	}
	// The same item copied into another collection of the same schema
	// fails too (another table name, another branch key).
	v.putRaw(t, "others", sc, origB)
	_, err := v.svc.GetRecord(t.Context(), "others", records.Key{ID: "b"})
	wantIs(t, "an item copied to another collection", err, item.ErrDecrypt)

	// A plain attribute is not protected: an edit reads back.
	v.putRaw(t, "people", sc, with(origB, attr.Item{"note": attr.S("edited")}))
	if r := v.getRec(t, "people", records.Key{ID: "b"}); r.Doc["note"] != attr.S("edited") {
		t.Errorf("plain attribute edit: %s", show(r.Doc))
	}
	// Beacons are outside the signature, but a forged beacon cannot put a
	// record in another value's results: candidates are checked.
	forged := with(origB, attr.Item{beacon.AttributeName("email"): origA[beacon.AttributeName("email")]})
	v.putRaw(t, "people", sc, forged)
	page, err := v.svc.ListRecords(t.Context(), "people", records.Query{Filters: map[string]string{"email": "a@x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 || page.Records[0].Key.ID != "a" {
		t.Errorf("search for a@x after forging b's beacon: %v", keysOf(page.Records))
	}
}

func keysOf(rs []records.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key.ID)
	}
	return out
}

// listAll walks every page of q, checking that no page is larger than the
// limit, and returns the ids of the records in order.
func listAll(t *testing.T, svc *records.Service, coll string, q records.Query) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("ListRecords(%s) does not end", coll)
		}
		page, err := svc.ListRecords(t.Context(), coll, q)
		if err != nil {
			t.Fatalf("ListRecords(%s, %v): %v", coll, q.Filters, err)
		}
		if q.Limit > 0 && len(page.Records) > q.Limit {
			t.Fatalf("page of %d records, limit %d", len(page.Records), q.Limit)
		}
		ids = append(ids, keysOf(page.Records)...)
		if page.Cursor == "" {
			return ids
		}
		q.Cursor = page.Cursor
	}
}

func TestSearchWithCollidingBeacons(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	// color has 1 bit and size 2 bits: most records share a beacon.
	sc := records.Schema{PartitionKey: "id", Searchable: map[string]int{"color": 1, "size": 2, "name": 24}}
	v.create(t, "things", sc)
	colors := []string{"red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"}
	sizes := []string{"S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"}
	byColor, bySize, byBoth := map[string][]string{}, map[string][]string{}, map[string][]string{}
	var all []string
	for i := range 40 {
		id := fmt.Sprintf("t%02d", i)
		c, s := colors[i%len(colors)], sizes[(i/3)%len(sizes)]
		v.putRec(t, "things", records.Key{ID: id}, attr.Item{"color": attr.S(c), "size": attr.S(s), "name": attr.S(id)})
		byColor[c] = append(byColor[c], id)
		bySize[s] = append(bySize[s], id)
		byBoth[c+"/"+s] = append(byBoth[c+"/"+s], id)
		all = append(all, id)
	}
	// A record without the attributes is never a candidate.
	v.putRec(t, "things", records.Key{ID: "bare"}, attr.Item{"other": attr.S("red")})
	all = append(all, "bare")

	// The beacons do collide: fewer distinct beacons than values.
	distinct := map[string]map[string]bool{"color": {}, "size": {}}
	for _, id := range all[:40] {
		it := v.raw(t, "things", sc, records.Key{ID: id})
		for name := range distinct {
			distinct[name][string(it[beacon.AttributeName(name)].(attr.S))] = true
		}
	}
	if len(distinct["color"]) > 2 || len(distinct["size"]) > 4 {
		t.Fatalf("more distinct beacons than the lengths allow: %v", distinct)
	}

	check := func(what string, filters map[string]string, want []string, limit int) {
		t.Helper()
		got := listAll(t, v.svc, "things", records.Query{Filters: filters, Limit: limit})
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s %v (limit %d): %v, want %v", what, filters, limit, got, want)
		}
	}
	for _, limit := range []int{0, 1, 3} {
		for _, c := range colors {
			check("color", map[string]string{"color": c}, byColor[c], limit)
		}
		for _, s := range sizes {
			check("size", map[string]string{"size": s}, bySize[s], limit)
		}
	}
	for _, c := range colors {
		for _, s := range sizes {
			check("both", map[string]string{"color": c, "size": s}, byBoth[c+"/"+s], 2)
		}
	}
	check("absent value", map[string]string{"color": "purple"}, nil, 0)
	check("empty value", map[string]string{"color": ""}, nil, 0)
	check("exact name", map[string]string{"name": "t07"}, []string{"t07"}, 0)
	check("case matters", map[string]string{"color": "Red"}, nil, 0)
	// Every record carries the filtered value.
	page, err := v.svc.ListRecords(t.Context(), "things", records.Query{Filters: map[string]string{"color": "red"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Records {
		if r.Doc["color"] != attr.S("red") {
			t.Errorf("search for red returned %s", show(r.Doc))
		}
	}

	// A patch that changes or removes a searchable value moves the record.
	if _, err := v.svc.PatchRecord(t.Context(), "things", records.Key{ID: "t00"}, attr.Item{"color": attr.S("purple")}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.svc.PatchRecord(t.Context(), "things", records.Key{ID: "t08"}, attr.Item{"color": attr.Null{}}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := v.svc.DeleteRecord(t.Context(), "things", records.Key{ID: "t16"}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	check("red after changes", map[string]string{"color": "red"}, slices.DeleteFunc(slices.Clone(byColor["red"]), func(id string) bool {
		return id == "t00" || id == "t08" || id == "t16"
	}), 2)
	check("purple after a patch", map[string]string{"color": "purple"}, []string{"t00"}, 0)
}

func TestListRecordsPaging(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	var want []string
	for i := range 30 {
		id := fmt.Sprintf("p%02d", i)
		v.putRec(t, "people", records.Key{ID: id}, attr.Item{"n": attr.N(fmt.Sprint(i))})
		want = append(want, id)
	}
	for _, limit := range []int{7, 1, 29, 30, 31, 0, records.MaxPageSize} {
		got := listAll(t, v.svc, "people", records.Query{Limit: limit})
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: walked %v", limit, got)
		}
	}
	// Limit 7 gives pages of 7 until the last.
	page, err := v.svc.ListRecords(t.Context(), "people", records.Query{Limit: 7})
	if err != nil || len(page.Records) != 7 || page.Cursor == "" {
		t.Errorf("first page of 7: %d records, cursor %q, %v", len(page.Records), page.Cursor, err)
	}
	// The default page size holds the 30 records at once.
	page, err = v.svc.ListRecords(t.Context(), "people", records.Query{})
	if err != nil || len(page.Records) != 30 || page.Cursor != "" {
		t.Errorf("default page: %d records, cursor %q, %v", len(page.Records), page.Cursor, err)
	}
	for _, limit := range []int{-1, records.MaxPageSize + 1} {
		_, err := v.svc.ListRecords(t.Context(), "people", records.Query{Limit: limit})
		wantInvalid(t, fmt.Sprint("limit ", limit), err, "query.limit")
	}
	// An empty collection lists nothing, with no cursor.
	v.create(t, "empty", peopleSchema)
	page, err = v.svc.ListRecords(t.Context(), "empty", records.Query{})
	if err != nil || len(page.Records) != 0 || page.Records == nil || page.Cursor != "" {
		t.Errorf("empty collection: %#v, %v", page, err)
	}
	_, err = v.svc.ListRecords(t.Context(), "nothing", records.Query{})
	wantIs(t, "listing an unknown collection", err, records.ErrNotFound)
}

func TestDefaultPageSize(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "many", peopleSchema)
	reqs := make([]records.PutRequest, 0, records.MaxBatchPut)
	for i := range records.DefaultPageSize + 5 {
		reqs = append(reqs, records.PutRequest{Key: records.Key{ID: fmt.Sprintf("m%03d", i)}, Doc: attr.Item{}})
		if len(reqs) == records.MaxBatchPut || i == records.DefaultPageSize+4 {
			res, err := v.svc.BatchPut(t.Context(), "many", reqs)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("BatchPut %v: %v", r.Key, r.Err)
				}
			}
			reqs = reqs[:0]
		}
	}
	page, err := v.svc.ListRecords(t.Context(), "many", records.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != records.DefaultPageSize || page.Cursor == "" {
		t.Errorf("limit 0: %d records, cursor %q; want %d and a cursor", len(page.Records), page.Cursor, records.DefaultPageSize)
	}
}

func TestSearchRefusals(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	sc := records.Schema{PartitionKey: "id", Attributes: map[string]string{"country": records.ActionSign}, Searchable: map[string]int{"email": 8, "city": 8}}
	v.create(t, "people", sc)
	v.create(t, "twin", sc)
	ctx := t.Context()
	for i := range 6 {
		doc := attr.Item{"email": attr.S("same@x"), "city": attr.S("Paris"), "country": attr.S("FR")}
		v.putRec(t, "people", records.Key{ID: fmt.Sprint("p", i)}, doc)
		v.putRec(t, "twin", records.Key{ID: fmt.Sprint("p", i)}, doc)
	}
	for _, name := range []string{"country", "secret", "id"} {
		_, err := v.svc.ListRecords(ctx, "people", records.Query{Filters: map[string]string{"email": "same@x", name: "x"}})
		wantInvalid(t, "filter on "+name, err, "query."+name)
		if err != nil && !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not name %s: %v", name, err)
		}
	}

	byEmail := records.Query{Filters: map[string]string{"email": "same@x"}, Limit: 2}
	first, err := v.svc.ListRecords(ctx, "people", byEmail)
	if err != nil || first.Cursor == "" {
		t.Fatalf("first page: %v, cursor %q", err, first.Cursor)
	}
	cur := first.Cursor
	others := map[string]struct {
		coll string
		q    records.Query
	}{
		"another value":       {"people", records.Query{Filters: map[string]string{"email": "other@x"}}},
		"another attribute":   {"people", records.Query{Filters: map[string]string{"city": "same@x"}}},
		"an added filter":     {"people", records.Query{Filters: map[string]string{"email": "same@x", "city": "Paris"}}},
		"no filter":           {"people", records.Query{}},
		"another collection":  {"twin", records.Query{Filters: map[string]string{"email": "same@x"}}},
		"another coll, list":  {"twin", records.Query{}},
		"a prefix of a value": {"people", records.Query{Filters: map[string]string{"email": "same@"}}},
	}
	for name, o := range others {
		q := o.q
		q.Cursor = cur
		_, err := v.svc.ListRecords(ctx, o.coll, q)
		wantInvalid(t, "cursor used with "+name, err, "query.cursor")
	}
	// A list cursor is no search cursor either.
	list, err := v.svc.ListRecords(ctx, "people", records.Query{Limit: 1})
	if err != nil || list.Cursor == "" {
		t.Fatalf("list page: %v", err)
	}
	_, err = v.svc.ListRecords(ctx, "people", records.Query{Filters: byEmail.Filters, Cursor: list.Cursor})
	wantInvalid(t, "list cursor used in a search", err, "query.cursor")

	// Tampered cursors.
	tampered := []string{"x", cur[:len(cur)-1], cur + "A", "", strings.Repeat("A", 40)}
	for i := range len(cur) {
		b := []byte(cur)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		tampered = append(tampered, string(b))
	}
	for _, c := range tampered {
		if c == "" {
			continue
		}
		// Base64 ignores the unused low bits of the last digit: a
		// string that decodes to the same bytes is the same cursor.
		if a, b := decodeCursor(c), decodeCursor(cur); a != nil && bytes.Equal(a, b) {
			continue
		}
		q := byEmail
		q.Cursor = c
		_, err := v.svc.ListRecords(ctx, "people", q)
		wantInvalid(t, fmt.Sprintf("tampered cursor %.12q", c), err, "query.cursor")
	}
	// The genuine cursor still works.
	q := byEmail
	q.Cursor = cur
	if _, err := v.svc.ListRecords(ctx, "people", q); err != nil {
		t.Errorf("the genuine cursor after tampering: %v", err)
	}
}

func decodeCursor(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}

func TestConcurrentPatchesLoseNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		sc       records.Schema
		k        records.Key
		services int
	}{
		{"one server", peopleSchema, records.Key{ID: "shared"}, 1},
		{"one server, sort key", records.Schema{PartitionKey: "id", SortKey: "s"}, records.Key{ID: "shared", Sort: "x"}, 1},
		{"two servers", peopleSchema, records.Key{ID: "shared"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newV1(t)
			v.create(t, "c", tc.sc)
			svcs := []*records.Service{v.svc}
			for len(svcs) < tc.services {
				svcs = append(svcs, v.open(t))
			}
			v.putRec(t, "c", tc.k, attr.Item{"start": attr.Bool(true)})
			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					patch := attr.Item{fmt.Sprintf("f%02d", i): attr.N(fmt.Sprint(i))}
					_, errs[i] = svcs[i%len(svcs)].PatchRecord(t.Context(), "c", tc.k, patch, records.Precondition{})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("patch %d: %v", i, err)
				}
			}
			r := v.getRec(t, "c", tc.k)
			for i := range n {
				if name := fmt.Sprintf("f%02d", i); r.Doc[name] != attr.N(fmt.Sprint(i)) {
					t.Errorf("field %s lost: %#v", name, r.Doc[name])
				}
			}
			if r.Doc["start"] != attr.Bool(true) {
				t.Errorf("the original field was lost")
			}
		})
	}
}

func TestBatchGet(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	etags := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		etags[id] = v.putRec(t, "people", records.Key{ID: id}, attr.Item{"who": attr.S(id)})
	}
	keys := []records.Key{{ID: "a"}, {ID: "missing"}, {ID: ""}, {ID: "c"}, {ID: "b"}, {ID: "a"}, {ID: "bad\x00id"}}
	res, err := v.svc.BatchGet(ctx, "people", keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(keys) {
		t.Fatalf("%d results for %d keys", len(res), len(keys))
	}
	for i, r := range res {
		if r.Key != keys[i] {
			t.Errorf("result %d is for %v, want %v", i, r.Key, keys[i])
		}
		switch id := keys[i].ID; id {
		case "a", "b", "c":
			if r.Err != nil || r.Record.Doc["who"] != attr.S(id) || r.ETag != etags[id] || r.Record.ETag != etags[id] {
				t.Errorf("result %d (%s): %s etag %s, %v", i, id, show(r.Record.Doc), r.ETag, r.Err)
			}
		case "missing":
			wantIs(t, "missing record", r.Err, records.ErrNotFound)
		default:
			wantInvalid(t, fmt.Sprintf("id %q", id), r.Err, "id")
		}
	}
	for _, n := range []int{0, records.MaxBatchGet + 1} {
		_, err := v.svc.BatchGet(ctx, "people", make([]records.Key, n))
		wantInvalid(t, fmt.Sprint(n, " keys"), err, "body.keys")
	}
	many := make([]records.Key, records.MaxBatchGet)
	for i := range many {
		many[i] = records.Key{ID: []string{"a", "b", "c", "zz"}[i%4]}
	}
	res, err = v.svc.BatchGet(ctx, "people", many)
	if err != nil {
		t.Fatalf("BatchGet of %d keys: %v", len(many), err)
	}
	for i, r := range res {
		if (r.Err == nil) != (many[i].ID != "zz") {
			t.Errorf("result %d for %v: %v", i, many[i], r.Err)
		}
	}
	_, err = v.svc.BatchGet(ctx, "unknown", []records.Key{{ID: "a"}})
	wantIs(t, "BatchGet in an unknown collection", err, records.ErrNotFound)
}

func TestBatchPut(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "people", peopleSchema)
	ctx := t.Context()
	v.putRec(t, "people", records.Key{ID: "exists"}, attr.Item{"v": attr.S("old")})
	reqs := []records.PutRequest{
		{Key: records.Key{ID: "n1"}, Doc: attr.Item{"v": attr.S("1")}},
		{Key: records.Key{ID: "exists"}, Doc: attr.Item{"v": attr.S("new")}, Cond: records.Precondition{IfNoneMatch: true}},
		{Key: records.Key{ID: "n2"}, Doc: attr.Item{"v": attr.S("2")}, Cond: records.Precondition{IfNoneMatch: true}},
		{Key: records.Key{ID: "n3"}, Doc: attr.Item{"id": attr.S("other")}},
		{Key: records.Key{ID: "n4"}, Doc: attr.Item{"v": attr.S("4")}, Cond: records.Precondition{IfMatch: []string{"*"}}},
		{Key: records.Key{ID: "n5"}, Doc: attr.Item{"v": attr.S("5")}},
	}
	res, err := v.svc.BatchPut(ctx, "people", reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	for i, r := range res {
		if r.Key != reqs[i].Key {
			t.Errorf("result %d is for %v", i, r.Key)
		}
	}
	wantIs(t, "create-only put of an existing record", res[1].Err, records.ErrPrecondition)
	wantInvalid(t, "put with a mismatched key", res[3].Err, "body.id")
	wantIs(t, "If-Match * put of a missing record", res[4].Err, records.ErrPrecondition)
	for _, i := range []int{0, 2, 5} {
		if res[i].Err != nil || res[i].ETag == "" {
			t.Errorf("result %d: etag %q, %v", i, res[i].ETag, res[i].Err)
			continue
		}
		r := v.getRec(t, "people", reqs[i].Key)
		if r.ETag != res[i].ETag || !equalItems(r.Doc, with(reqs[i].Doc, attr.Item{"id": attr.S(reqs[i].Key.ID)})) {
			t.Errorf("record %v: %s etag %s, want etag %s", reqs[i].Key, show(r.Doc), r.ETag, res[i].ETag)
		}
	}
	for _, i := range []int{3, 4} {
		if res[i].ETag != "" {
			t.Errorf("failed result %d has an ETag", i)
		}
		if _, err := v.svc.GetRecord(ctx, "people", reqs[i].Key); !errors.Is(err, records.ErrNotFound) {
			t.Errorf("failed request %d stored a record: %v", i, err)
		}
	}
	if r := v.getRec(t, "people", records.Key{ID: "exists"}); r.Doc["v"] != attr.S("old") {
		t.Errorf("the failed create-only put overwrote: %s", show(r.Doc))
	}
	for _, n := range []int{0, records.MaxBatchPut + 1} {
		reqs := make([]records.PutRequest, n)
		for i := range reqs {
			reqs[i] = records.PutRequest{Key: records.Key{ID: fmt.Sprint("over", i)}, Doc: attr.Item{}}
		}
		_, err := v.svc.BatchPut(ctx, "people", reqs)
		wantInvalid(t, fmt.Sprint(n, " records"), err, "body.records")
		if n > 0 {
			if _, err := v.svc.GetRecord(ctx, "people", records.Key{ID: "over0"}); !errors.Is(err, records.ErrNotFound) {
				t.Errorf("a refused batch stored a record: %v", err)
			}
		}
	}
	_, err = v.svc.BatchPut(ctx, "unknown", reqs[:1])
	wantIs(t, "BatchPut in an unknown collection", err, records.ErrNotFound)
}

func TestBeaconAdvice(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	sc := records.Schema{PartitionKey: "id", Searchable: map[string]int{"zip": 40, "tiny": 2, "few": 32, "unused": 8}}
	v.create(t, "places", sc)
	const n = 100
	reqs := make([]records.PutRequest, 0, records.MaxBatchPut)
	for i := range n {
		doc := attr.Item{"zip": attr.S(fmt.Sprintf("%05d", i)), "tiny": attr.S(fmt.Sprint("v", i))}
		if i%2 == 0 {
			doc["few"] = attr.S(fmt.Sprint("f", (i/2)%8))
		}
		reqs = append(reqs, records.PutRequest{Key: records.Key{ID: fmt.Sprint("r", i)}, Doc: doc})
		if len(reqs) == records.MaxBatchPut {
			res, err := v.svc.BatchPut(t.Context(), "places", reqs)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			reqs = reqs[:0]
		}
	}
	advice, err := v.svc.Beacons(t.Context(), "places")
	if err != nil {
		t.Fatal(err)
	}
	// The distinct stored beacons, counted independently.
	distinct := map[string]map[string]bool{}
	page, err := v.db.Scan(t.Context(), table("places", sc), nil, 0)
	if err != nil || page.Next != nil || len(page.Items) != n {
		t.Fatalf("raw scan: %d items, next %v, %v", len(page.Items), page.Next, err)
	}
	for _, it := range page.Items {
		for name := range sc.Searchable {
			if b, ok := it[beacon.AttributeName(name)].(attr.S); ok {
				if distinct[name] == nil {
					distinct[name] = map[string]bool{}
				}
				distinct[name][string(b)] = true
			}
		}
	}
	var names []string
	for _, a := range advice {
		names = append(names, a.Attribute)
	}
	if want := slices.Sorted(maps.Keys(sc.Searchable)); !slices.Equal(names, want) {
		t.Fatalf("advice for %v, want %v", names, want)
	}
	want := map[string]struct{ records, distinct int }{
		"zip":    {n, n}, // 40 bits: no collision among 100 values
		"few":    {n / 2, 8},
		"tiny":   {n, len(distinct["tiny"])},
		"unused": {0, 0},
	}
	for _, a := range advice {
		w := want[a.Attribute]
		if a.Length != sc.Searchable[a.Attribute] || a.Records != w.records || a.Distinct != w.distinct || a.Distinct != len(distinct[a.Attribute]) {
			t.Errorf("%s: length %d records %d distinct %d; want %d, %d, %d", a.Attribute, a.Length, a.Records, a.Distinct, sc.Searchable[a.Attribute], w.records, w.distinct)
		}
		lo, hi := beacon.AdviseLength(a.Distinct)
		if a.MinLength != lo || a.MaxLength != hi {
			t.Errorf("%s: recommended %d..%d, AdviseLength(%d) = %d..%d", a.Attribute, a.MinLength, a.MaxLength, a.Distinct, lo, hi)
		}
		if a.Advice == "" {
			t.Errorf("%s: no advice", a.Attribute)
		}
	}
	byName := map[string]records.BeaconAdvice{}
	for _, a := range advice {
		byName[a.Attribute] = a
	}
	if a := byName["tiny"]; !a.Saturated || a.Distinct < 2 || a.Distinct > 4 {
		t.Errorf("2-bit beacon over %d values: distinct %d saturated %v; want 2..4 and saturated", n, a.Distinct, a.Saturated)
	}
	for _, name := range []string{"zip", "few", "unused"} {
		if byName[name].Saturated {
			t.Errorf("%s: saturated with %d distinct of %d bits", name, byName[name].Distinct, byName[name].Length)
		}
	}
	// 100 distinct values: 4..5 bits recommended, so 40 is too long.
	if a := byName["zip"]; a.MinLength != 4 || a.MaxLength != 5 || !strings.Contains(a.Advice, "longer") {
		t.Errorf("zip: %d..%d %q", a.MinLength, a.MaxLength, a.Advice)
	}
	if a := byName["few"]; a.MinLength != 0 || a.MaxLength != 0 || !strings.Contains(a.Advice, "too few") {
		t.Errorf("few: %d..%d %q", a.MinLength, a.MaxLength, a.Advice)
	}
	if _, err := v.svc.Beacons(t.Context(), "nothing"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("Beacons of an unknown collection: %v", err)
	}
	// A collection without searchable attributes has no advice.
	v.create(t, "plain", peopleSchema)
	v.putRec(t, "plain", records.Key{ID: "a"}, attr.Item{"x": attr.S("y")})
	if advice, err := v.svc.Beacons(t.Context(), "plain"); err != nil || len(advice) != 0 {
		t.Errorf("Beacons without searchable attributes: %v, %v", advice, err)
	}
}

func TestRecordsWithEveryAction(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	schemas := map[string]records.Schema{
		"bound-key":  {PartitionKey: "id", Attributes: map[string]string{"id": records.ActionSignAndBind, "b": records.ActionSignAndBind}},
		"bound-attr": {PartitionKey: "id", SortKey: "s", Attributes: map[string]string{"b": records.ActionSignAndBind, "p": records.ActionPlain, "g": records.ActionSign}},
		"ecdsa":      {PartitionKey: "id", Attributes: map[string]string{"b": records.ActionSignAndBind, "p": records.ActionPlain}, Searchable: map[string]int{"e": 10}, Suite: records.SuiteECDSA},
	}
	doc := parse(t, `{"b":"bound","p":"plain","g":"signed","e":"encrypted","n":{"deep":[1,2,{"x":null}]}}`)
	for name, sc := range schemas {
		v.create(t, name, sc)
		k := records.Key{ID: "one"}
		if sc.SortKey != "" {
			k.Sort = "two"
		}
		v.putRec(t, name, k, doc)
		r := v.getRec(t, name, k)
		if !equalItems(r.Doc, with(doc, rawKey(sc, k))) {
			t.Errorf("%s: read back %s", name, show(r.Doc))
		}
		page, err := v.svc.ListRecords(t.Context(), name, records.Query{})
		if err != nil || len(page.Records) != 1 || page.Records[0].Key != k {
			t.Errorf("%s: list %v, %v", name, page.Records, err)
		}
	}
}

// The reference collection is also a /v1 collection. A record written
// through /v1 that the service accepted is intact: the reference route
// must not report it as a decryption failure (a 500 and a decrypt-failure
// metric, which mean tampering or a key problem). Either PutRecord keeps
// the reference shape ({"secret": string}) or GetSecret says something
// else.
func TestItemsRecordsWrittenThroughV1(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	// The reference shape reads on both sides.
	v.putRec(t, records.ItemsCollection, records.Key{ID: "ok"}, attr.Item{"secret": attr.S("s1")})
	if got := get(t, v.svc, "ok"); got != "s1" {
		t.Errorf("GetSecret of a record put through /v1: %q", got)
	}
	put(t, v.svc, "ref", "s2")
	if r := v.getRec(t, records.ItemsCollection, records.Key{ID: "ref"}); r.Doc["secret"] != attr.S("s2") || r.Doc["item_id"] != attr.S("ref") {
		t.Errorf("GetRecord of a secret: %s", show(r.Doc))
	}
	for name, doc := range map[string]attr.Item{
		"number secret": {"secret": attr.N("5")},
		"no secret":     {"other": attr.S("x")},
		"map secret":    {"secret": attr.M{"a": attr.S("b")}},
	} {
		_, err := v.svc.PutRecord(ctx, records.ItemsCollection, records.Key{ID: name}, doc, records.Precondition{})
		if err != nil {
			wantInvalid(t, name, err, "")
			continue
		}
		if _, err := v.svc.GetSecret(ctx, name); errors.Is(err, item.ErrDecrypt) {
			t.Errorf("%s: an intact record written through /v1 reads as a decryption failure: %v", name, err)
		}
	}
}
