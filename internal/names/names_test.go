package names

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"a", true},
		{"Customers_2024-v1.x", true},
		{strings.Repeat("a", MaxLen), true},
		{"", false},
		{strings.Repeat("a", MaxLen+1), false},
		{"a b", false},
		{"a/b", false},
		{"a:b", false},
		{"é", false},      // letters are ASCII only
		{"a\x00", false},  // no control characters
		{"\u212a", false}, // the Kelvin sign folds to K in some comparisons
		{"*", false},      // the scope wildcard is not a name
		{"a\xffb", false}, // not UTF-8
		{"..", true},      // dots alone are a name here; collections refuse a leading dot
	} {
		if got := Valid(c.s); got != c.ok {
			t.Errorf("Valid(%q) = %v; want %v", c.s, got, c.ok)
		}
	}
}
