package records_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
)

func manyAttrs(n int, action string) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprint("a", i)] = action
	}
	return m
}

func manySearchable(n int) map[string]int {
	m := map[string]int{}
	for i := range n {
		m[fmt.Sprint("s", i)] = 8
	}
	return m
}

type refusedSchema struct {
	name  string
	s     records.Schema
	field string // the InvalidError's Field ("" to not check it)
}

// refusedSchemas lists schemas Validate refuses, each with the field it
// names.
func refusedSchemas() []refusedSchema {
	long := strings.Repeat("n", 256)
	return []refusedSchema{
		{"no partition key", records.Schema{}, "body.partitionKey"},
		{"oversized partition key", records.Schema{PartitionKey: long}, "body.partitionKey"},
		{"reserved partition key", records.Schema{PartitionKey: "aws_dbe_id"}, "body.partitionKey"},
		{"partition key not UTF-8", records.Schema{PartitionKey: "id\xff"}, "body.partitionKey"},
		{"oversized sort key", records.Schema{PartitionKey: "id", SortKey: long}, "body.sortKey"},
		{"reserved sort key", records.Schema{PartitionKey: "id", SortKey: "aws_dbe_head"}, "body.sortKey"},
		{"sort key equals partition key", records.Schema{PartitionKey: "id", SortKey: "id"}, "body.sortKey"},
		{"empty attribute name", records.Schema{PartitionKey: "id", Attributes: map[string]string{"": records.ActionSign}}, "body.attributes."},
		{"oversized attribute name", records.Schema{PartitionKey: "id", Attributes: map[string]string{long: records.ActionSign}}, "body.attributes." + long},
		{"reserved attribute name", records.Schema{PartitionKey: "id", Attributes: map[string]string{"aws_dbe_x": records.ActionSign}}, "body.attributes.aws_dbe_x"},
		{"header attribute name", records.Schema{PartitionKey: "id", Attributes: map[string]string{"aws_dbe_head": records.ActionPlain}}, "body.attributes.aws_dbe_head"},
		{"unknown action", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": "ENCRYPT_AND_SIGN"}}, "body.attributes.a"},
		{"empty action", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": ""}}, "body.attributes.a"},
		{"action in capitals", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": "Sign"}}, "body.attributes.a"},
		{"partition key encrypted", records.Schema{PartitionKey: "id", Attributes: map[string]string{"id": records.ActionEncrypt}}, "body.attributes.id"},
		{"partition key plain", records.Schema{PartitionKey: "id", Attributes: map[string]string{"id": records.ActionPlain}}, "body.attributes.id"},
		{"sort key encrypted", records.Schema{PartitionKey: "id", SortKey: "s", Attributes: map[string]string{"s": records.ActionEncrypt}}, "body.attributes.s"},
		{"sort key plain", records.Schema{PartitionKey: "id", SortKey: "s", Attributes: map[string]string{"s": records.ActionPlain}}, "body.attributes.s"},
		{"too many attributes", records.Schema{PartitionKey: "id", Attributes: manyAttrs(501, records.ActionSign)}, "body.attributes"},
		{"searchable signed", records.Schema{PartitionKey: "id", Attributes: map[string]string{"c": records.ActionSign}, Searchable: map[string]int{"c": 8}}, "body.searchable.c"},
		{"searchable bound", records.Schema{PartitionKey: "id", Attributes: map[string]string{"c": records.ActionSignAndBind}, Searchable: map[string]int{"c": 8}}, "body.searchable.c"},
		{"searchable plain", records.Schema{PartitionKey: "id", Attributes: map[string]string{"c": records.ActionPlain}, Searchable: map[string]int{"c": 8}}, "body.searchable.c"},
		{"searchable partition key", records.Schema{PartitionKey: "id", Searchable: map[string]int{"id": 8}}, "body.searchable.id"},
		{"searchable sort key", records.Schema{PartitionKey: "id", SortKey: "s", Searchable: map[string]int{"s": 8}}, "body.searchable.s"},
		{"beacon length 0", records.Schema{PartitionKey: "id", Searchable: map[string]int{"e": 0}}, "body.searchable.e"},
		{"beacon length 64", records.Schema{PartitionKey: "id", Searchable: map[string]int{"e": 64}}, "body.searchable.e"},
		{"beacon length -1", records.Schema{PartitionKey: "id", Searchable: map[string]int{"e": -1}}, "body.searchable.e"},
		{"searchable name with a space", records.Schema{PartitionKey: "id", Searchable: map[string]int{"e mail": 8}}, "body.searchable.e mail"},
		{"searchable name empty", records.Schema{PartitionKey: "id", Searchable: map[string]int{"": 8}}, "body.searchable."},
		{"searchable name too long", records.Schema{PartitionKey: "id", Searchable: map[string]int{strings.Repeat("e", 65): 8}}, "body.searchable." + strings.Repeat("e", 65)},
		{"too many searchable", records.Schema{PartitionKey: "id", Searchable: manySearchable(21)}, "body.searchable"},
		{"unknown suite", records.Schema{PartitionKey: "id", Suite: "0x6702"}, "body.suite"},
		{"suite without 0x", records.Schema{PartitionKey: "id", Suite: "6700"}, "body.suite"},
		{"suite in capitals", records.Schema{PartitionKey: "id", Suite: "0X6700"}, "body.suite"},
	}
}

func TestSchemaValidate(t *testing.T) {
	t.Parallel()
	for _, c := range refusedSchemas() {
		t.Run("refuses "+c.name, func(t *testing.T) {
			t.Parallel()
			err := c.s.Validate()
			wantInvalid(t, "Validate", err, "")
			// The field names the attribute (the prefix is checked by
			// TestSchemaValidateFieldNames).
			var inv *records.InvalidError
			if errors.As(err, &inv) && !strings.HasSuffix(inv.Field, strings.TrimPrefix(c.field, "body.")) {
				t.Errorf("field %q, want %q", inv.Field, c.field)
			}
		})
	}
	accepted := map[string]records.Schema{
		"minimal":                      {PartitionKey: "id"},
		"sort key":                     {PartitionKey: "id", SortKey: "at"},
		"every action":                 {PartitionKey: "id", Attributes: map[string]string{"e": records.ActionEncrypt, "s": records.ActionSign, "b": records.ActionSignAndBind, "p": records.ActionPlain}},
		"keys listed as sign":          {PartitionKey: "id", SortKey: "at", Attributes: map[string]string{"id": records.ActionSign, "at": records.ActionSign}},
		"keys sign-and-bind":           {PartitionKey: "id", SortKey: "at", Attributes: map[string]string{"id": records.ActionSignAndBind, "at": records.ActionSignAndBind}},
		"beacon lengths 1 and 63":      {PartitionKey: "id", Searchable: map[string]int{"a": 1, "b": 63}},
		"searchable listed as encrypt": {PartitionKey: "id", Attributes: map[string]string{"email": records.ActionEncrypt}, Searchable: map[string]int{"email": 16}},
		"searchable name of 64":        {PartitionKey: "id", Searchable: map[string]int{strings.Repeat("e", 64): 8}},
		"searchable odd characters":    {PartitionKey: "id", Searchable: map[string]int{"a.b-c_D9": 8}},
		"suite 0x6700":                 {PartitionKey: "id", Suite: records.SuiteSymSig},
		"suite 0x6701":                 {PartitionKey: "id", Suite: records.SuiteECDSA},
		"names at the size limit":      {PartitionKey: strings.Repeat("k", 255), Attributes: map[string]string{strings.Repeat("a", 255): records.ActionSign}},
		"500 attributes":               {PartitionKey: "id", Attributes: manyAttrs(500, records.ActionPlain)},
		"20 searchable":                {PartitionKey: "id", Searchable: manySearchable(20)},
		"unicode names":                {PartitionKey: "clé", Attributes: map[string]string{"名前": records.ActionSign}},
		"aws_dbe inside a name":        {PartitionKey: "id", Attributes: map[string]string{"x_aws_dbe_": records.ActionSign}},
		"empty maps":                   {PartitionKey: "id", Attributes: map[string]string{}, Searchable: map[string]int{}},
	}
	for name, s := range accepted {
		t.Run("accepts "+name, func(t *testing.T) {
			t.Parallel()
			if err := s.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestPutCollectionCreate(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	sc := records.Schema{PartitionKey: "id", Attributes: map[string]string{"country": records.ActionSign}, Searchable: map[string]int{"email": 16}}
	before := time.Now().Add(-time.Second)
	info, created, err := v.svc.PutCollection(ctx, "people", sc)
	if err != nil || !created {
		t.Fatalf("PutCollection: created %v, %v", created, err)
	}
	if info.Name != "people" || info.Table != "col_people" || info.Version != 1 {
		t.Errorf("created %+v", info)
	}
	if info.Schema.Suite != records.SuiteSymSig {
		t.Errorf("default suite %q, want %s", info.Schema.Suite, records.SuiteSymSig)
	}
	if info.Created.Before(before) || info.Created.After(time.Now()) || !info.Updated.Equal(info.Created) {
		t.Errorf("created %v updated %v", info.Created, info.Updated)
	}
	got, err := v.svc.Collection(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Table != "col_people" || got.Schema.Searchable["email"] != 16 || got.Schema.Attributes["country"] != records.ActionSign {
		t.Errorf("Collection: %+v", got)
	}

	// The same schema again changes nothing, also with defaults spelt out.
	v.putRec(t, "people", records.Key{ID: "a"}, attr.Item{"email": attr.S("a@x")})
	same := sc
	same.Suite = records.SuiteSymSig
	for _, s := range []records.Schema{sc, same} {
		info, created, err := v.svc.PutCollection(ctx, "people", s)
		if err != nil || created || info.Version != 1 || !info.Updated.Equal(got.Updated) {
			t.Errorf("PutCollection with the same schema: %+v, created %v, %v", info, created, err)
		}
	}
	// A second service over the same store sees the collection and its
	// records.
	other := v.open(t)
	if info, err := other.Collection(ctx, "people"); err != nil || info.Version != 1 {
		t.Errorf("another service: %+v, %v", info, err)
	}
	if r, err := other.GetRecord(ctx, "people", records.Key{ID: "a"}); err != nil || r.Doc["email"] != attr.S("a@x") {
		t.Errorf("another service reading a record: %v", err)
	}
}

func TestPutCollectionNames(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	bad := []string{"", "_x", "-x", ".x", "a b", "a/b", "é", strings.Repeat("a", 65), "a\x00", "col:1"}
	for _, name := range bad {
		_, created, err := v.svc.PutCollection(ctx, name, peopleSchema)
		wantInvalid(t, fmt.Sprintf("PutCollection(%q)", name), err, "path.name")
		if created {
			t.Errorf("PutCollection(%q) reports created", name)
		}
		if _, err := v.svc.Collection(ctx, name); !errors.Is(err, records.ErrNotFound) {
			t.Errorf("Collection(%q): %v, want ErrNotFound", name, err)
		}
		if err := records.CheckCollectionName(name); err == nil {
			t.Errorf("CheckCollectionName(%q) accepted", name)
		}
	}
	good := []string{"a", "A9", "9a", "a.b-c_d", strings.Repeat("a", 64)}
	for _, name := range good {
		if err := records.CheckCollectionName(name); err != nil {
			t.Errorf("CheckCollectionName(%q): %v", name, err)
		}
		if info := v.create(t, name, peopleSchema); info.Table != "col_"+name {
			t.Errorf("%s: table %q", name, info.Table)
		}
	}
	// An invalid schema creates nothing.
	_, created, err := v.svc.PutCollection(ctx, "broken", records.Schema{PartitionKey: "id", Suite: "x"})
	wantInvalid(t, "PutCollection with an invalid schema", err, "body.suite")
	if created {
		t.Error("an invalid schema reports created")
	}
	if _, err := v.svc.Collection(ctx, "broken"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("an invalid schema created the collection: %v", err)
	}
	for _, name := range []string{"unknown", "", "_bad"} {
		if _, err := v.svc.Collection(ctx, name); !errors.Is(err, records.ErrNotFound) {
			t.Errorf("Collection(%q): %v, want ErrNotFound", name, err)
		}
	}
}

func TestCollectionsList(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	list, err := v.svc.Collections(ctx)
	if err != nil || len(list) != 1 || list[0].Name != records.ItemsCollection {
		t.Fatalf("Collections of a new service: %+v, %v", list, err)
	}
	items := list[0]
	if items.Table != "secure_items" || items.Version != 1 || items.Schema.PartitionKey != "item_id" || items.Schema.Attributes["secret"] != records.ActionEncrypt {
		t.Errorf("items collection: %+v", items)
	}
	for _, name := range []string{"zeta", "alpha", "Mixed", "m1", "j"} {
		v.create(t, name, peopleSchema)
	}
	list, err = v.svc.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
		if c.Version != 1 || c.Schema.Suite != records.SuiteSymSig {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	want := []string{"Mixed", "alpha", "items", "j", "m1", "zeta"}
	if !slices.Equal(names, want) {
		t.Errorf("Collections: %v, want %v", names, want)
	}
}

func TestItemsSchemaIsFixed(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	put(t, v.svc, "k", "s")
	items, err := v.svc.Collection(ctx, records.ItemsCollection)
	if err != nil {
		t.Fatal(err)
	}
	info, created, err := v.svc.PutCollection(ctx, records.ItemsCollection, items.Schema)
	if err != nil || created || info.Version != 1 {
		t.Errorf("PutCollection(items) with its own schema: %+v, %v, %v", info, created, err)
	}
	changes := map[string]records.Schema{
		"signed secret": {PartitionKey: "item_id", Attributes: map[string]string{"secret": records.ActionSign}},
		"new attribute": {PartitionKey: "item_id", Attributes: map[string]string{"secret": records.ActionEncrypt, "x": records.ActionSign}},
		"ECDSA":         {PartitionKey: "item_id", Attributes: map[string]string{"secret": records.ActionEncrypt}, Suite: records.SuiteECDSA},
		"searchable":    {PartitionKey: "item_id", Attributes: map[string]string{"secret": records.ActionEncrypt}, Searchable: map[string]int{"e": 8}},
		"other key":     {PartitionKey: "id"},
	}
	for name, sc := range changes {
		_, created, err := v.svc.PutCollection(ctx, records.ItemsCollection, sc)
		wantIs(t, "changing items: "+name, err, records.ErrConflict)
		if created {
			t.Errorf("%s: created", name)
		}
	}
	if got := get(t, v.svc, "k"); got != "s" {
		t.Errorf("items after refused changes: %q", got)
	}
	if info, _ := v.svc.Collection(ctx, records.ItemsCollection); info.Version != 1 {
		t.Errorf("items version %d", info.Version)
	}
}

func TestPutCollectionSafeChanges(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	sc := records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionEncrypt}, Searchable: map[string]int{"email": 8}}
	v.create(t, "people", sc)
	doc := attr.Item{"a": attr.S("alpha"), "b": attr.S("beta"), "email": attr.S("e@x")}
	v.putRec(t, "people", records.Key{ID: "old"}, doc)

	steps := []struct {
		name string
		sc   records.Schema
	}{
		{"add an attribute as sign", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionEncrypt, "b": records.ActionSign}, Searchable: map[string]int{"email": 8}}},
		{"encrypt to sign", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionSign, "b": records.ActionSign}, Searchable: map[string]int{"email": 8}}},
		{"ECDSA suite", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionSign, "b": records.ActionSign}, Searchable: map[string]int{"email": 8}, Suite: records.SuiteECDSA}},
		{"back to encrypt", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionEncrypt}, Searchable: map[string]int{"email": 8}}},
		{"drop the searchable attribute", records.Schema{PartitionKey: "id", Attributes: map[string]string{"a": records.ActionEncrypt}}},
	}
	version := 1
	for i, step := range steps {
		info, created, err := v.svc.PutCollection(ctx, "people", step.sc)
		if err != nil || created {
			t.Fatalf("%s: created %v, %v", step.name, created, err)
		}
		version++
		if info.Version != version {
			t.Errorf("%s: version %d, want %d", step.name, info.Version, version)
		}
		if got, err := v.svc.Collection(ctx, "people"); err != nil || got.Version != version {
			t.Errorf("%s: Collection says version %d, %v", step.name, got.Version, err)
		}
		// Every record written so far reads back, and a new one writes.
		id := fmt.Sprint("new", i)
		v.putRec(t, "people", records.Key{ID: id}, doc)
		for _, old := range append([]string{"old"}, prefixIDs("new", i+1)...) {
			r, err := v.svc.GetRecord(ctx, "people", records.Key{ID: old})
			if err != nil {
				t.Errorf("%s: reading %s: %v", step.name, old, err)
				continue
			}
			if !equalItems(r.Doc, with(doc, attr.Item{"id": attr.S(old)})) {
				t.Errorf("%s: %s reads %s", step.name, old, show(r.Doc))
			}
		}
	}
	// Under the sign step, a new record's a and b were stored readable.
	it := v.raw(t, "people", sc, records.Key{ID: "new1"})
	if it["a"] != attr.S("alpha") || it["b"] != attr.S("beta") {
		t.Errorf("stored under the sign schema: a %#v b %#v", it["a"], it["b"])
	}
	if _, ok := v.raw(t, "people", sc, records.Key{ID: "old"})["a"].(attr.B); !ok {
		t.Error("the record written first is no longer encrypted")
	}
}

func prefixIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

func TestPutCollectionUnsafeChanges(t *testing.T) {
	t.Parallel()
	base := records.Schema{PartitionKey: "id", Attributes: map[string]string{"p": records.ActionPlain, "s": records.ActionSign}, Searchable: map[string]int{"email": 8}}
	changes := []struct {
		name, why string
		sc        records.Schema
	}{
		{"partition key", "key attributes", records.Schema{PartitionKey: "key", Attributes: base.Attributes, Searchable: base.Searchable}},
		{"add a sort key", "key attributes", records.Schema{PartitionKey: "id", SortKey: "at", Attributes: base.Attributes, Searchable: base.Searchable}},
		{"sign to plain", `"s" would change between signed and plain`, records.Schema{PartitionKey: "id", Attributes: map[string]string{"p": records.ActionPlain, "s": records.ActionPlain}, Searchable: base.Searchable}},
		{"unlisted to plain", `"x" would change between signed and plain`, records.Schema{PartitionKey: "id", Attributes: map[string]string{"p": records.ActionPlain, "s": records.ActionSign, "x": records.ActionPlain}, Searchable: base.Searchable}},
		{"plain to sign", `"p" would change between signed and plain`, records.Schema{PartitionKey: "id", Attributes: map[string]string{"p": records.ActionSign, "s": records.ActionSign}, Searchable: base.Searchable}},
		{"plain dropped", `"p" would change between signed and plain`, records.Schema{PartitionKey: "id", Attributes: map[string]string{"s": records.ActionSign}, Searchable: base.Searchable}},
		{"new searchable", `"name" would become searchable`, records.Schema{PartitionKey: "id", Attributes: base.Attributes, Searchable: map[string]int{"email": 8, "name": 8}}},
		{"beacon length", `beacon length of "email"`, records.Schema{PartitionKey: "id", Attributes: base.Attributes, Searchable: map[string]int{"email": 9}}},
		{"sign to sign-and-bind", `"s" would become sign-and-bind`, records.Schema{PartitionKey: "id", Attributes: map[string]string{"p": records.ActionPlain, "s": records.ActionSignAndBind}, Searchable: base.Searchable}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newV1(t)
			ctx := t.Context()
			v.create(t, "full", base)
			v.create(t, "empty", base)
			v.putRec(t, "full", records.Key{ID: "r"}, attr.Item{"p": attr.S("plain"), "s": attr.S("signed"), "email": attr.S("e@x")})

			info, created, err := v.svc.PutCollection(ctx, "full", c.sc)
			var ce *records.ConflictError
			if !errors.Is(err, records.ErrConflict) || !errors.As(err, &ce) || created {
				t.Fatalf("non-empty collection: %+v, created %v, %v; want a *ConflictError", info, created, err)
			}
			if !strings.Contains(ce.Reason, c.why) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("the refusal does not say why (%q): %v", c.why, err)
			}
			if got, _ := v.svc.Collection(ctx, "full"); got.Version != 1 || got.Schema.PartitionKey != "id" || len(got.Schema.Searchable) != 1 {
				t.Errorf("a refused change changed the collection: %+v", got)
			}
			if r := v.getRec(t, "full", records.Key{ID: "r"}); r.Doc["s"] != attr.S("signed") {
				t.Errorf("the record after a refused change: %s", show(r.Doc))
			}

			// The key attributes never change: the table is keyed by them.
			info, created, err = v.svc.PutCollection(ctx, "empty", c.sc)
			if c.why == "key attributes" {
				wantIs(t, "key change on an empty collection", err, records.ErrConflict)
				return
			}
			if err != nil || created || info.Version != 2 {
				t.Fatalf("empty collection: %+v, created %v, %v; want version 2", info, created, err)
			}
			// The changed collection works under its new schema.
			doc := attr.Item{"p": attr.S("plain"), "s": attr.S("signed"), "email": attr.S("e@x"), "name": attr.S("n"), "x": attr.S("x")}
			v.putRec(t, "empty", records.Key{ID: "r"}, doc)
			if r := v.getRec(t, "empty", records.Key{ID: "r"}); !equalItems(r.Doc, with(doc, attr.Item{"id": attr.S("r")})) {
				t.Errorf("record under the new schema: %s", show(r.Doc))
			}
			for name := range c.sc.Searchable {
				page, err := v.svc.ListRecords(ctx, "empty", records.Query{Filters: map[string]string{name: string(doc[name].(attr.S))}})
				if err != nil || len(page.Records) != 1 {
					t.Errorf("search on %s under the new schema: %d records, %v", name, len(page.Records), err)
				}
			}
		})
	}
}

// A collection emptied by deletes takes the changes of an empty one.
func TestPutCollectionAfterEmptying(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	v.create(t, "c", peopleSchema)
	v.putRec(t, "c", records.Key{ID: "a"}, attr.Item{"x": attr.S("1")})
	plain := records.Schema{PartitionKey: "id", Attributes: map[string]string{"x": records.ActionPlain}}
	if _, _, err := v.svc.PutCollection(ctx, "c", plain); !errors.Is(err, records.ErrConflict) {
		t.Fatalf("change with a record: %v", err)
	}
	if err := v.svc.DeleteRecord(ctx, "c", records.Key{ID: "a"}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if info, _, err := v.svc.PutCollection(ctx, "c", plain); err != nil || info.Version != 2 {
		t.Fatalf("change once empty: %+v, %v", info, err)
	}
}

func TestConcurrentPutCollection(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	const n = 8
	sc := records.Schema{PartitionKey: "id", Searchable: map[string]int{"e": 8}}
	svcs := []*records.Service{v.svc, v.open(t)}
	infos := make([]records.CollectionInfo, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], created[i], errs[i] = svcs[i%2].PutCollection(t.Context(), "race", sc)
		})
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("PutCollection %d: %v", i, errs[i])
		}
		if created[i] {
			creators++
		}
		if infos[i].Version != 1 {
			t.Errorf("PutCollection %d: version %d", i, infos[i].Version)
		}
	}
	if creators != 1 {
		t.Errorf("%d callers created the collection, want 1", creators)
	}
	// Both services write and read each other's records.
	for i, s := range svcs {
		if _, err := s.PutRecord(t.Context(), "race", records.Key{ID: fmt.Sprint(i)}, attr.Item{"e": attr.S("v")}, records.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range svcs {
		page, err := s.ListRecords(t.Context(), "race", records.Query{Filters: map[string]string{"e": "v"}})
		if err != nil || len(page.Records) != 2 {
			t.Errorf("search: %d records, %v", len(page.Records), err)
		}
	}
}

// Another server picks up a schema change after the refresh period.
func TestSchemaRefresh(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	ctx := t.Context()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	other, err := records.Open(ctx, v.db, v.keys(t), hierarchy.NewCache(0, 100, nil), records.Options{Refresh: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v.create(t, "c", peopleSchema)
	// A collection created elsewhere is found at once.
	if _, err := other.PutRecord(ctx, "c", records.Key{ID: "a"}, attr.Item{"x": attr.S("1")}, records.Precondition{}); err != nil {
		t.Fatalf("PutRecord on another server: %v", err)
	}
	signed := records.Schema{PartitionKey: "id", Attributes: map[string]string{"x": records.ActionSign}}
	if _, _, err := v.svc.PutCollection(ctx, "c", signed); err != nil {
		t.Fatal(err)
	}
	// Within the refresh period the other server writes x encrypted...
	if _, err := other.PutRecord(ctx, "c", records.Key{ID: "b"}, attr.Item{"x": attr.S("2")}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := v.raw(t, "c", peopleSchema, records.Key{ID: "b"})["x"].(attr.B); !ok {
		t.Fatal("the other server used the new schema before the refresh period")
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	// ...and after it, signed.
	if _, err := other.PutRecord(ctx, "c", records.Key{ID: "c"}, attr.Item{"x": attr.S("3")}, records.Precondition{}); err != nil {
		t.Fatal(err)
	}
	if got := v.raw(t, "c", peopleSchema, records.Key{ID: "c"})["x"]; got != attr.S("3") {
		t.Errorf("after the refresh period x is stored as %#v, want signed and readable", got)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := v.svc.GetRecord(ctx, "c", records.Key{ID: id}); err != nil {
			t.Errorf("reading %s: %v", id, err)
		}
	}
}

// Every refusal of Validate names its field the same way: body.<field>,
// as the attribute and searchable refusals do (and as "sort key equals
// partition key" does for body.sortKey).
func TestSchemaValidateFieldNames(t *testing.T) {
	t.Parallel()
	for _, c := range refusedSchemas() {
		var inv *records.InvalidError
		if err := c.s.Validate(); errors.As(err, &inv) && inv.Field != c.field {
			t.Errorf("%s: field %q, want %q", c.name, inv.Field, c.field)
		}
	}
}

// A searchable attribute named with the reserved prefix can never hold a
// value (PutRecord refuses such attributes): the schema must be refused
// like an attribute of that name is.
func TestSchemaValidateReservedSearchableNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"aws_dbe_x", "aws_dbe_head", "aws_dbe_b_email"} {
		s := records.Schema{PartitionKey: "id", Searchable: map[string]int{name: 8}}
		wantInvalid(t, "searchable "+name, s.Validate(), "body.searchable."+name)
	}
}
