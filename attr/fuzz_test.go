package attr_test

import (
	"bytes"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

// FuzzUnmarshal checks that UnmarshalTyped never panics and that whatever
// it accepts marshals, and unmarshals again, to an equal value with
// canonical bytes; and that the value survives DynamoDB JSON.
func FuzzUnmarshal(f *testing.F) {
	for _, tt := range serializeVectors {
		f.Add(unhex(f, tt.want))
	}
	for _, v := range randomValues(f, 9, 50, 3) {
		b, err := attr.MarshalTyped(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := attr.UnmarshalTyped(data)
		if err != nil {
			return
		}
		b, err := attr.MarshalTyped(v)
		if err != nil {
			t.Fatalf("MarshalTyped(UnmarshalTyped(%x)): %v", data, err)
		}
		back, err := attr.UnmarshalTyped(b)
		if err != nil || !attr.Equal(back, v) {
			t.Fatalf("UnmarshalTyped(%x) = %#v, %v; want %#v", b, back, err, v)
		}
		if again, err := attr.MarshalTyped(back); err != nil || !bytes.Equal(again, b) {
			t.Fatalf("serialization is not canonical: %x then %x (%v)", b, again, err)
		}
		checkJSONRoundTrip(t, v)
	})
}

func checkJSONRoundTrip(t *testing.T, v attr.Value) {
	t.Helper()
	js, err := attr.MarshalValueJSON(v)
	if err != nil {
		t.Fatalf("MarshalValueJSON(%#v): %v", v, err)
	}
	back, err := attr.ParseValueJSON(js, false)
	if err != nil || !attr.Equal(back, v) {
		t.Fatalf("ParseValueJSON(%s) = %#v, %v; want %#v", js, back, err, v)
	}
}

// FuzzNormalizeNumber checks that NormalizeNumber never panics and that
// its output is a fixed point.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{
		"0", "-0", "+1", "00.0011", "2000.000", "1E5", "1.5e-3", "-007.10", ".5", "5.",
		"1e-130", "9.9999999999999999999999999999999999999E+125", "1e999", "0e99999999999",
		"123456789012345678901234567890123456789", "NaN", "0x10", " 1", "1e", "--1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := attr.NormalizeNumber(s)
		if err != nil {
			return
		}
		again, err := attr.NormalizeNumber(n)
		if err != nil || again != n {
			t.Fatalf("NormalizeNumber(%q) = %q, but NormalizeNumber(%q) = %q, %v", s, n, n, again, err)
		}
		if len(n) > 200 {
			t.Fatalf("NormalizeNumber(%q) = %q is longer than any DynamoDB number", s, n)
		}
	})
}

// FuzzParseValueJSON checks that ParseValueJSON never panics and that what
// it accepts is a valid value that survives MarshalValueJSON.
func FuzzParseValueJSON(f *testing.F) {
	for _, s := range []string{
		`{"S":"abc"}`, `{"N":"-1.5e3"}`, `{"B":"AQL/"}`, `{"BOOL":true}`, `{"NULL":true}`,
		`{"L":[{"S":"a"},"b",1]}`, `{"M":{"a":{"N":"1"},"b":"c"}}`, `{"SS":["a","b"]}`,
		`{"NS":["1",2.5]}`, `{"BS":["AQ==",""]}`, `"x"`, `12`, `{}`, `{"S":"a","N":"1"}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, shorthand bool) {
		v, err := attr.ParseValueJSON(data, shorthand)
		if err != nil {
			return
		}
		if _, err := attr.MarshalTyped(v); err != nil {
			t.Fatalf("ParseValueJSON(%q) gave a value MarshalTyped rejects: %v", data, err)
		}
		checkJSONRoundTrip(t, v)
	})
}
