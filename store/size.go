package store

import (
	"strings"

	"github.com/sealstore/sealstore/attr"
)

// ItemSize returns the size DynamoDB counts for it: attribute names plus
// values, as its documentation describes (strings as UTF-8, numbers about
// one byte per two digits plus one, binary as is, one byte for BOOL and NULL,
// three bytes of overhead for each list or map plus one per element).
func ItemSize(it attr.Item) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v attr.Value) int {
	switch v := v.(type) {
	case attr.S:
		return len(v)
	case attr.N:
		return numberSize(string(v))
	case attr.B:
		return len(v)
	case attr.Bool, attr.Null:
		return 1
	case attr.SS:
		return sumLen(v)
	case attr.NS:
		n := 0
		for _, s := range v {
			n += numberSize(s)
		}
		return n
	case attr.BS:
		n := 0
		for _, b := range v {
			n += len(b)
		}
		return n
	case attr.L:
		n := 3
		for _, e := range v {
			n += 1 + valueSize(e)
		}
		return n
	case attr.M:
		n := 3
		for k, e := range v {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	}
	return 0
}

// numberSize counts significant digits, as DynamoDB does: leading and
// trailing zeros and the exponent do not count.
func numberSize(s string) int {
	if norm, err := attr.NormalizeNumber(s); err == nil {
		s = norm
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
	digits = strings.Trim(digits, "0")
	return (len(digits)+1)/2 + 1
}

func sumLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	return n
}
