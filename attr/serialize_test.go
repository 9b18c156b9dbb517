package attr_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/sealstore/sealstore/attr"
)

// Known answers: type id, then the value bytes (hex, spaces for reading).
var serializeVectors = []struct {
	name string
	v    attr.Value
	want string
}{
	{"S", attr.S("abc"), "0001 616263"},
	{"S empty", attr.S(""), "0001"},
	{"S non-ASCII", attr.S("é😀"), "0001 c3a9 f09f9880"},
	{"N", attr.N("42"), "0002 3432"},
	{"N normalized", attr.N("-007.10"), "0002 2d372e31"},
	{"N exponent", attr.N("1.5e-3"), "0002 302e30303135"},
	{"N zero", attr.N("-0.000"), "0002 30"},
	{"B", attr.B{0x01, 0x02, 0xff}, "ffff 0102ff"},
	{"B empty", attr.B{}, "ffff"},
	{"B nil", attr.B(nil), "ffff"},
	{"BOOL true", attr.Bool(true), "0004 01"},
	{"BOOL false", attr.Bool(false), "0004 00"},
	{"NULL", attr.Null{}, "0000"},
	{"SS sorted", attr.SS{"b", "a", "ab"}, "0101 00000003 00000001 61 00000002 6162 00000001 62"},
	{"SS UTF-16 order", attr.SS{"\uFF61", "\U0001F600"}, "0101 00000002 00000004 f09f9880 00000003 efbda1"},
	{"SS empty string", attr.SS{"x", ""}, "0101 00000002 00000000 00000001 78"},
	{"SS empty", attr.SS{}, "0101 00000000"},
	{"NS sorted after normalization", attr.NS{"10", "9", "-1"},
		"0102 00000003 00000002 2d31 00000002 3130 00000001 39"},
	// The DB-ESDK vector's number set (decrypt manifest test 10).
	{"NS DB-ESDK vector", attr.NS{"00.0011", "0000", "2000.000", "10.01"},
		"0102 00000004 00000001 30 00000006 302e30303131 00000005 31302e3031 00000004 32303030"},
	{"NS empty", attr.NS{}, "0102 00000000"},
	{"BS sorted by bytes", attr.BS{{0x02}, {0x01, 0xff}, {}},
		"01ff 00000003 00000000 00000002 01ff 00000001 02"},
	{"BS empty", attr.BS{}, "01ff 00000000"},
	{"L", attr.L{attr.S("a"), attr.N("1.0"), attr.Null{}},
		"0300 00000003 0001 00000001 61 0002 00000001 31 0000 00000000"},
	{"L keeps order", attr.L{attr.Bool(true), attr.Bool(false)},
		"0300 00000002 0004 00000001 01 0004 00000001 00"},
	{"L empty", attr.L{}, "0300 00000000"},
	{"L nil", attr.L(nil), "0300 00000000"},
	{"M", attr.M{"b": attr.Bool(true), "a": attr.S("x")},
		"0200 00000002 0001 00000001 61 0001 00000001 78 0001 00000001 62 0004 00000001 01"},
	{"M empty", attr.M{}, "0200 00000000"},
	// U+1F600 is F0 9F 98 80 in UTF-8 (after EF BD A1, U+FF61) but D83D DE00
	// in UTF-16 (before FF61): the map must follow UTF-16.
	{"M UTF-16 key order", attr.M{"\uFF61": attr.S("a"), "\U0001F600": attr.S("b")},
		"0200 00000002 0001 00000004 f09f9880 0001 00000001 62 0001 00000003 efbda1 0001 00000001 61"},
	{"M prefix key order", attr.M{"ab": attr.Null{}, "a": attr.Null{}},
		"0200 00000002 0001 00000001 61 0000 00000000 0001 00000002 6162 0000 00000000"},
	{"M of L of M", attr.M{"l": attr.L{attr.M{}}},
		"0200 00000001 0001 00000001 6c 0300 0000000e 00000001 0200 00000004 00000000"},
	{"L of sets", attr.L{attr.SS{"b", "a"}, attr.NS{"2", "1"}, attr.BS{{2}, {1}}},
		"0300 00000003" +
			"0101 0000000e 00000002 00000001 61 00000001 62" +
			"0102 0000000e 00000002 00000001 31 00000001 32" +
			"01ff 0000000e 00000002 00000001 01 00000001 02"},
}

func TestMarshalTypedKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range serializeVectors {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := unhex(t, tt.want)
			got, err := attr.MarshalTyped(tt.v)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("MarshalTyped = %x, %v; want %x", got, err, want)
			}
			body, err := attr.Marshal(tt.v)
			if err != nil || !bytes.Equal(body, want[2:]) {
				t.Fatalf("Marshal = %x, %v; want %x", body, err, want[2:])
			}
			back, err := attr.UnmarshalTyped(want)
			if err != nil || !attr.Equal(back, tt.v) {
				t.Fatalf("UnmarshalTyped = %#v, %v; want %#v", back, err, tt.v)
			}
		})
	}
}

// The DB-ESDK test vectors put RecNum = 1 in the encryption context as
// base64(type id ‖ value) = "AAIx".
func TestMarshalTypedEncryptionContextVector(t *testing.T) {
	t.Parallel()
	b, err := attr.MarshalTyped(attr.N("1"))
	if got := base64.StdEncoding.EncodeToString(b); err != nil || got != "AAIx" {
		t.Errorf("MarshalTyped(N 1) = %s, %v; want AAIx", got, err)
	}
}

type otherValue struct{}

func (otherValue) TypeID() uint16 { return attr.TypeS }

func TestMarshalRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    attr.Value
	}{
		{"nil", nil},
		{"foreign type", otherValue{}},
		{"S not UTF-8", attr.S("\xff")},
		{"N invalid", attr.N("12a")},
		{"N empty", attr.N("")},
		{"N out of range", attr.N("1e200")},
		{"SS duplicate", attr.SS{"a", "b", "a"}},
		{"SS not UTF-8", attr.SS{"\xc3"}},
		{"NS duplicate", attr.NS{"1", "1"}},
		{"NS duplicate after normalization", attr.NS{"1", "1.0"}},
		{"NS invalid", attr.NS{"x"}},
		{"BS duplicate", attr.BS{{1}, {2}, {1}}},
		{"BS duplicate empty", attr.BS{nil, {}}},
		{"L nil entry", attr.L{attr.S("a"), nil}},
		{"L bad entry", attr.L{attr.N("x")}},
		{"M nil value", attr.M{"a": nil}},
		{"M empty key", attr.M{"": attr.S("a")}},
		{"M key not UTF-8", attr.M{"\xff": attr.S("a")}},
		{"M bad value", attr.M{"a": attr.SS{"x", "x"}}},
		{"L too deep", nestL(32, attr.S("x"))},
		{"M too deep", nestM(32, attr.Null{})},
		{"L empty too deep", nestL(33, nil)},
	}
	for _, tt := range tests {
		if b, err := attr.MarshalTyped(tt.v); err == nil {
			t.Errorf("%s: MarshalTyped = %x, want error", tt.name, b)
		}
		if attr.Equal(tt.v, tt.v) {
			t.Errorf("%s: Equal(v, v) = true for an invalid value", tt.name)
		}
	}
}

// MaxDepth counts the top-level value as depth 1, as the DB-ESDK does.
func TestMarshalMaxDepth(t *testing.T) {
	t.Parallel()
	for _, v := range []attr.Value{nestL(31, attr.S("x")), nestM(31, attr.Null{}), nestL(32, nil), nestM(32, nil)} {
		b, err := attr.MarshalTyped(v)
		if err != nil {
			t.Fatalf("MarshalTyped(depth 32) error: %v", err)
		}
		if back, err := attr.UnmarshalTyped(b); err != nil || !attr.Equal(back, v) {
			t.Fatalf("UnmarshalTyped(depth 32) = %v", err)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b attr.Value
		want bool
	}{
		{"same S", attr.S("a"), attr.S("a"), true},
		{"different S", attr.S("a"), attr.S("b"), false},
		{"S vs N", attr.S("1"), attr.N("1"), false},
		{"S vs B", attr.S("a"), attr.B("a"), false},
		{"N normalized", attr.N("1.0"), attr.N("+001"), true},
		{"N different", attr.N("1"), attr.N("1.01"), false},
		{"B nil vs empty", attr.B(nil), attr.B{}, true},
		{"Null", attr.Null{}, attr.Null{}, true},
		{"Bool", attr.Bool(true), attr.Bool(false), false},
		{"SS order", attr.SS{"a", "b"}, attr.SS{"b", "a"}, true},
		{"SS vs L", attr.SS{"a"}, attr.L{attr.S("a")}, false},
		{"NS order and form", attr.NS{"1", "2"}, attr.NS{"2.0", "1e0"}, true},
		{"BS order", attr.BS{{1}, {2}}, attr.BS{{2}, {1}}, true},
		{"SS vs NS", attr.SS{"1"}, attr.NS{"1"}, false},
		{"L order matters", attr.L{attr.S("a"), attr.S("b")}, attr.L{attr.S("b"), attr.S("a")}, false},
		{"L nil vs empty", attr.L(nil), attr.L{}, true},
		{"M numbers", attr.M{"a": attr.N("1")}, attr.M{"a": attr.N("01")}, true},
		{"M keys", attr.M{"a": attr.N("1")}, attr.M{"b": attr.N("1")}, false},
		{"M vs L", attr.M{}, attr.L{}, false},
		{"nil", nil, nil, false},
		{"invalid", attr.N("x"), attr.N("x"), false},
	}
	for _, tt := range tests {
		if got := attr.Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
		if got := attr.Equal(tt.b, tt.a); got != tt.want {
			t.Errorf("%s: Equal (swapped) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	t.Parallel()
	for _, a := range sampleStrings {
		for _, b := range sampleStrings {
			want := slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
			if got := attr.CompareUTF16(a, b); sign(got) != want {
				t.Errorf("CompareUTF16(%q, %q) = %d, want sign %d", a, b, got, want)
			}
		}
	}
}

func sign(n int) int {
	return min(max(n, -1), 1)
}

func TestRoundTripGenerated(t *testing.T) {
	t.Parallel()
	for i, v := range randomValues(t, 1, 2000, 4) {
		b, err := attr.MarshalTyped(v)
		if err != nil {
			t.Fatalf("value %d: MarshalTyped: %v", i, err)
		}
		back, err := attr.Unmarshal(v.TypeID(), b[2:])
		if err != nil || !attr.Equal(back, v) {
			t.Fatalf("value %d: Unmarshal(Marshal(%#v)) = %#v, %v", i, v, back, err)
		}
		again, err := attr.MarshalTyped(back)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("value %d: Marshal(Unmarshal(b)) = %x, %v; want %x", i, again, err, b)
		}
	}
}

func TestRoundTripDeep(t *testing.T) {
	t.Parallel()
	v := nestM(15, nestL(16, attr.NS{"3", "1", "2"}))
	b, err := attr.MarshalTyped(v)
	if err != nil {
		t.Fatal(err)
	}
	back, err := attr.UnmarshalTyped(b)
	if err != nil || !attr.Equal(back, v) {
		t.Fatalf("UnmarshalTyped = %v", err)
	}
}

// structuredVectors are encodings whose every strict prefix is invalid.
func structuredVectors(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, tt := range serializeVectors {
		id := tt.v.TypeID()
		if id != attr.TypeS && id != attr.TypeN && id != attr.TypeB && id != attr.TypeNull {
			out = append(out, unhex(t, tt.want))
		}
	}
	return out
}

func TestUnmarshalRejectsTruncation(t *testing.T) {
	t.Parallel()
	for _, full := range structuredVectors(t) {
		id := binary.BigEndian.Uint16(full)
		for n := range len(full) {
			if v, err := attr.UnmarshalTyped(full[:n]); err == nil {
				t.Errorf("UnmarshalTyped(%x) = %#v, want error", full[:n], v)
			} else if n >= 2 && !errors.Is(err, attr.ErrMalformed) {
				t.Errorf("UnmarshalTyped(%x) error %v is not ErrMalformed", full[:n], err)
			}
			if n >= 2 {
				if _, err := attr.Unmarshal(id, full[2:n]); err == nil {
					t.Errorf("Unmarshal(%04x, %x) succeeded", id, full[2:n])
				}
			}
		}
	}
}

func TestUnmarshalRejectsTrailingBytes(t *testing.T) {
	t.Parallel()
	for _, full := range structuredVectors(t) {
		for _, extra := range []string{"00", "ff", "00000000"} {
			b := append(slices.Clone(full), unhex(t, extra)...)
			if v, err := attr.UnmarshalTyped(b); err == nil {
				t.Errorf("UnmarshalTyped(%x) = %#v, want error", b, v)
			}
		}
	}
}

// deepList encodes n nested lists, the innermost empty, without Marshal's
// depth check.
func deepList(n int) []byte {
	body := []byte{0, 0, 0, 0}
	for range n - 1 {
		next := binary.BigEndian.AppendUint32(nil, 1)
		next = binary.BigEndian.AppendUint16(next, attr.TypeL)
		next = binary.BigEndian.AppendUint32(next, uint32(len(body)))
		body = append(next, body...)
	}
	return body
}

func TestUnmarshalRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   uint16
		data string
	}{
		{"unknown type 0003", 0x0003, ""},
		{"unknown type 0103", 0x0103, "00000000"},
		{"unknown type 0005", 0x0005, "00"},
		{"unknown type 0201", 0x0201, "00000000"},
		{"unknown type fffe", 0xfffe, ""},
		{"unknown nested type", attr.TypeL, "00000001 1234 00000000"},
		{"NULL with a byte", attr.TypeNull, "00"},
		{"nested NULL with a byte", attr.TypeL, "00000001 0000 00000001 00"},
		{"bool empty", attr.TypeBool, ""},
		{"bool 2", attr.TypeBool, "02"},
		{"bool ff", attr.TypeBool, "ff"},
		{"bool two bytes", attr.TypeBool, "0100"},
		{"S not UTF-8", attr.TypeS, "c3"},
		{"N invalid", attr.TypeN, "3161"},
		{"N empty", attr.TypeN, ""},
		{"N out of range", attr.TypeN, "3165393939"},
		{"SS duplicate", attr.TypeSS, "00000002 00000001 61 00000001 61"},
		{"SS not UTF-8", attr.TypeSS, "00000001 00000001 ff"},
		{"NS duplicate", attr.TypeNS, "00000002 00000001 31 00000001 31"},
		{"NS duplicate after normalization", attr.TypeNS, "00000002 00000001 31 00000003 312e30"},
		{"NS invalid", attr.TypeNS, "00000001 00000001 78"},
		{"BS duplicate", attr.TypeBS, "00000002 00000000 00000000"},
		{"set count too large", attr.TypeSS, "ffffffff 00000000"},
		{"list count too large", attr.TypeL, "ffffffff"},
		{"map count too large", attr.TypeM, "7fffffff"},
		{"entry length too large", attr.TypeBS, "00000001 ffffffff"},
		{"map key not a string", attr.TypeM, "00000001 0002 00000001 31 0000 00000000"},
		{"map key empty", attr.TypeM, "00000001 0001 00000000 0000 00000000"},
		{"map key not UTF-8", attr.TypeM, "00000001 0001 00000001 ff 0000 00000000"},
		{"map duplicate key", attr.TypeM, "00000002 0001 00000001 61 0000 00000000 0001 00000001 61 0000 00000000"},
		{"nested length past end", attr.TypeL, "00000001 0001 00000005 61"},
		{"nested length short", attr.TypeL, "00000001 0004 00000000 01"},
	}
	for _, tt := range tests {
		data := unhex(t, tt.data)
		v, err := attr.Unmarshal(tt.id, data)
		if err == nil {
			t.Errorf("%s: Unmarshal = %#v, want error", tt.name, v)
		} else if !errors.Is(err, attr.ErrMalformed) {
			t.Errorf("%s: error %v is not ErrMalformed", tt.name, err)
		}
	}
}

func TestUnmarshalDepth(t *testing.T) {
	t.Parallel()
	if _, err := attr.Unmarshal(attr.TypeL, deepList(32)); err != nil {
		t.Errorf("Unmarshal(32 nested lists) = %v, want success", err)
	}
	_, err := attr.Unmarshal(attr.TypeL, deepList(33))
	if err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Errorf("Unmarshal(33 nested lists) = %v, want nesting error", err)
	}
	if _, err := attr.Unmarshal(attr.TypeL, deepList(1000)); err == nil {
		t.Error("Unmarshal(1000 nested lists) succeeded")
	}
}

// Other implementations may write sets, and map entries, in input order and
// numbers as given; Unmarshal accepts them and Marshal canonicalizes.
func TestUnmarshalAcceptsNonCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		id        uint16
		data      string
		want      attr.Value
		canonical string
	}{
		{"unsorted SS", attr.TypeSS, "00000002 00000001 62 00000001 61",
			attr.SS{"a", "b"}, "00000002 00000001 61 00000001 62"},
		{"unsorted NS", attr.TypeNS, "00000002 00000001 39 00000002 3130",
			attr.NS{"9", "10"}, "00000002 00000002 3130 00000001 39"},
		{"unsorted BS", attr.TypeBS, "00000002 00000001 02 00000001 01",
			attr.BS{{1}, {2}}, "00000002 00000001 01 00000001 02"},
		{"unnormalized N", attr.TypeN, "3030312e3530", attr.N("1.5"), "312e35"},
		{"unsorted M", attr.TypeM, "00000002 0001 00000001 62 0000 00000000 0001 00000001 61 0000 00000000",
			attr.M{"a": attr.Null{}, "b": attr.Null{}}, "00000002 0001 00000001 61 0000 00000000 0001 00000001 62 0000 00000000"},
	}
	for _, tt := range tests {
		v, err := attr.Unmarshal(tt.id, unhex(t, tt.data))
		if err != nil || !attr.Equal(v, tt.want) {
			t.Errorf("%s: Unmarshal = %#v, %v; want %#v", tt.name, v, err, tt.want)
			continue
		}
		if b, err := attr.Marshal(v); err != nil || !bytes.Equal(b, unhex(t, tt.canonical)) {
			t.Errorf("%s: Marshal = %x, %v; want %s", tt.name, b, err, tt.canonical)
		}
	}
}

func TestUnmarshalCopiesInput(t *testing.T) {
	t.Parallel()
	data := unhex(t, "00000001 00000002 0102")
	v, err := attr.Unmarshal(attr.TypeBS, data)
	if err != nil {
		t.Fatal(err)
	}
	data[8] = 0xee
	if !attr.Equal(v, attr.BS{{1, 2}}) {
		t.Errorf("Unmarshal result changed with its input: %#v", v)
	}
	// every type: overwriting the input leaves the value as it was
	for i, want := range randomValues(t, 3, 500, 4) {
		b, err := attr.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		v, err := attr.Unmarshal(want.TypeID(), b)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		for j := range b {
			b[j] ^= 0xff
		}
		if !attr.Equal(v, want) {
			t.Fatalf("value %d: Unmarshal result changed with its input: %#v", i, v)
		}
	}
}
