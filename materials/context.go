package materials

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Context is an encryption context: non-secret strings bound to a
// ciphertext as associated data.
type Context map[string]string

// Serialize returns the MPL serialization: a 2-byte count, then entries
// sorted by key bytes, each a 2-byte key length, key, 2-byte value length and
// value. An empty context serializes to the 2-byte count 0, as DB-ESDK
// headers carry it.
func (c Context) Serialize() ([]byte, error) {
	if len(c) > 0xFFFF {
		return nil, errors.New("materials: encryption context has too many entries")
	}
	type entry struct{ k, v string }
	var small [8]entry // sorts a context of up to 8 entries without allocating
	entries := small[:0]
	if len(c) > len(small) {
		entries = make([]entry, 0, len(c))
	}
	size := 2
	for k, v := range c {
		if len(k) > 0xFFFF || len(v) > 0xFFFF {
			return nil, fmt.Errorf("materials: encryption context entry %q is too long", k)
		}
		entries = append(entries, entry{k, v})
		size += 4 + len(k) + len(v)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	b := binary.BigEndian.AppendUint16(make([]byte, 0, size), uint16(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.k)))
		b = append(b, e.k...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.v)))
		b = append(b, e.v...)
	}
	return b, nil
}

// AAD returns the context as keyrings bind it: the serialization, except
// that an empty context is empty bytes (MPL structures.md), not the 2-byte
// count that a DB-ESDK header carries.
func (c Context) AAD() ([]byte, error) {
	if len(c) == 0 {
		return nil, nil
	}
	return c.Serialize()
}

// ParseContext reads a serialized context from the front of b and returns
// the rest. Entries must be sorted and unique.
func ParseContext(b []byte) (Context, []byte, error) {
	if len(b) < 2 {
		return nil, nil, errors.New("materials: truncated encryption context")
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n*4 > len(b) { // every entry takes at least 4 bytes
		return nil, nil, errors.New("materials: truncated encryption context")
	}
	c := make(Context, n)
	prev := ""
	for i := range n {
		var k, v []byte
		var ok bool
		if k, b, ok = cut16(b); !ok {
			return nil, nil, errors.New("materials: truncated encryption context key")
		}
		if v, b, ok = cut16(b); !ok {
			return nil, nil, errors.New("materials: truncated encryption context value")
		}
		if i > 0 && strings.Compare(string(k), prev) <= 0 {
			return nil, nil, errors.New("materials: encryption context not sorted or has duplicates")
		}
		prev = string(k)
		c[prev] = string(v)
	}
	return c, b, nil
}

// cut16 splits a 2-byte length-prefixed field off the front of b.
func cut16(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

// Clone returns a copy of c.
func (c Context) Clone() Context {
	out := make(Context, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}
