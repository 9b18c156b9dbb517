package records

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
)

func TestMergePatch(t *testing.T) {
	t.Parallel()
	s, n := func(v string) attr.Value { return attr.S(v) }, func(v string) attr.Value { return attr.N(v) }
	cases := []struct {
		name                string
		target, patch, want attr.M
	}{
		{"empty patch", attr.M{"a": s("x")}, attr.M{}, attr.M{"a": s("x")}},
		{"replace", attr.M{"a": s("x")}, attr.M{"a": n("1")}, attr.M{"a": n("1")}},
		{"add", attr.M{"a": s("x")}, attr.M{"b": s("y")}, attr.M{"a": s("x"), "b": s("y")}},
		{"null removes", attr.M{"a": s("x"), "b": s("y")}, attr.M{"a": attr.Null{}}, attr.M{"b": s("y")}},
		{"null of a missing member", attr.M{"a": s("x")}, attr.M{"z": attr.Null{}}, attr.M{"a": s("x")}},
		{"objects merge", attr.M{"o": attr.M{"a": s("1"), "b": s("2")}}, attr.M{"o": attr.M{"b": s("3"), "c": s("4")}}, attr.M{"o": attr.M{"a": s("1"), "b": s("3"), "c": s("4")}}},
		{"nested null removes", attr.M{"o": attr.M{"a": s("1"), "b": s("2")}}, attr.M{"o": attr.M{"a": attr.Null{}}}, attr.M{"o": attr.M{"b": s("2")}}},
		{"deep merge", attr.M{"o": attr.M{"p": attr.M{"q": s("1"), "r": s("2")}}}, attr.M{"o": attr.M{"p": attr.M{"r": s("3")}}}, attr.M{"o": attr.M{"p": attr.M{"q": s("1"), "r": s("3")}}}},
		{"arrays replace", attr.M{"l": attr.L{s("a"), s("b")}}, attr.M{"l": attr.L{s("c")}}, attr.M{"l": attr.L{s("c")}}},
		{"nulls in arrays stay", attr.M{}, attr.M{"l": attr.L{attr.Null{}}}, attr.M{"l": attr.L{attr.Null{}}}},
		{"object over a scalar", attr.M{"a": s("x")}, attr.M{"a": attr.M{"b": s("y"), "c": attr.Null{}}}, attr.M{"a": attr.M{"b": s("y")}}},
		{"object over an array", attr.M{"a": attr.L{s("x")}}, attr.M{"a": attr.M{"b": s("y")}}, attr.M{"a": attr.M{"b": s("y")}}},
		{"scalar over an object", attr.M{"a": attr.M{"b": s("y")}}, attr.M{"a": s("x")}, attr.M{"a": s("x")}},
		{"array over an object", attr.M{"a": attr.M{"b": s("y")}}, attr.M{"a": attr.L{}}, attr.M{"a": attr.L{}}},
		{"empty object leaves an object", attr.M{"a": attr.M{"b": s("y")}}, attr.M{"a": attr.M{}}, attr.M{"a": attr.M{"b": s("y")}}},
		{"empty object adds one", attr.M{}, attr.M{"a": attr.M{}}, attr.M{"a": attr.M{}}},
		{"null inside a new object", attr.M{}, attr.M{"a": attr.M{"b": attr.Null{}}}, attr.M{"a": attr.M{}}},
		{"bools and numbers", attr.M{"t": attr.Bool(true)}, attr.M{"t": attr.Bool(false), "n": n("12345678901234567890.5")}, attr.M{"t": attr.Bool(false), "n": n("12345678901234567890.5")}},
		{"everything removed", attr.M{"a": s("x"), "b": s("y")}, attr.M{"a": attr.Null{}, "b": attr.Null{}}, attr.M{}},
		{"nil target", nil, attr.M{"a": s("x")}, attr.M{"a": s("x")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := deepCopy(c.target)
			patchBefore := deepCopy(c.patch)
			got := mergePatch(c.target, c.patch)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("mergePatch = %#v, want %#v", got, c.want)
			}
			if !reflect.DeepEqual(c.target, before) || !reflect.DeepEqual(c.patch, patchBefore) {
				t.Errorf("mergePatch changed its arguments: target %#v, patch %#v", c.target, c.patch)
			}
		})
	}
}

func deepCopy(m attr.M) attr.M {
	if m == nil {
		return nil
	}
	out := attr.M{}
	for k, v := range m {
		if mv, ok := v.(attr.M); ok {
			v = deepCopy(mv)
		}
		out[k] = v
	}
	return out
}

func TestCheckChange(t *testing.T) {
	t.Parallel()
	old := Schema{PartitionKey: "id", SortKey: "at", Attributes: map[string]string{"p": ActionPlain, "s": ActionSign, "e": ActionEncrypt}, Searchable: map[string]int{"email": 8}}.normalize()
	change := func(edit func(s *Schema)) Schema {
		s := old
		s.Attributes = map[string]string{}
		for k, v := range old.Attributes {
			s.Attributes[k] = v
		}
		s.Searchable = map[string]int{}
		for k, v := range old.Searchable {
			s.Searchable[k] = v
		}
		edit(&s)
		return s.normalize()
	}
	cases := []struct {
		name   string
		s      Schema
		always string // refused even when empty, saying this
		empty  string // refused unless empty, saying this
	}{
		{"same", old, "", ""},
		{"s to encrypt", change(func(s *Schema) { s.Attributes["s"] = ActionEncrypt }), "", ""},
		{"e to sign-and-bind", change(func(s *Schema) { s.Attributes["e"] = ActionSignAndBind }), "", `"e" would become sign-and-bind`},
		{"new signed attribute", change(func(s *Schema) { s.Attributes["n"] = ActionSign }), "", ""},
		{"listed default dropped", change(func(s *Schema) { delete(s.Attributes, "e") }), "", ""},
		{"suite", change(func(s *Schema) { s.Suite = SuiteECDSA }), "", ""},
		{"searchable dropped", change(func(s *Schema) { s.Searchable = nil }), "", ""},
		{"partition key", change(func(s *Schema) { s.PartitionKey = "key" }), "key attributes", ""},
		{"sort key", change(func(s *Schema) { s.SortKey = "when" }), "key attributes", ""},
		{"sort key dropped", change(func(s *Schema) { s.SortKey = "" }), "key attributes", ""},
		{"s to plain", change(func(s *Schema) { s.Attributes["s"] = ActionPlain }), "", `"s" would change between signed and plain`},
		{"new plain attribute", change(func(s *Schema) { s.Attributes["n"] = ActionPlain }), "", `"n" would change between signed and plain`},
		{"p to sign", change(func(s *Schema) { s.Attributes["p"] = ActionSign }), "", `"p" would change between signed and plain`},
		{"p dropped", change(func(s *Schema) { delete(s.Attributes, "p") }), "", `"p" would change between signed and plain`},
		{"new searchable", change(func(s *Schema) { s.Searchable["name"] = 4 }), "", `"name" would become searchable`},
		{"beacon length", change(func(s *Schema) { s.Searchable["email"] = 9 }), "", `beacon length of "email"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, isEmpty := range []bool{false, true} {
				asked := false
				err := checkChange(old, c.s, func() (bool, error) { asked = true; return isEmpty, nil })
				switch {
				case c.always != "":
					var ce *ConflictError
					if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || !strings.Contains(ce.Reason, c.always) {
						t.Errorf("empty %v: %v, want a conflict saying %q", isEmpty, err, c.always)
					}
				case c.empty != "" && !isEmpty:
					var ce *ConflictError
					if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || !strings.Contains(ce.Reason, c.empty) {
						t.Errorf("non-empty: %v, want a conflict saying %q", err, c.empty)
					}
				default:
					if err != nil {
						t.Errorf("empty %v: %v", isEmpty, err)
					}
				}
				// Only a change that needs an empty collection looks.
				if want := c.empty != "" && c.always == ""; asked != want {
					t.Errorf("empty %v: checked emptiness %v, want %v", isEmpty, asked, want)
				}
			}
			// A failing emptiness check is the error.
			if c.empty != "" {
				boom := errors.New("scan failed")
				if err := checkChange(old, c.s, func() (bool, error) { return false, boom }); !errors.Is(err, boom) {
					t.Errorf("failing emptiness check: %v", err)
				}
			}
		})
	}
	// All the reasons at once.
	s := change(func(s *Schema) {
		s.Attributes["s"] = ActionPlain
		s.Searchable["name"] = 4
		s.Searchable["email"] = 12
	})
	err := checkChange(old, s, func() (bool, error) { return false, nil })
	for _, why := range []string{`"s"`, `"name"`, `"email"`, "only while the collection is empty"} {
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("combined refusal %v does not mention %s", err, why)
		}
	}
}

func TestConflictError(t *testing.T) {
	t.Parallel()
	err := error(&ConflictError{Reason: "because"})
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrPrecondition) {
		t.Error("ConflictError matches the wrong sentinels")
	}
	if !strings.Contains(err.Error(), "because") {
		t.Errorf("Error() = %q", err)
	}
}

// lock must serialize the read-modify-writes of one record: the same
// record must always take the same mutex, whatever the order in which its
// key attributes are visited.
func TestLockIsStablePerRecord(t *testing.T) {
	t.Parallel()
	s := &Service{}
	for i := range s.locks {
		s.locks[i] = make(chan struct{}, 1)
	}
	held := func() []int {
		var out []int
		for i := range s.locks {
			if len(s.locks[i]) > 0 {
				out = append(out, i)
			}
		}
		return out
	}
	for _, key := range []attr.Item{
		{"id": attr.S("a")},
		{"id": attr.S("user-1"), "at": attr.S("2024-01-01")},
		{"pk": attr.S("x"), "sk": attr.S("y")},
	} {
		seen := map[int]bool{}
		for range 200 {
			unlock, err := s.lock(t.Context(), "coll", key)
			if err != nil {
				t.Fatal(err)
			}
			h := held()
			unlock()
			if len(h) != 1 {
				t.Fatalf("%v: %d mutexes held, want 1", key, len(h))
			}
			seen[h[0]] = true
		}
		if len(seen) != 1 {
			t.Errorf("key %v took %d different mutexes over 200 locks, want 1", key, len(seen))
		}
	}
	// A caller waiting for a held lock gives up with its context.
	key := attr.Item{"id": attr.S("busy")}
	unlock, err := s.lock(t.Context(), "coll", key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.lock(ctx, "coll", key); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lock of a held record with an expiring context: %v; want DeadlineExceeded", err)
	}
}
