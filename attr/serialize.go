package attr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the DB-ESDK's limit on nesting: a top-level value is at depth
// 1, a list entry or map value is one deeper than its container, and no value
// may be deeper than MaxDepth.
const MaxDepth = 32

// Marshal returns the DB-ESDK serialization of v without its type id: the
// bytes that are encrypted, signed or placed in an encryption context.
// Numbers are normalized and sets sorted, so equal values give equal bytes.
func Marshal(v Value) ([]byte, error) {
	return appendValue(nil, v, 0)
}

// MarshalTyped returns the type id followed by Marshal(v).
func MarshalTyped(v Value) ([]byte, error) {
	if v == nil {
		return nil, errors.New("attr: nil value")
	}
	b := binary.BigEndian.AppendUint16(nil, v.TypeID())
	return appendValue(b, v, 0)
}

// Equal reports whether a and b are the same DynamoDB value after number
// normalization and with sets compared as sets.
func Equal(a, b Value) bool {
	x, err1 := MarshalTyped(a)
	y, err2 := MarshalTyped(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func appendValue(dst []byte, v Value, depth int) ([]byte, error) {
	switch v := v.(type) {
	case S:
		if !utf8.ValidString(string(v)) {
			return nil, errors.New("attr: string is not valid UTF-8")
		}
		return append(dst, v...), nil
	case N:
		n, err := NormalizeNumber(string(v))
		if err != nil {
			return nil, err
		}
		return append(dst, n...), nil
	case B:
		return append(dst, v...), nil
	case Bool:
		if v {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case Null:
		return dst, nil
	case SS:
		return appendStringSet(dst, []string(v), false)
	case NS:
		return appendStringSet(dst, []string(v), true)
	case BS:
		return appendBinarySet(dst, v)
	case L:
		return appendList(dst, v, depth)
	case M:
		return appendMap(dst, v, depth)
	case nil:
		return nil, errors.New("attr: nil value")
	default:
		return nil, fmt.Errorf("attr: unsupported value type %T", v)
	}
}

func appendEntry(dst []byte, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

func appendStringSet(dst []byte, set []string, numbers bool) ([]byte, error) {
	vals := make([]string, len(set))
	for i, s := range set {
		if numbers {
			n, err := NormalizeNumber(s)
			if err != nil {
				return nil, err
			}
			s = n
		} else if !utf8.ValidString(s) {
			return nil, errors.New("attr: string set entry is not valid UTF-8")
		}
		vals[i] = s
	}
	slices.SortFunc(vals, CompareUTF16)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(vals)))
	for i, s := range vals {
		if i > 0 && s == vals[i-1] {
			return nil, errors.New("attr: set has duplicate entries")
		}
		dst = appendEntry(dst, []byte(s))
	}
	return dst, nil
}

func appendBinarySet(dst []byte, set BS) ([]byte, error) {
	vals := slices.Clone([][]byte(set))
	slices.SortFunc(vals, bytes.Compare)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(vals)))
	for i, b := range vals {
		if i > 0 && bytes.Equal(b, vals[i-1]) {
			return nil, errors.New("attr: set has duplicate entries")
		}
		dst = appendEntry(dst, b)
	}
	return dst, nil
}

func appendList(dst []byte, l L, depth int) ([]byte, error) {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(l)))
	for _, e := range l {
		var err error
		if dst, err = appendNested(dst, e, depth); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func appendMap(dst []byte, m M, depth int) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == "" || !utf8.ValidString(k) {
			return nil, errors.New("attr: map key is empty or not valid UTF-8")
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, CompareUTF16)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = binary.BigEndian.AppendUint16(dst, TypeS)
		dst = appendEntry(dst, []byte(k))
		var err error
		if dst, err = appendNested(dst, m[k], depth); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// appendNested writes type id, 4-byte length and value of a list entry or
// map value.
func appendNested(dst []byte, v Value, depth int) ([]byte, error) {
	if v == nil {
		return nil, errors.New("attr: nil value")
	}
	if depth+1 >= MaxDepth {
		return nil, errors.New("attr: nesting deeper than 32 levels")
	}
	dst = binary.BigEndian.AppendUint16(dst, v.TypeID())
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := appendValue(dst, v, depth+1)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst, nil
}

// CompareUTF16 orders strings by their UTF-16 code units, the order the
// DB-ESDK uses for map keys and string sets.
func CompareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return slices.Compare(utf16.AppendRune(nil, ra), utf16.AppendRune(nil, rb))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}
