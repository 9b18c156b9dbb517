package expr

import (
	"reflect"
	"strings"
	"testing"
)

// render prints the structure of c with every path as name[.name|[i]].
func render(c Cond) string {
	switch c := c.(type) {
	case *And:
		return "(" + render(c.L) + " AND " + render(c.R) + ")"
	case *Or:
		return "(" + render(c.L) + " OR " + render(c.R) + ")"
	case *Not:
		return "NOT " + render(c.X)
	case *Compare:
		return op(c.L) + " " + c.Op + " " + op(c.R)
	case *Between:
		return op(c.X) + " BETWEEN " + op(c.Lo) + " " + op(c.Hi)
	case *In:
		var s []string
		for _, o := range c.List {
			s = append(s, op(o))
		}
		return op(c.X) + " IN [" + strings.Join(s, " ") + "]"
	case *Func:
		var s []string
		for _, o := range c.Args {
			s = append(s, op(o))
		}
		return c.Name + "[" + strings.Join(s, " ") + "]"
	}
	return "?"
}

func op(o Operand) string {
	if o.Value != "" {
		return o.Value
	}
	s := pathString(o.Path)
	if o.Size {
		return "size<" + s + ">"
	}
	return s
}

func pathString(p Path) string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.IsIndex:
			b.WriteString("[" + string(rune('0'+e.Index%10)) + "]")
		case i > 0:
			b.WriteString("." + e.Name)
		default:
			b.WriteString(e.Name)
		}
	}
	return b.String()
}

func TestParseCondition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"a = :v", "a = :v"},
		{":v = #n", ":v = #n"},
		{"a <> :v AND b < :w OR c >= :x", "((a <> :v AND b < :w) OR c >= :x)"},
		{"a = :v OR b = :w AND c = :x", "(a = :v OR (b = :w AND c = :x))"},
		{"NOT a = :v AND b = :w", "(NOT a = :v AND b = :w)"},
		{"not (a = :v or b = :w)", "NOT (a = :v OR b = :w)"},
		{"a BETWEEN :lo AND :hi AND b = :v", "(a BETWEEN :lo :hi AND b = :v)"},
		{"a IN (:x, :y,:z)", "a IN [:x :y :z]"},
		{"attribute_exists(#a.b[2])", "attribute_exists[#a.b[2]]"},
		{"attribute_not_exists(pk) AND begins_with(s, :p)", "(attribute_not_exists[pk] AND begins_with[s :p])"},
		{"contains(#l, :v) OR attribute_type(a, :t)", "(contains[#l :v] OR attribute_type[a :t])"},
		{"size(a.b) > :n", "size<a.b> > :n"},
		{"((a = :v))", "a = :v"},
		{"a.b.c[0] <= :v", "a.b.c[0] <= :v"},
		{"size = :v", "size = :v"},
	} {
		c, err := ParseCondition(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := render(c); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseConditionRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "a", "a =", "= :v", "a = :v AND", "(a = :v", "a = :v)", "a == :v",
		"a BETWEEN :x", "a IN :x", "a IN ()", "attribute_exists()", "attribute_exists(:v)",
		"attribute_exists(a, b)", "unknown(a)", "a = # ", "a = :", "a[x] = :v", "a.[1] = :v",
		"AND = :v", "a = :v ; b", "a = 'x'", "a = :v OR", "NOT", "size(:v) = :w",
		"a[99999999999999999999] = :v", "a.b.", "begins_with(size(a), :v)", "a = :v OR " + strings.Repeat("b = :v OR ", 500) + "c = :v",
	} {
		if c, err := ParseCondition(in); err == nil {
			t.Errorf("%q parsed as %s", in, render(c))
		}
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	in := "email = :e AND #n.x = :f"
	c, err := ParseCondition(in)
	if err != nil {
		t.Fatal(err)
	}
	ops := Operands(c)
	if got := in[ops[0].Path[0].Pos:ops[0].Path[0].End]; got != "email" {
		t.Errorf("first name spans %q", got)
	}
	if got := in[ops[2].Path[0].Pos:ops[2].Path[0].End]; got != "#n" {
		t.Errorf("placeholder spans %q", got)
	}
	if top, ok := ops[2].Path.Top(map[string]string{"#n": "name"}); !ok || top != "name" {
		t.Errorf("Top = %q, %v", top, ok)
	}
	if _, ok := ops[2].Path.Top(nil); ok {
		t.Error("Top resolved an undefined placeholder")
	}
	if n := len(Conjuncts(c)); n != 2 {
		t.Errorf("%d conjuncts", n)
	}
}

func TestParseUpdate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"SET a = :v", []string{"a"}},
		{"set a = b + :v, c = if_not_exists(d, :z)", []string{"a", "b", "c", "d"}},
		{"SET l = list_append(if_not_exists(l, :e), :n) REMOVE x.y[1], #z", []string{"l", "l", "x.y[1]", "#z"}},
		{"ADD n :one DELETE s :set", []string{"n", "s"}},
		{"REMOVE a SET b = :v - c", []string{"a", "b", "c"}},
	} {
		paths, err := ParseUpdate(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, p := range paths {
			got = append(got, pathString(p))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q paths = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{
		"", "a = :v", "SET", "SET a", "SET a = ", "SET a = :v,", "UPSERT a = :v", "ADD a b",
		"SET a = unknown(b)", "SET a = :v + ", "REMOVE :v", "SET a = (b)",
	} {
		if paths, err := ParseUpdate(in); err == nil {
			t.Errorf("%q parsed: %v", in, paths)
		}
	}
}

func TestParsePaths(t *testing.T) {
	t.Parallel()
	paths, err := ParsePaths("a, #b.c, d[0]")
	if err != nil || len(paths) != 3 {
		t.Fatalf("paths %v, %v", paths, err)
	}
	if _, err := ParsePaths("a b"); err == nil {
		t.Error("a b parsed")
	}
}

// FuzzParse checks that no input makes a parser panic, and that every
// position a parsed path reports lies inside the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a = :v AND (b IN (:x, :y) OR NOT attribute_exists(#c.d[1]))",
		"SET a = list_append(if_not_exists(a, :e), :n) REMOVE b ADD c :d", "size(a) BETWEEN :a AND :b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := ParseCondition(s); err == nil {
			for _, o := range Operands(c) {
				checkSpans(t, s, o.Path)
			}
		}
		if paths, err := ParseUpdate(s); err == nil {
			for _, p := range paths {
				checkSpans(t, s, p)
			}
		}
		_, _ = ParsePaths(s)
	})
}

func checkSpans(t *testing.T, s string, p Path) {
	t.Helper()
	for _, e := range p {
		if e.Pos < 0 || e.End > len(s) || e.Pos >= e.End {
			t.Fatalf("span %d..%d outside %q", e.Pos, e.End, s)
		}
		if !e.IsIndex && s[e.Pos:e.End] != e.Name {
			t.Fatalf("span %q is not the name %q", s[e.Pos:e.End], e.Name)
		}
	}
}
