// Package secret holds key material in a type that never prints it.
//
// A Bytes renders as "[redacted]" through fmt (%v, %#v, %s, %x, %q and
// every other verb fmt hands to Format), slog, encoding/json and
// encoding/text. Where fmt does not call those methods (a Bytes in an
// unexported struct field; %p, or %w outside Errorf; a value printed under
// a verb that does not suit it, which fmt walks by reflection) it finds
// only a func value, which it prints as a code address at any depth and
// under any verb: the bytes are captured by the func and never reached.
// InsecureBytes hands the raw bytes to crypto primitives; its name marks
// every place they leave the type. Equal is constant time, and Zero
// overwrites the bytes.
package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// Bytes is secret key material. The zero Bytes holds no key. Copies of a
// Bytes share its bytes, so Zero on one zeroes them all. Bytes is not
// comparable with == (use Equal), and reflect.DeepEqual reports two
// non-zero Bytes as different. It is safe for concurrent reads; Zero must
// not race with other use.
type Bytes struct {
	// A closure, not the slice or a pointer to it. fmt walking a value by
	// reflection prints a slice's bytes, and a pointer's target too when
	// the verb does not suit a pointer ("%!s(*[]uint8=&[67 65 ...])"); a
	// func it prints as an address whatever the verb and depth.
	b func() []byte
}

const redacted = "[redacted]"

// New returns a Bytes that takes ownership of b, without copying it: the
// caller must not use b afterwards. New(nil), like New of any empty slice,
// is the zero Bytes.
func New(b []byte) Bytes {
	if len(b) == 0 {
		return Bytes{}
	}
	return Bytes{b: func() []byte { return b }}
}

// Copy returns a Bytes holding a copy of b.
func Copy(b []byte) Bytes { return New(append([]byte(nil), b...)) }

// Random returns a Bytes holding n bytes from crypto/rand (the zero Bytes
// if n is 0).
func Random(n int) Bytes {
	b := make([]byte, n)
	rand.Read(b)
	return New(b)
}

// IsZero reports whether s holds no key.
func (s Bytes) IsZero() bool { return s.b == nil }

// Len returns the length of the key in bytes, 0 for the zero Bytes.
func (s Bytes) Len() int { return len(s.InsecureBytes()) }

// InsecureBytes returns the key bytes themselves (nil for the zero Bytes),
// not a copy. Call it only to hand the key to a crypto primitive; do not
// keep, modify or print the result.
func (s Bytes) InsecureBytes() []byte {
	if s.b == nil {
		return nil
	}
	return s.b()
}

// Equal reports whether s and o hold the same bytes, in constant time for
// equal lengths. Two zero Bytes are equal.
func (s Bytes) Equal(o Bytes) bool {
	return subtle.ConstantTimeCompare(s.InsecureBytes(), o.InsecureBytes()) == 1
}

// Zero overwrites the bytes with zeros, for s and every copy of it.
func (s Bytes) Zero() { clear(s.InsecureBytes()) }

// String implements fmt.Stringer without revealing the bytes.
func (Bytes) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the bytes.
func (Bytes) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb and flag prints the
// redaction marker.
func (Bytes) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer without revealing the bytes.
func (Bytes) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON renders the redaction marker, never the bytes.
func (Bytes) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText renders the redaction marker, never the bytes.
func (Bytes) MarshalText() ([]byte, error) { return []byte(redacted), nil }
