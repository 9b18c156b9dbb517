// Package secret holds key material in a type that never prints it: String,
// GoString, slog and JSON all render "[redacted]". Comparisons are constant
// time.
package secret

import (
	"crypto/subtle"
	"log/slog"
)

// Bytes is secret key material. Its formatting methods never reveal it.
type Bytes []byte

const redacted = "[redacted]"

// String implements fmt.Stringer without revealing the bytes.
func (Bytes) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the bytes.
func (Bytes) GoString() string { return redacted }

// LogValue implements slog.LogValuer without revealing the bytes.
func (Bytes) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON renders the redaction marker, never the bytes.
func (Bytes) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText renders the redaction marker, never the bytes.
func (Bytes) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Equal reports whether b and o hold the same bytes, in constant time for
// equal lengths.
func (b Bytes) Equal(o Bytes) bool { return subtle.ConstantTimeCompare(b, o) == 1 }

// Zero overwrites the bytes with zeros.
func (b Bytes) Zero() { clear(b) }
