package attr_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

func TestParseValueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		shorthand bool
		want      attr.Value
	}{
		{"S", `{"S":"abc"}`, false, attr.S("abc")},
		{"S empty", `{"S":""}`, false, attr.S("")},
		{"S escapes", `{"S":"\u00e9\ud83d\ude00\n"}`, false, attr.S("é😀\n")},
		{"N", `{"N":"-007.10"}`, false, attr.N("-007.10")},
		{"B", `{"B":"AQL/"}`, false, attr.B{1, 2, 0xff}},
		{"B empty", `{"B":""}`, false, attr.B{}},
		{"BOOL", `{"BOOL":false}`, false, attr.Bool(false)},
		{"NULL", `{"NULL":true}`, false, attr.Null{}},
		{"L", `{"L":[{"S":"a"},{"N":"1"}]}`, false, attr.L{attr.S("a"), attr.N("1")}},
		{"L empty", `{"L":[]}`, false, attr.L{}},
		{"M", `{"M":{"a":{"NULL":true},"b":{"M":{}}}}`, false, attr.M{"a": attr.Null{}, "b": attr.M{}}},
		{"SS", `{"SS":["b","a"]}`, false, attr.SS{"b", "a"}},
		{"SS empty", `{"SS":[]}`, false, attr.SS{}},
		{"NS", `{"NS":["1","2.5"]}`, false, attr.NS{"1", "2.5"}},
		{"BS", `{"BS":["AQ==","",  "Ag=="]}`, false, attr.BS{{1}, {}, {2}}},
		{"white space", " \n{ \"S\" : \"x\" }\t", false, attr.S("x")},
		{"typed with shorthand on", `{"N":"5"}`, true, attr.N("5")},
		{"bare string", `"abc"`, true, attr.S("abc")},
		{"bare number keeps text", `1.50e2`, true, attr.N("1.50e2")},
		{"bare number 38 digits", `12345678901234567890123456789012345678`, true,
			attr.N("12345678901234567890123456789012345678")},
		{"bare negative zero", `-0`, true, attr.N("-0")},
		{"shorthand in L and M", `{"L":["a",1,{"M":{"x":2,"y":"z"}}]}`, true,
			attr.L{attr.S("a"), attr.N("1"), attr.M{"x": attr.N("2"), "y": attr.S("z")}}},
		{"NS shorthand numbers", `{"NS":["1.2",3.4,"5.6"]}`, true, attr.NS{"1.2", "3.4", "5.6"}},
	}
	for _, tt := range tests {
		got, err := attr.ParseValueJSON([]byte(tt.in), tt.shorthand)
		if err != nil || !attr.Equal(got, tt.want) {
			t.Errorf("%s: ParseValueJSON(%s) = %#v, %v; want %#v", tt.name, tt.in, got, err, tt.want)
		}
	}
}

// Numbers keep the text they were written with; only Marshal normalizes.
func TestParseValueJSONKeepsNumberText(t *testing.T) {
	t.Parallel()
	v, err := attr.ParseValueJSON([]byte(`{"L":[1E5,{"N":"00.10"},{"NS":[2.50]}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	l := v.(attr.L)
	if l[0] != attr.N("1E5") || l[1] != attr.N("00.10") || l[2].(attr.NS)[0] != "2.50" {
		t.Errorf("ParseValueJSON = %#v, want the literal number texts", v)
	}
}

func TestParseValueJSONRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		shorthand bool
		problem   string
	}{
		{"empty input", ``, false, "end of input"},
		{"truncated", `{"S":"a"`, false, "end of input"},
		{"syntax", `{"S":"a",}`, false, "invalid JSON"},
		{"trailing data", `{"S":"a"} {"S":"b"}`, false, "after the value"},
		{"trailing garbage", `{"S":"a"}x`, false, "after the value"},
		{"empty object", `{}`, false, "no type"},
		{"two members", `{"S":"a","N":"1"}`, false, "more than one member"},
		{"duplicate member", `{"S":"a","S":"b"}`, false, "more than one member"},
		{"unknown type", `{"X":"a"}`, false, "unknown type name; want S, N, B, BOOL"},
		{"lower-case type", `{"s":"a"}`, false, "unknown type"},
		{"bare string", `"a"`, false, "expected a typed object, got a string"},
		{"bare number", `1`, false, "expected a typed object, got a number"},
		{"bare bool", `true`, true, "got a boolean"},
		{"bare null", `null`, true, "got null"},
		{"bare array", `[]`, true, "got an array"},
		{"S number", `{"S":1}`, false, "expected a string for S, got a number"},
		{"N number", `{"N":1}`, false, "expected a string for N"},
		{"N number with shorthand", `{"N":1}`, true, "expected a string for N"},
		{"N invalid", `{"N":"1.2.3"}`, false, `number (5 bytes) has an invalid character`},
		{"N out of range", `{"N":"1e999"}`, false, `number (5 bytes) is out of DynamoDB's range`},
		{"bare number out of range", `1e999999999`, true, "out of DynamoDB's range"},
		{"B not base64", `{"B":"a!=="}`, false, "not valid base64"},
		{"B bad padding", `{"B":"AQ="}`, false, "not valid base64"},
		{"B URL alphabet", `{"B":"_-8="}`, false, "not valid base64"},
		{"B number", `{"B":1}`, false, "expected a base64 string"},
		{"BOOL string", `{"BOOL":"true"}`, false, "expected a boolean for BOOL"},
		{"NULL false", `{"NULL":false}`, false, "NULL must be true"},
		{"NULL null", `{"NULL":null}`, false, "expected a boolean for NULL"},
		{"L object", `{"L":{}}`, false, "expected an array for L"},
		{"L bare entry", `{"L":["a"]}`, false, "at [0]: expected a typed object"},
		{"M array", `{"M":[]}`, false, "expected an object for M"},
		{"M empty key", `{"M":{"":{"S":"a"}}}`, false, "at M[0]: empty map key"},
		{"M duplicate key", `{"M":{"a":{"S":"a"},"b":{"S":"b"},"a":{"S":"c"}}}`, false,
			"at M[2]: duplicate map key (same as M[0])"},
		{"M bad value", `{"M":{"a":{"S":"a"},"b":{"L":[{"S":"b"},{"B":"?"}]}}}`, false, "at M[1][1]: B is not valid base64"},
		{"SS number", `{"SS":["a",1]}`, true, "at [1]: SS entries must be strings, got a number"},
		{"SS duplicate", `{"SS":["a","b","a"]}`, false, "at [2]: SS has duplicate entries"},
		{"SS object", `{"SS":"a"}`, false, "expected an array for SS"},
		{"NS number without shorthand", `{"NS":[1]}`, false, "NS entries must be strings, got a number"},
		{"NS null", `{"NS":[null]}`, true, "NS entries must be strings or numbers, got null"},
		{"NS duplicate after normalization", `{"NS":["1","1.0"]}`, false, "NS has duplicate entries"},
		{"NS shorthand duplicate", `{"NS":[1,"1e0"]}`, true, "NS has duplicate entries"},
		{"NS invalid", `{"NS":["x"]}`, false, `number (1 bytes) is not a decimal number`},
		{"BS not base64", `{"BS":["AQ==","?"]}`, false, "at [1]: BS entry is not valid base64"},
		{"BS duplicate", `{"BS":["AQ==","AQ=="]}`, false, "BS has duplicate entries"},
		{"BS number", `{"BS":[1]}`, true, "BS entries must be strings"},
		{"too deep", strings.Repeat(`{"L":[`, 33) + strings.Repeat(`]}`, 33), false, "nesting deeper than 32"},
		{"very deep", strings.Repeat(`{"M":{"a":`, 5000), false, "nesting deeper than 32"},
		{"too deep leaf", strings.Repeat(`{"L":[`, 32) + `{"S":"a"}` + strings.Repeat(`]}`, 32), false, "nesting deeper"},
	}
	for _, tt := range tests {
		v, err := attr.ParseValueJSON([]byte(tt.in), tt.shorthand)
		if err == nil {
			t.Errorf("%s: ParseValueJSON = %#v, want error", tt.name, v)
			continue
		}
		if !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.problem)
		}
	}
}

func TestParseValueJSONMaxDepth(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(`{"L":[`, 31) + `{"S":"a"}` + strings.Repeat(`]}`, 31)
	v, err := attr.ParseValueJSON([]byte(in), false)
	if err != nil || !attr.Equal(v, nestL(31, attr.S("a"))) {
		t.Errorf("ParseValueJSON(depth 32) = %v", err)
	}
}

func TestParseItemJSON(t *testing.T) {
	t.Parallel()
	in := `{"RecNum": 1, "One": "StuffData", "Two": 42, "Three": {"B": "VGhpcyBJcyBTb21lIERhdGEu"},
		"Four": {"NULL": true}, "Five": {"BOOL": false}, "Six": {"L": ["one", {"L": [1, 2]}]},
		"Seven": {"M": {"this": "that", "map": {"M": {"three": 4}}}}, "Eight": {"SS": ["one", "two"]},
		"Nine": {"NS": ["1.2", 3.4]}, "Ten": {"BS": [""]}}`
	want := attr.Item{
		"RecNum": attr.N("1"), "One": attr.S("StuffData"), "Two": attr.N("42"),
		"Three": attr.B("This Is Some Data."), "Four": attr.Null{}, "Five": attr.Bool(false),
		"Six":   attr.L{attr.S("one"), attr.L{attr.N("1"), attr.N("2")}},
		"Seven": attr.M{"this": attr.S("that"), "map": attr.M{"three": attr.N("4")}},
		"Eight": attr.SS{"one", "two"}, "Nine": attr.NS{"1.2", "3.4"}, "Ten": attr.BS{{}},
	}
	got, err := attr.ParseItemJSON([]byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	checkItemsEqual(t, got, want)
}

func TestParseItemJSONRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, problem string }{
		{"array", `[]`, "expected an object, got an array"},
		{"string", `"a"`, "expected an object, got a string"},
		{"empty name", `{"":{"S":"a"}}`, "empty attribute name"},
		{"duplicate name", `{"a":{"S":"a"},"a":{"S":"b"}}`, "at a: duplicate attribute name"},
		{"bad value path", `{"Stuff":{"L":[{"S":"x"},{"M":{"k y":{"Q":1}}}]}}`, `at Stuff[1].M[0]: unknown type name;`},
		{"quoted attribute name", `{"a b":{"N":"x"}}`, `at "a b": number (1 bytes) is not a decimal number`},
		{"trailing", `{} []`, "after the value"},
		{"truncated", `{"a":{"S":"b"}`, "end of input"},
	}
	for _, tt := range tests {
		it, err := attr.ParseItemJSON([]byte(tt.in), true)
		if err == nil {
			t.Errorf("%s: ParseItemJSON = %#v, want error", tt.name, it)
			continue
		}
		if !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("%s: error %q does not say %q", tt.name, err, tt.problem)
		}
	}
}

// TestParseJSONErrorFormat pins whole messages: the path names the
// top-level attribute, then list indexes and map members by position.
func TestParseJSONErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"secret":{"M":{"alice@example.com":{"S":"x"},"b":"y","c":"z","4111111111111111":{"S":"x"},` +
			`"4111111111111111":{"S":"x"}}}}`,
			`attr: json at secret.M[4]: duplicate map key (same as M[3])`},
		{`{"secret":{"M":{"alice@example.com":{"S":"x"},"b":{"L":[1,2,{"N":"x1"}]}}}}`,
			`attr: json at secret.M[1][2]: number (2 bytes) is not a decimal number`},
		{`{"secret":{"L":[1,2,{"M":{"pin":{"B":"1234"},"k":{"BOOL":"yes"}}}]}}`,
			`attr: json at secret[2].M[1]: expected a boolean for BOOL, got a string`},
		{`{"secret":{"alice@example.com":{"S":"x"}}}`,
			`attr: json at secret: unknown type name; want S, N, B, BOOL, NULL, L, M, SS, NS or BS`},
		{`{"secret":{"M":{"alice@example.com":{"S":"x"}}},"secret":{"S":"x"}}`,
			`attr: json at secret: duplicate attribute name`},
		{`{"secret":{"M":{"alice@example.com":{"SS":["a","a"]}}}}`,
			`attr: json at secret.M[0][1]: SS has duplicate entries`},
		{`{"secret":{"M":{"alice@example.com":{"S":"x\q"}}}}`,
			`attr: json at secret.M[0]: invalid JSON at offset 41`},
	}
	for _, tt := range tests {
		_, err := attr.ParseItemJSON([]byte(tt.in), true)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseItemJSON(%s) error = %v\nwant %s", tt.in, err, tt.want)
		}
	}
	_, err := attr.ParseValueJSON([]byte(`{"M":{"a":{"S":"x"},"b":{"M":{"c":{"N":"1e999"}}}}}`), false)
	if want := `attr: json at M[1].M[0]: number (5 bytes) is out of DynamoDB's range`; err == nil || err.Error() != want {
		t.Errorf("ParseValueJSON error = %v, want %s", err, want)
	}
}

// Error messages may be logged: they must not quote string or binary values.
func TestParseJSONErrorsHideValues(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"a":{"S":"secret-value","N":"1"}}`,
		`{"a":{"SS":["secret-value","secret-value"]}}`,
		`{"a":{"B":"secret-value"}}`,
		`{"a":{"L":[{"S":"secret-value"},"secret-value"]}}`,
		`{"a":{"BS":["c2VjcmV0LXZhbHVl","c2VjcmV0LXZhbHVl"]}}`,
		`{"a":{"S":"x"} secret-value}`,
	} {
		_, err := attr.ParseItemJSON([]byte(in), false)
		if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "c2Vj") {
			t.Errorf("ParseItemJSON(%s) error = %v", in, err)
		}
	}
}

// Map keys may be as secret as values (a whole M may be encrypted): no
// error may quote either, however the JSON is broken.
func TestParseJSONErrorsHideMapKeysAndValues(t *testing.T) {
	t.Parallel()
	const canary = "CANARY"
	deep := strings.Repeat(`{"M":{"CANARY-key":`, 40) + `{"S":"CANARY-value"}` + strings.Repeat(`}}`, 40)
	deepList := strings.Repeat(`{"M":{"CANARY-key":{"L":[`, 20) + `"CANARY-value"` + strings.Repeat(`]}}}`, 20)
	for _, v := range []string{
		// Bad type keys, and an M's body missing its {"M": …} wrapper.
		`{"M":{"CANARY-key":{"CANARY-type":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"s":"CANARY-value"}}}`,
		`{"CANARY-key":{"S":"CANARY-value"}}`,
		`{"M":{"CANARY-key":{"CANARY-key2":{"S":"CANARY-value"}}}}`,
		`{"M":{"CANARY-key":{"S":"CANARY-value","CANARY-key2":"CANARY-value2"}}}`,
		`{"M":{"CANARY-key":{}}}`,
		// Duplicate nested keys, at several depths.
		`{"M":{"CANARY-key":{"S":"CANARY-value"},"CANARY-key":{"S":"CANARY-value2"}}}`,
		`{"M":{"CANARY-a":{"M":{"CANARY-key":{"N":"1"},"CANARY-key":{"N":"2"}}}}}`,
		`{"L":[{"M":{"CANARY-key":{"BOOL":true},"CANARY-key":{"NULL":true}}}]}`,
		`{"M":{"":{"S":"CANARY-value"}}}`,
		// Bad numbers.
		`{"M":{"CANARY-key":{"N":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"N":"1CANARY"}}}`,
		`{"M":{"CANARY-key":{"NS":["1","CANARY-value"]}}}`,
		`{"M":{"CANARY-key":{"NS":["1","1.0"]}}}`,
		`{"M":{"CANARY-key":{"N":"1e999"}}}`,
		// Bad base64.
		`{"M":{"CANARY-key":{"B":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"BS":["Q0FOQVJZ","CANARY-value"]}}}`,
		`{"M":{"CANARY-key":{"BS":["Q0FOQVJZ","Q0FOQVJZ"]}}}`,
		// Wrong JSON types.
		`{"M":{"CANARY-key":{"S":{"CANARY-key2":"CANARY-value"}}}}`,
		`{"M":{"CANARY-key":{"S":["CANARY-value"]}}}`,
		`{"M":{"CANARY-key":{"BOOL":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"NULL":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"L":{"CANARY-key2":"CANARY-value"}}}}`,
		`{"M":{"CANARY-key":{"M":["CANARY-value"]}}}`,
		`{"M":["CANARY-value"]}`,
		`{"M":{"CANARY-key":{"SS":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"SS":[{"CANARY-key2":"CANARY-value"}]}}}`,
		`{"M":{"CANARY-key":{"SS":["CANARY-value","CANARY-value"]}}}`,
		`{"M":{"CANARY-key":true}}`,
		`{"M":{"CANARY-key":null}}`,
		`{"M":{"CANARY-key":["CANARY-value"]}}`,
		// Too deep.
		deep,
		deepList,
		// Broken JSON around keys and values.
		`{"M":{"CANARY-key" {"S":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"S":"CANARY-value\q"}}}`,
		"{\"M\":{\"CANARY-key\":{\"S\":\"CANARY-value\x01\"}}}",
		`{"M":{"CANARY-key":{"S":"CANARY-value"}} CANARY-trailing}`,
		`{"M":{"CANARY-key":{"S":"CANARY-value"},}}`,
		`{"M":{"CANARY-key":{"S":"CANARY-value"`,
		`{"M":{"CANARY-key"`,
		`{"M":{CANARY-key:{"S":"CANARY-value"}}}`,
		`{"M":{"CANARY-key":{"S":CANARY-value}}}`,
	} {
		for _, shorthand := range []bool{false, true} {
			_, err := attr.ParseValueJSON([]byte(v), shorthand)
			if err == nil || strings.Contains(err.Error(), canary) {
				t.Errorf("ParseValueJSON(%s, %v) error = %v", v, shorthand, err)
			}
			item := `{"secret":` + v + `}`
			_, err = attr.ParseItemJSON([]byte(item), shorthand)
			if err == nil || strings.Contains(err.Error(), canary) {
				t.Errorf("ParseItemJSON(%s, %v) error = %v", item, shorthand, err)
			}
		}
	}
}

func TestMarshalItemJSON(t *testing.T) {
	t.Parallel()
	it := attr.Item{
		"s": attr.S("<a&b>"), "n": attr.N("1.50"), "b": attr.B{1, 2, 0xff}, "t": attr.Bool(true),
		"z": attr.Null{}, "l": attr.L{attr.S("x"), attr.L(nil)}, "m": attr.M{"y": attr.B(nil), "x": attr.M(nil)},
		"ss": attr.SS{"b", "a"}, "ns": attr.NS{"2", "1"}, "bs": attr.BS{{2}, {}}, "es": attr.SS(nil),
	}
	want := `{"b":{"B":"AQL/"},"bs":{"BS":["Ag==",""]},"es":{"SS":[]},"l":{"L":[{"S":"x"},{"L":[]}]},` +
		`"m":{"M":{"x":{"M":{}},"y":{"B":""}}},"n":{"N":"1.50"},"ns":{"NS":["2","1"]},"s":{"S":"<a&b>"},` +
		`"ss":{"SS":["b","a"]},"t":{"BOOL":true},"z":{"NULL":true}}`
	got, err := attr.MarshalItemJSON(it)
	if err != nil || string(got) != want {
		t.Fatalf("MarshalItemJSON =\n%s, %v\nwant\n%s", got, err, want)
	}
	back, err := attr.ParseItemJSON(got, false)
	if err != nil {
		t.Fatal(err)
	}
	checkItemsEqual(t, back, it)
}

func TestMarshalValueJSON(t *testing.T) {
	t.Parallel()
	got, err := attr.MarshalValueJSON(attr.M{"k": attr.NS{"1e2"}})
	if want := `{"M":{"k":{"NS":["1e2"]}}}`; err != nil || string(got) != want {
		t.Errorf("MarshalValueJSON = %s, %v; want %s", got, err, want)
	}
	if got, err := attr.MarshalItemJSON(nil); err != nil || string(got) != "{}" {
		t.Errorf("MarshalItemJSON(nil) = %s, %v; want {}", got, err)
	}
}

func TestMarshalJSONRejects(t *testing.T) {
	t.Parallel()
	for _, v := range []attr.Value{
		nil, attr.N("x"), attr.S("\xff"), attr.SS{"a", "a"}, attr.NS{"1", "1.0"},
		attr.M{"": attr.S("a")}, attr.L{nil}, otherValue{}, nestL(33, nil),
	} {
		if b, err := attr.MarshalValueJSON(v); err == nil {
			t.Errorf("MarshalValueJSON(%#v) = %s, want error", v, b)
		}
		if b, err := attr.MarshalItemJSON(attr.Item{"a": v}); err == nil {
			t.Errorf("MarshalItemJSON(a: %#v) = %s, want error", v, b)
		}
	}
	for _, name := range []string{"", "\xff"} {
		if _, err := attr.MarshalItemJSON(attr.Item{name: attr.S("a")}); err == nil {
			t.Errorf("MarshalItemJSON accepted attribute name %q", name)
		}
	}
}

func TestJSONRoundTripGenerated(t *testing.T) {
	t.Parallel()
	values := randomValues(t, 3, 1000, 4)
	for i := 0; i+5 <= len(values); i += 5 {
		it := attr.Item{}
		for j, v := range values[i : i+5] {
			it[sampleName(j)] = v
		}
		b, err := attr.MarshalItemJSON(it)
		if err != nil {
			t.Fatalf("MarshalItemJSON: %v", err)
		}
		for _, shorthand := range []bool{false, true} {
			back, err := attr.ParseItemJSON(b, shorthand)
			if err != nil {
				t.Fatalf("ParseItemJSON(%s): %v", b, err)
			}
			checkItemsEqual(t, back, it)
		}
		again, err := attr.MarshalItemJSON(it)
		if err != nil || string(again) != string(b) {
			t.Fatalf("MarshalItemJSON is not deterministic:\n%s\n%s", b, again)
		}
	}
}

func sampleName(i int) string {
	return []string{"a", "RecNum", "\U0001F600", "x.y", "\uFF61"}[i]
}

func checkItemsEqual(t *testing.T, got, want attr.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("item has %d attributes, want %d", len(got), len(want))
	}
	for name, w := range want {
		if !attr.Equal(got[name], w) {
			t.Errorf("attribute %q = %#v, want %#v", name, got[name], w)
		}
	}
}

// TestParseConformanceItems parses every item in the DB-ESDK test vectors:
// plaintext items may use shorthand, encrypted items are typed.
func TestParseConformanceItems(t *testing.T) {
	t.Parallel()
	vectors, fromEnv := dbesdkVectorsDir()
	dir := filepath.Join(vectors, "runtimes", "java")
	for _, name := range []string{"decrypt_java_32.json", "decrypt_java_33.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			if fromEnv {
				t.Fatalf("SEALSTORE_DBESDK_VECTORS is set, but %s has no %s", dir, name)
			}
			t.Fatalf("DB-ESDK vectors missing: no %s in %s (they belong in testdata/dbesdk)", name, dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		var manifest struct {
			Tests map[string]struct {
				Encrypted json.RawMessage
				Plaintext json.RawMessage
			}
		}
		if err := json.Unmarshal(data, &manifest); err != nil {
			t.Fatal(err)
		}
		for id, tc := range manifest.Tests {
			if _, err := attr.ParseItemJSON(tc.Encrypted, false); err != nil {
				t.Errorf("%s test %s encrypted: %v", name, id, err)
			}
			if tc.Plaintext == nil {
				continue
			}
			if _, err := attr.ParseItemJSON(tc.Plaintext, true); err != nil {
				t.Errorf("%s test %s plaintext: %v", name, id, err)
			}
		}
	}
}

// dbesdkVectorsDir returns the folder of the DB-ESDK cross-language vectors,
// as conformance's tests find it: $SEALSTORE_DBESDK_VECTORS (fromEnv), or
// testdata/dbesdk in the repository.
func dbesdkVectorsDir() (dir string, fromEnv bool) {
	if dir := os.Getenv("SEALSTORE_DBESDK_VECTORS"); dir != "" {
		return dir, true
	}
	return filepath.Join("..", "testdata", "dbesdk"), false
}
