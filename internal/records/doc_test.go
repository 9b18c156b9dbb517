package records_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/records"
)

func TestParseDocumentValues(t *testing.T) {
	t.Parallel()
	got := parse(t, `{"s":"str","e":"","n":-1.5,"t":true,"f":false,"z":null,"l":[1,"a",null,[],{}],"m":{"k":{"deep":[false]}},"u":"é\u00e9\n"}`)
	want := attr.Item{
		"s": attr.S("str"),
		"e": attr.S(""),
		"n": attr.N("-1.5"),
		"t": attr.Bool(true),
		"f": attr.Bool(false),
		"z": attr.Null{},
		"l": attr.L{attr.N("1"), attr.S("a"), attr.Null{}, attr.L{}, attr.M{}},
		"m": attr.M{"k": attr.M{"deep": attr.L{attr.Bool(false)}}},
		"u": attr.S("éé\n"),
	}
	if !equalItems(got, want) {
		t.Errorf("ParseDocument: %#v", got)
	}
	// Exact Go types, not just equal serializations.
	if _, ok := got["l"].(attr.L); !ok {
		t.Errorf("array is %T", got["l"])
	}
	if _, ok := got["m"].(attr.M); !ok {
		t.Errorf("object is %T", got["m"])
	}
	if it := parse(t, ` {} `); len(it) != 0 || it == nil {
		t.Errorf("empty object: %#v", it)
	}
}

func TestParseDocumentNumbers(t *testing.T) {
	t.Parallel()
	// Canonical literals come back digit for digit.
	for _, lit := range []string{
		"12345678901234567890.5",
		"99999999999999999999999999999999999999",
		"-99999999999999999999999999999999999999",
		"0.00000000000000000000000000000000000001",
		"1234567890123456789012345678901234567.8",
		"0", "-7", "3.14159265358979323846264338327950288",
	} {
		it := parse(t, `{"n":`+lit+`}`)
		if it["n"] != attr.N(lit) {
			t.Errorf("%s parsed as %#v", lit, it["n"])
		}
		out, err := records.MarshalDocument(it)
		if err != nil || string(out) != `{"n":`+lit+`}` {
			t.Errorf("%s marshalled as %s, %v", lit, out, err)
		}
	}
	// Other spellings take DynamoDB's canonical form.
	for lit, want := range map[string]string{"1.50": "1.5", "1e2": "100", "-0": "0", "0.0": "0", "1E-3": "0.001", "12.5e1": "125"} {
		if it := parse(t, `{"n":`+lit+`}`); it["n"] != attr.N(want) {
			t.Errorf("%s parsed as %#v, want %s", lit, it["n"], want)
		}
	}
	// Numbers DynamoDB cannot hold are refused, naming the attribute only.
	for _, lit := range []string{
		"123456789012345678901234567890123456789", // 39 digits
		"2e126", "-3e200", "5e-131", "9.5e125000",
	} {
		_, err := records.ParseDocument([]byte(`{"m":{"n":` + lit + `}}`))
		wantInvalid(t, lit, err, "body.m.n")
		if err != nil && strings.Contains(err.Error(), lit) {
			t.Errorf("%s: the error quotes the number: %v", lit, err)
		}
	}
}

func TestParseDocumentRefusals(t *testing.T) {
	t.Parallel()
	const canary = "CANARY-7f3a9"
	cases := []struct {
		name, doc, field string
	}{
		{"duplicate member", `{"a":"` + canary + `","a":"` + canary + `"}`, "body.a"},
		{"duplicate nested member", `{"a":{"b":1,"c":"` + canary + `","b":"` + canary + `"}}`, "body.a.b"},
		{"duplicate member in a list", `{"a":[{"x":"` + canary + `","x":2}]}`, "body.a[0].x"},
		{"duplicate after escapes", `{"a":"` + canary + `","\u0061":1}`, "body.a"},
		{"array", `["` + canary + `"]`, "body"},
		{"string", `"` + canary + `"`, "body"},
		{"number", `12345`, "body"},
		{"null", `null`, "body"},
		{"true", `true`, "body"},
		{"empty", ``, "body"},
		{"whitespace", ` `, "body"},
		{"invalid UTF-8 in a value", "{\"a\":\"" + canary + "\xff\"}", "body"},
		{"invalid UTF-8 in a name", "{\"a\xc3\":\"" + canary + "\"}", "body"},
		{"invalid UTF-8 outside strings", "{\"a\":\"" + canary + "\"}\xff", "body"},
		{"overlong encoding", "{\"a\":\"\xc0\xaf" + canary + "\"}", "body"},
		{"escaped lone high surrogate", `{"a":"` + canary + `\ud800"}`, "body"},
		{"escaped lone low surrogate", `{"a":"\udc00` + canary + `"}`, "body"},
		{"escaped surrogate in a name", `{"\ud83d":"` + canary + `"}`, "body"},
		{"escaped surrogates the wrong way round", `{"a":["\ude00\ud83d` + canary + `"]}`, "body"},
		{"trailing object", `{"a":1} {"b":"` + canary + `"}`, "body"},
		{"trailing garbage", `{"a":"` + canary + `"}x`, "body"},
		{"unterminated", `{"a":"` + canary, ""},
		{"unterminated object", `{"a":"` + canary + `"`, ""},
		{"missing comma", `{"a":"` + canary + `" "b":1}`, ""},
		{"bad literal", `{"a":tru, "b":"` + canary + `"}`, ""},
		{"bad escape", `{"a":"\q` + canary + `"}`, ""},
		{"single quotes", `{'a':'` + canary + `'}`, ""},
		{"trailing comma", `{"a":"` + canary + `",}`, ""},
		{"NaN", `{"a":NaN,"b":"` + canary + `"}`, ""},
		{"leading zero", `{"a":0123}`, ""},
		{"hex number", `{"a":0x10}`, ""},
		{"number too big", `{"a":{"b":1` + strings.Repeat("7", 40) + `}}`, "body.a.b"},
		{"number out of range", `{"a":[1e999]}`, "body.a[0]"},
		{"too deep", `{"a":` + strings.Repeat(`{"b":`, 40) + `"` + canary + `"` + strings.Repeat("}", 40) + `}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			it, err := records.ParseDocument([]byte(c.doc))
			if it != nil {
				t.Errorf("an item with the error: %#v", it)
			}
			wantInvalid(t, "ParseDocument", err, c.field)
			if err == nil {
				return
			}
			for _, leak := range []string{canary, "CANARY", "7777777777", "\xff"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error holds a value (%q): %q", leak, err)
				}
			}
			var inv *records.InvalidError
			if errors.As(err, &inv) && !strings.HasPrefix(inv.Field, "body") {
				t.Errorf("field %q does not name the body", inv.Field)
			}
		})
	}
}

// nested returns a JSON document whose attribute a holds n nested lists
// around a number: the number is at depth n+1, the attribute at depth 1.
func nested(n int) string {
	return `{"a":` + strings.Repeat("[", n) + "1" + strings.Repeat("]", n) + `}`
}

func nestedValue(n int) attr.Value {
	var v attr.Value = attr.N("1")
	for range n {
		v = attr.L{v}
	}
	return v
}

// The depth limit is the item format's: attr.MaxDepth, with an attribute's
// value at depth 1. What the format can store parses; one level more does
// not.
func TestParseDocumentDepth(t *testing.T) {
	t.Parallel()
	v := newV1(t)
	v.create(t, "deep", peopleSchema)
	deepest := attr.MaxDepth - 1 // lists around a number at depth MaxDepth
	// The item format takes the deepest document and refuses one more.
	if _, err := v.svc.PutRecord(t.Context(), "deep", records.Key{ID: "x"}, attr.Item{"a": nestedValue(deepest)}, records.Precondition{}); err != nil {
		t.Fatalf("PutRecord of a value at depth %d: %v", attr.MaxDepth, err)
	}
	if _, err := v.svc.PutRecord(t.Context(), "deep", records.Key{ID: "y"}, attr.Item{"a": nestedValue(deepest + 1)}, records.Precondition{}); err == nil {
		t.Fatalf("PutRecord of a value at depth %d succeeded", attr.MaxDepth+1)
	}
	// ParseDocument agrees.
	for n := deepest - 2; n <= deepest; n++ {
		it, err := records.ParseDocument([]byte(nested(n)))
		if err != nil {
			t.Errorf("%d nested lists (a value at depth %d): %v", n, n+1, err)
			continue
		}
		if !attr.Equal(it["a"], nestedValue(n)) {
			t.Errorf("%d nested lists parsed as %#v", n, it["a"])
		}
		v.putRec(t, "deep", records.Key{ID: "x"}, it)
		if r := v.getRec(t, "deep", records.Key{ID: "x"}); !attr.Equal(r.Doc["a"], nestedValue(n)) {
			t.Errorf("%d nested lists read back as %#v", n, r.Doc["a"])
		}
	}
	for _, n := range []int{deepest + 1, deepest + 2, 1000} {
		_, err := records.ParseDocument([]byte(nested(n)))
		wantInvalid(t, "too deep", err, "")
	}
	// Objects count the same as lists.
	obj := `{"a":` + strings.Repeat(`{"b":`, deepest) + "1" + strings.Repeat("}", deepest) + `}`
	if _, err := records.ParseDocument([]byte(obj)); err != nil {
		t.Errorf("%d nested objects: %v", deepest, err)
	}
	obj = `{"a":` + strings.Repeat(`{"b":`, deepest+1) + "1" + strings.Repeat("}", deepest+1) + `}`
	_, err := records.ParseDocument([]byte(obj))
	wantInvalid(t, "too deep objects", err, "")
}

func TestMarshalDocument(t *testing.T) {
	t.Parallel()
	cases := []struct {
		want string
		it   attr.Item
	}{
		{`{}`, attr.Item{}},
		{`{"a":"x","b":1,"c":true,"d":false,"e":null}`, attr.Item{"e": attr.Null{}, "d": attr.Bool(false), "c": attr.Bool(true), "b": attr.N("1"), "a": attr.S("x")}},
		{`{"l":[1,[2,[]],{"a":2,"z":1}],"m":{"a":[null],"b":{}}}`, attr.Item{"m": attr.M{"b": attr.M{}, "a": attr.L{attr.Null{}}}, "l": attr.L{attr.N("1"), attr.L{attr.N("2"), attr.L{}}, attr.M{"z": attr.N("1"), "a": attr.N("2")}}}},
		{`{"q":"a\"b\\c\nd\u0000e"}`, attr.Item{"q": attr.S("a\"b\\c\nd\x00e")}},
		{`{"":"empty name","é":"秘密"}`, attr.Item{"é": attr.S("秘密"), "": attr.S("empty name")}},
	}
	for _, c := range cases {
		got, err := records.MarshalDocument(c.it)
		if err != nil {
			t.Errorf("MarshalDocument(%s): %v", c.want, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("MarshalDocument = %s, want %s", got, c.want)
		}
		back, err := records.ParseDocument(got)
		if err != nil || !reflect.DeepEqual(back, c.it) {
			t.Errorf("round trip of %s: %v", got, err)
		}
	}
	// Every parsed document marshals back to its canonical text.
	for _, doc := range []string{
		`{"a":[1,2,{"b":null}],"c":{"d":"e"},"n":12345678901234567890.5}`,
		`{"deep":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
	} {
		out, err := records.MarshalDocument(parse(t, doc))
		if err != nil || string(out) != doc {
			t.Errorf("MarshalDocument(ParseDocument(%s)) = %s, %v", doc, out, err)
		}
	}
	// Values the API never writes still come out as JSON.
	out, err := records.MarshalDocument(attr.Item{"b": attr.B{1, 2}, "ss": attr.SS{"x"}, "ns": attr.NS{"1"}, "bs": attr.BS{{3}}})
	if err != nil || !json.Valid(out) {
		t.Errorf("binary and sets: %s, %v", out, err)
	}
	if _, err := records.MarshalDocument(attr.Item{"x": nil}); err == nil {
		t.Error("MarshalDocument of a nil value succeeded")
	}
}

func FuzzParseDocument(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a":1}`, `{"a":"b","c":[1,2,{"d":null}],"e":{"f":true}}`,
		`{"n":12345678901234567890.5}`, `{"n":1e2}`, `{"a":1,"a":2}`, `[]`, `{"a":` + "\xff" + `}`,
		nested(30), nested(31), `{"s":"<&>\u2028"}`, `{"":""}`, `{"a":-0.0e-0}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		it, err := records.ParseDocument(data)
		if err != nil {
			var inv *records.InvalidError
			if !errors.As(err, &inv) || it != nil {
				t.Fatalf("ParseDocument: %T %v, item %v", err, err, it)
			}
			return
		}
		out, err := records.MarshalDocument(it)
		if err != nil {
			t.Fatalf("MarshalDocument of a parsed document: %v", err)
		}
		back, err := records.ParseDocument(out)
		if err != nil {
			t.Fatalf("ParseDocument(%q) of MarshalDocument: %v", out, err)
		}
		if !reflect.DeepEqual(back, it) {
			t.Fatalf("round trip changed the document: %q", out)
		}
		again, err := records.MarshalDocument(back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("MarshalDocument is not canonical: %q then %q", out, again)
		}
	})
}
