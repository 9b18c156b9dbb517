package tokens

import (
	"strings"
	"testing"
)

// FuzzParseScopes checks that ParseScopes never panics and that what it
// accepts prints back to a list it parses to the same scopes.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"items:read", "*:admin", "a:read,b:write", "", ":", "x y:read", "items:read,", "a:admin , b:read"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		scopes, err := ParseScopes(list)
		if err != nil {
			return
		}
		parts := make([]string, len(scopes))
		for i, s := range scopes {
			parts[i] = s.String()
		}
		again, err := ParseScopes(strings.Join(parts, ","))
		if err != nil {
			t.Fatalf("%q parsed, but its printed form %q does not: %v", list, strings.Join(parts, ","), err)
		}
		if len(again) != len(scopes) {
			t.Fatalf("%q: %d scopes, then %d", list, len(scopes), len(again))
		}
		for i := range scopes {
			if again[i] != scopes[i] {
				t.Fatalf("%q: scope %d changed from %v to %v", list, i, scopes[i], again[i])
			}
		}
	})
}
