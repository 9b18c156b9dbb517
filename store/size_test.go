package store

import (
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

func TestMaxItemSize(t *testing.T) {
	if MaxItemSize != 409600 {
		t.Fatalf("MaxItemSize = %d, want DynamoDB's 400 KB (409600)", MaxItemSize)
	}
}

// TestItemSize checks ItemSize against DynamoDB's documented item sizing:
// attribute name bytes plus value size, where strings count their UTF-8
// bytes, binary its raw length, BOOL and NULL 1 byte, a number about one
// byte per two significant digits plus one, and a list or map 3 bytes plus
// 1 byte per element plus the elements (and, for maps, their names).
func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		it   attr.Item
		want int
	}{
		{"empty item", attr.Item{}, 0},
		{"nil item", nil, 0},

		// Strings: UTF-8 bytes of name and value.
		{"S", attr.Item{"name": attr.S("hello")}, 4 + 5},
		{"S empty", attr.Item{"a": attr.S("")}, 1},
		{"S two-byte runes", attr.Item{"é": attr.S("héllo")}, 2 + 6},
		{"S four-byte rune", attr.Item{"s": attr.S("😀")}, 1 + 4},
		{"S CJK", attr.Item{"名": attr.S("名前")}, 3 + 6},

		// Binary: raw length.
		{"B", attr.Item{"b": attr.B{1, 2, 3}}, 1 + 3},
		{"B empty", attr.Item{"bb": attr.B{}}, 2},
		{"B nil", attr.Item{"bb": attr.B(nil)}, 2},
		{"B 1 KiB", attr.Item{"b": attr.B(make([]byte, 1024))}, 1 + 1024},

		// BOOL and NULL: 1 byte.
		{"Bool true", attr.Item{"ok": attr.Bool(true)}, 2 + 1},
		{"Bool false", attr.Item{"ok": attr.Bool(false)}, 2 + 1},
		{"Null", attr.Item{"z": attr.Null{}}, 1 + 1},

		// Numbers: (digits+1)/2 + 1.
		{"N 1 digit", attr.Item{"n": attr.N("7")}, 1 + 2},
		{"N 2 digits", attr.Item{"n": attr.N("42")}, 1 + 2},
		{"N 3 digits", attr.Item{"n": attr.N("123")}, 1 + 3},
		{"N 4 digits", attr.Item{"n": attr.N("1234")}, 1 + 3},
		{"N 5 digits", attr.Item{"n": attr.N("12345")}, 1 + 4},
		{"N sign and point not counted", attr.Item{"n": attr.N("-1.5")}, 1 + 2},
		{"N fraction", attr.Item{"n": attr.N("3.14159")}, 1 + 4},
		{"N 38 digits", attr.Item{"n": attr.N("12345678901234567890123456789012345678")}, 1 + 20},
		{"N 38 digits negative fraction", attr.Item{"n": attr.N("-1.2345678901234567890123456789012345678")}, 1 + 20},

		// Sets: the sum of their elements.
		{"SS", attr.Item{"ss": attr.SS{"a", "bc", "déf"}}, 2 + 1 + 2 + 4},
		{"SS with empty string", attr.Item{"ss": attr.SS{"", "x"}}, 2 + 1},
		{"NS", attr.Item{"ns": attr.NS{"1", "123", "-12.34"}}, 2 + 2 + 3 + 3},
		{"BS", attr.Item{"bs": attr.BS{{1}, {1, 2}, {}}}, 2 + 1 + 2 + 0},

		// Lists: 3 bytes, plus 1 per element, plus the elements.
		{"L empty", attr.Item{"l": attr.L{}}, 1 + 3},
		{"L nil", attr.Item{"l": attr.L(nil)}, 1 + 3},
		{"L", attr.Item{"l": attr.L{attr.S("ab"), attr.N("1"), attr.Null{}}}, 1 + 3 + (1 + 2) + (1 + 2) + (1 + 1)},
		{"L of L", attr.Item{"l": attr.L{attr.L{}, attr.L{attr.Bool(true)}}}, 1 + 3 + (1 + 3) + (1 + 3 + 1 + 1)},

		// Maps: 3 bytes, plus 1 per element, plus names and values.
		{"M empty", attr.Item{"m": attr.M{}}, 1 + 3},
		{"M nil", attr.Item{"m": attr.M(nil)}, 1 + 3},
		{"M", attr.Item{"m": attr.M{"k": attr.S("v"), "key": attr.B{1, 2}}}, 1 + 3 + (1 + 1 + 1) + (1 + 3 + 2)},
		{"M unicode name", attr.Item{"m": attr.M{"ключ": attr.Bool(false)}}, 1 + 3 + (1 + 8 + 1)},
		{"M nested", attr.Item{"m": attr.M{"l": attr.L{attr.M{"a": attr.N("12")}}}},
			1 + 3 + (1 + 1 + (3 + (1 + (3 + (1 + 1 + 2)))))},

		// Items: the sum over attributes.
		{"several attributes", attr.Item{
			"id":    attr.S("user#1"),
			"age":   attr.N("42"),
			"photo": attr.B(make([]byte, 100)),
			"ok":    attr.Bool(true),
		}, (2 + 6) + (3 + 2) + (5 + 100) + (2 + 1)},
		{"name only counts once per attribute", attr.Item{"x": attr.S("1"), "y": attr.S("1")}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ItemSize(tc.it); got != tc.want {
				t.Fatalf("ItemSize(%v) = %d, want %d", tc.it, got, tc.want)
			}
		})
	}
}

// documentedNumberSize is DynamoDB's documented number size: leading and
// trailing zeros are trimmed, then one byte per two significant digits,
// plus one byte.
func documentedNumberSize(t *testing.T, n string) int {
	t.Helper()
	norm, err := attr.NormalizeNumber(n)
	if err != nil {
		t.Fatalf("NormalizeNumber(%q): %v", n, err)
	}
	digits := strings.Trim(strings.NewReplacer("-", "", ".", "").Replace(norm), "0")
	return (len(digits)+1)/2 + 1
}

// TestItemSizeNumbersNotUnderDocumented checks that ItemSize counts a number
// as DynamoDB documents it (significant digits only), so that no item it
// accepts is over DynamoDB's limit and none under it is refused.
func TestItemSizeNumbersNotUnderDocumented(t *testing.T) {
	exact := []string{"1", "12", "123", "-9", "1.5", "-3.25", "98765.4321", "12345678901234567890123456789012345678"}
	over := []string{"0", "10", "100", "0.001", "007", "1.50", "1e10", "1E-130", "-0.000e5", "9.9999999999999999999999999999999999999E+125"}
	for _, n := range append(exact, over...) {
		got := ItemSize(attr.Item{"n": attr.N(n)}) - 1
		if want := documentedNumberSize(t, n); got != want {
			t.Errorf("number %s: size %d, DynamoDB documents %d", n, got, want)
		}
	}
	for _, n := range append(exact, over...) {
		got := ItemSize(attr.Item{"n": attr.N(n)}) - 1
		if want := documentedNumberSize(t, n); got < want {
			t.Errorf("number %s: size %d, under DynamoDB's documented %d", n, got, want)
		}
		set := ItemSize(attr.Item{"n": attr.NS{n}}) - 1
		if set != got {
			t.Errorf("number %s: %d in a set, %d alone", n, set, got)
		}
	}
}

func TestKeyOf(t *testing.T) {
	hash := Table{Name: "h", PartitionKey: "pk"}
	rng := Table{Name: "r", PartitionKey: "pk", SortKey: "sk", SortType: KeyN}
	full := attr.Item{"pk": attr.S("p"), "sk": attr.N("1"), "other": attr.Bool(true)}

	t.Run("hash", func(t *testing.T) {
		key, err := KeyOf(hash, full)
		if err != nil {
			t.Fatal(err)
		}
		want := attr.Item{"pk": attr.S("p")}
		if len(key) != 1 || !attr.Equal(attr.M(key), attr.M(want)) {
			t.Fatalf("KeyOf = %v, want %v (a table without a sort key ignores sk)", key, want)
		}
	})
	t.Run("range", func(t *testing.T) {
		key, err := KeyOf(rng, full)
		if err != nil {
			t.Fatal(err)
		}
		want := attr.Item{"pk": attr.S("p"), "sk": attr.N("1")}
		if len(key) != 2 || !attr.Equal(attr.M(key), attr.M(want)) {
			t.Fatalf("KeyOf = %v, want %v", key, want)
		}
		// The key is a new map: changing it leaves the item alone.
		key["pk"] = attr.S("changed")
		if !attr.Equal(full["pk"], attr.S("p")) {
			t.Fatal("KeyOf's result aliases the item")
		}
	})
	t.Run("key types", func(t *testing.T) {
		for _, v := range []attr.Value{attr.S("s"), attr.N("-1.5"), attr.B{1}} {
			typ := typeOf(v)
			tbl := Table{Name: "t", PartitionKey: "pk", SortKey: "sk", PartitionType: typ, SortType: typ}
			if _, err := KeyOf(tbl, attr.Item{"pk": v, "sk": v}); err != nil {
				t.Errorf("KeyOf with %T key: %v", v, err)
			}
			// A key of another type than the table's is refused, as
			// DynamoDB refuses it.
			for _, other := range []KeyType{KeyS, KeyN, KeyB} {
				if other == typ {
					continue
				}
				tbl.PartitionType = other
				if _, err := KeyOf(tbl, attr.Item{"pk": v, "sk": v}); err == nil {
					t.Errorf("KeyOf accepted a %T partition key in a table of %s keys", v, other)
				}
			}
		}
		// DynamoDB refuses empty key values and keys over 2048 (partition)
		// or 1024 (sort) bytes; so does every backend.
		for _, it := range []attr.Item{
			{"pk": attr.S(""), "sk": attr.N("1")},
			{"pk": attr.B{}, "sk": attr.N("1")},
			{"pk": attr.S(strings.Repeat("p", 2049)), "sk": attr.N("1")},
			{"pk": attr.S("p"), "sk": attr.S(strings.Repeat("s", 1025))},
		} {
			if _, err := KeyOf(Table{Name: "r", PartitionKey: "pk", SortKey: "sk", SortType: typeOf(it["sk"])}, it); err == nil {
				t.Errorf("KeyOf accepted an empty or over-long key")
			}
		}
		if _, err := KeyOf(Table{Name: "r", PartitionKey: "pk", SortKey: "sk"}, attr.Item{"pk": attr.S(strings.Repeat("p", 2048)), "sk": attr.S(strings.Repeat("s", 1024))}); err != nil {
			t.Errorf("KeyOf refused keys at the length limits: %v", err)
		}
	})

	bad := []struct {
		name    string
		tbl     Table
		it      attr.Item
		mention string
	}{
		{"nil item", hash, nil, `"pk"`},
		{"no partition key", hash, attr.Item{"sk": attr.S("x")}, `"pk"`},
		{"no partition key, range", rng, attr.Item{"sk": attr.S("x")}, `"pk"`},
		{"no sort key", rng, attr.Item{"pk": attr.S("x")}, `"sk"`},
		{"case differs", hash, attr.Item{"PK": attr.S("x")}, `"pk"`},
		{"partition Bool", hash, attr.Item{"pk": attr.Bool(true)}, `"pk"`},
		{"partition Null", hash, attr.Item{"pk": attr.Null{}}, `"pk"`},
		{"partition L", hash, attr.Item{"pk": attr.L{attr.S("x")}}, `"pk"`},
		{"partition M", hash, attr.Item{"pk": attr.M{"a": attr.S("x")}}, `"pk"`},
		{"partition SS", hash, attr.Item{"pk": attr.SS{"x"}}, `"pk"`},
		{"partition NS", hash, attr.Item{"pk": attr.NS{"1"}}, `"pk"`},
		{"partition BS", hash, attr.Item{"pk": attr.BS{{1}}}, `"pk"`},
		{"partition nil value", hash, attr.Item{"pk": nil}, `"pk"`},
		{"sort Bool", rng, attr.Item{"pk": attr.S("x"), "sk": attr.Bool(false)}, `"sk"`},
		{"sort M", rng, attr.Item{"pk": attr.S("x"), "sk": attr.M{}}, `"sk"`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			key, err := KeyOf(tc.tbl, tc.it)
			if err == nil {
				t.Fatalf("KeyOf = %v, nil error", key)
			}
			if key != nil {
				t.Errorf("KeyOf returned key %v with error", key)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not name %s", err, tc.mention)
			}
			if !strings.Contains(err.Error(), tc.tbl.Name) {
				t.Errorf("error %q does not name table %s", err, tc.tbl.Name)
			}
		})
	}
}

func TestCondCheck(t *testing.T) {
	tests := []struct {
		name string
		c    Cond
		ok   bool
	}{
		{"zero", Cond{}, true},
		{"absent", Cond{Absent: true}, true},
		{"equals", Cond{Attr: "v", Equals: attr.N("1")}, true},
		{"equals S", Cond{Attr: "v", Equals: attr.S("x")}, true},
		{"equals B", Cond{Attr: "v", Equals: attr.B{1}}, true},
		{"equals list", Cond{Attr: "v", Equals: attr.L{}}, false},
		{"equals null", Cond{Attr: "v", Equals: attr.Null{}}, false},
		{"equals map", Cond{Attr: "v", Equals: attr.M{}}, false},
		{"equals set", Cond{Attr: "v", Equals: attr.SS{"x"}}, false},
		{"absent and attr", Cond{Absent: true, Attr: "v", Equals: attr.N("1")}, false},
		{"absent and attr without value", Cond{Absent: true, Attr: "v"}, false},
		{"attr without value", Cond{Attr: "v"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if tc.ok && err != nil {
				t.Fatalf("Check(%+v) = %v, want nil", tc.c, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Check(%+v) = nil, want an error", tc.c)
			}
		})
	}
}

func TestCondHolds(t *testing.T) {
	item := attr.Item{
		"pk": attr.S("k"),
		"n":  attr.N("1"),
		"s":  attr.S("x"),
		"b":  attr.B{1, 2},
		"ss": attr.SS{"a", "b"},
		"ns": attr.NS{"1", "2"},
		"m":  attr.M{"a": attr.L{attr.N("1")}},
		"z":  attr.Null{},
		"t":  attr.Bool(true),
	}
	tests := []struct {
		name string
		c    Cond
		cur  attr.Item
		want bool
	}{
		{"zero, missing", Cond{}, nil, true},
		{"zero, present", Cond{}, item, true},
		{"absent, missing", Cond{Absent: true}, nil, true},
		{"absent, present", Cond{Absent: true}, item, false},
		{"absent, present but empty", Cond{Absent: true}, attr.Item{}, false},

		{"equals, missing", Cond{Attr: "n", Equals: attr.N("1")}, nil, false},
		{"equals, no such attribute", Cond{Attr: "nope", Equals: attr.N("1")}, item, false},
		{"equals N", Cond{Attr: "n", Equals: attr.N("1")}, item, true},
		{"equals N by value", Cond{Attr: "n", Equals: attr.N("1.00")}, item, true},
		{"equals N by value, exponent", Cond{Attr: "n", Equals: attr.N("0.1e1")}, item, true},
		{"N differs", Cond{Attr: "n", Equals: attr.N("2")}, item, false},
		{"N vs S", Cond{Attr: "n", Equals: attr.S("1")}, item, false},
		{"equals S", Cond{Attr: "s", Equals: attr.S("x")}, item, true},
		{"S differs", Cond{Attr: "s", Equals: attr.S("X")}, item, false},
		{"S vs B", Cond{Attr: "s", Equals: attr.B("x")}, item, false},
		{"equals B", Cond{Attr: "b", Equals: attr.B{1, 2}}, item, true},
		{"B differs", Cond{Attr: "b", Equals: attr.B{1, 2, 3}}, item, false},
		{"equals SS any order", Cond{Attr: "ss", Equals: attr.SS{"b", "a"}}, item, true},
		{"SS subset", Cond{Attr: "ss", Equals: attr.SS{"a"}}, item, false},
		{"equals NS by value", Cond{Attr: "ns", Equals: attr.NS{"2.0", "1"}}, item, true},
		{"equals M", Cond{Attr: "m", Equals: attr.M{"a": attr.L{attr.N("1")}}}, item, true},
		{"M differs", Cond{Attr: "m", Equals: attr.M{"a": attr.L{attr.N("2")}}}, item, false},
		{"equals Null", Cond{Attr: "z", Equals: attr.Null{}}, item, true},
		{"equals Bool", Cond{Attr: "t", Equals: attr.Bool(true)}, item, true},
		{"Bool differs", Cond{Attr: "t", Equals: attr.Bool(false)}, item, false},
		{"key attribute", Cond{Attr: "pk", Equals: attr.S("k")}, item, true},
		{"invalid number never equal", Cond{Attr: "n", Equals: attr.N("one")}, item, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Holds(tc.cur); got != tc.want {
				t.Fatalf("%+v.Holds(%v) = %v, want %v", tc.c, tc.cur, got, tc.want)
			}
		})
	}
}
