package attr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every Unmarshal error.
var ErrMalformed = errors.New("attr: malformed serialized value")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Unmarshal parses the serialization of a value of type typeID (as written by
// Marshal). Sets written by other implementations in input order are
// accepted; duplicate set entries and map keys are not. The value never
// aliases data: the caller may overwrite data afterwards.
func Unmarshal(typeID uint16, data []byte) (Value, error) {
	return readValue(typeID, data, 0)
}

// UnmarshalTyped parses a type id followed by a serialized value.
func UnmarshalTyped(data []byte) (Value, error) {
	if len(data) < 2 {
		return nil, malformed("missing type id")
	}
	return Unmarshal(binary.BigEndian.Uint16(data), data[2:])
}

func readValue(typeID uint16, data []byte, depth int) (Value, error) {
	switch typeID {
	case TypeNull:
		if len(data) != 0 {
			return nil, malformed("NULL with %d value bytes", len(data))
		}
		return Null{}, nil
	case TypeS:
		if !utf8.Valid(data) {
			return nil, malformed("string is not valid UTF-8")
		}
		return S(data), nil
	case TypeN:
		n, err := NormalizeNumber(string(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return N(n), nil
	case TypeB:
		return B(append([]byte{}, data...)), nil
	case TypeBool:
		if len(data) != 1 || data[0] > 1 {
			return nil, malformed("boolean must be one byte 0 or 1")
		}
		return Bool(data[0] == 1), nil
	case TypeSS, TypeNS, TypeBS:
		return readSet(typeID, data)
	case TypeL:
		return readList(data, depth)
	case TypeM:
		return readMap(data, depth)
	default:
		return nil, malformed("unknown type id 0x%04x", typeID)
	}
}

// reader consumes length-prefixed fields and remembers the first error.
type reader struct {
	b []byte
}

func (r *reader) u16() (uint16, bool) {
	if len(r.b) < 2 {
		return 0, false
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v, true
}

func (r *reader) u32() (uint32, bool) {
	if len(r.b) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v, true
}

func (r *reader) bytes32() ([]byte, bool) {
	n, ok := r.u32()
	if !ok || uint64(n) > uint64(len(r.b)) {
		return nil, false
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, true
}

// count reads a 4-byte element count and checks it against the bytes left,
// given the minimum size of one element.
func (r *reader) count(minSize int) (int, bool) {
	n, ok := r.u32()
	if !ok || uint64(n)*uint64(minSize) > uint64(len(r.b)) {
		return 0, false
	}
	return int(n), true
}

func readSet(typeID uint16, data []byte) (Value, error) {
	r := reader{data}
	n, ok := r.count(4)
	if !ok {
		return nil, malformed("set count exceeds data")
	}
	seen := make(map[string]struct{}, n)
	entries := make([][]byte, 0, n)
	for range n {
		e, ok := r.bytes32()
		if !ok {
			return nil, malformed("set entry exceeds data")
		}
		if _, dup := seen[string(e)]; dup {
			return nil, malformed("set has duplicate entries")
		}
		seen[string(e)] = struct{}{}
		entries = append(entries, e)
	}
	if len(r.b) != 0 {
		return nil, malformed("%d trailing bytes after set", len(r.b))
	}
	return setValue(typeID, entries)
}

func setValue(typeID uint16, entries [][]byte) (Value, error) {
	switch typeID {
	case TypeBS:
		bs := make(BS, len(entries))
		for i, e := range entries {
			bs[i] = append([]byte{}, e...)
		}
		return bs, nil
	case TypeNS:
		ns := make(NS, len(entries))
		seen := make(map[string]struct{}, len(entries))
		for i, e := range entries {
			n, err := NormalizeNumber(string(e))
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			if _, dup := seen[n]; dup {
				return nil, malformed("number set has duplicate entries after normalization")
			}
			seen[n] = struct{}{}
			ns[i] = n
		}
		return ns, nil
	default:
		ss := make(SS, len(entries))
		for i, e := range entries {
			if !utf8.Valid(e) {
				return nil, malformed("string set entry is not valid UTF-8")
			}
			ss[i] = string(e)
		}
		return ss, nil
	}
}

func readList(data []byte, depth int) (Value, error) {
	r := reader{data}
	n, ok := r.count(6)
	if !ok {
		return nil, malformed("list count exceeds data")
	}
	l := make(L, 0, n)
	for range n {
		v, err := r.nested(depth)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	if len(r.b) != 0 {
		return nil, malformed("%d trailing bytes after list", len(r.b))
	}
	return l, nil
}

func readMap(data []byte, depth int) (Value, error) {
	r := reader{data}
	n, ok := r.count(12)
	if !ok {
		return nil, malformed("map count exceeds data")
	}
	m := make(M, n)
	for range n {
		kt, ok := r.u16()
		if !ok || kt != TypeS {
			return nil, malformed("map key is not a string")
		}
		k, ok := r.bytes32()
		if !ok || len(k) == 0 || !utf8.Valid(k) {
			return nil, malformed("map key is empty, truncated or not UTF-8")
		}
		if _, dup := m[string(k)]; dup {
			return nil, malformed("map has duplicate key")
		}
		v, err := r.nested(depth)
		if err != nil {
			return nil, err
		}
		m[string(k)] = v
	}
	if len(r.b) != 0 {
		return nil, malformed("%d trailing bytes after map", len(r.b))
	}
	return m, nil
}

func (r *reader) nested(depth int) (Value, error) {
	if depth+1 >= MaxDepth {
		return nil, malformed("nesting deeper than 32 levels")
	}
	t, ok := r.u16()
	if !ok {
		return nil, malformed("truncated nested type id")
	}
	b, ok := r.bytes32()
	if !ok {
		return nil, malformed("nested value exceeds data")
	}
	return readValue(t, b, depth+1)
}
