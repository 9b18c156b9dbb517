// Package names holds the one rule for the names sealstore gives things
// that end up in URLs, scopes, table names and attribute names: token
// names, collection names and searchable attribute names.
package names

// MaxLen is the longest name, in bytes.
const MaxLen = 64

// Valid reports whether s is 1 to MaxLen letters, digits, '.', '_' or
// '-' (ASCII only).
func Valid(s string) bool {
	if len(s) == 0 || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !allowed(s[i]) {
			return false
		}
	}
	return true
}

func allowed(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}
