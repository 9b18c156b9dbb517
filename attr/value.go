// Package attr models DynamoDB attribute values without depending on the AWS
// SDK, and serializes them exactly as the AWS Database Encryption SDK's
// attribute serialization requires (type id + value bytes, canonical set and
// map ordering, DynamoDB number normalization).
//
// The package is pure: no I/O, no randomness. Every deserializer rejects
// malformed input with an error and never panics.
package attr

// Value is one DynamoDB attribute value. The concrete types are S, N, B,
// Bool, Null, L, M, SS, NS and BS.
type Value interface {
	// TypeID is the DB-ESDK type id of the value.
	TypeID() uint16
}

// Item is a DynamoDB item: attribute name to value.
type Item map[string]Value

// Type ids from the DB-ESDK attribute serialization specification.
const (
	TypeNull uint16 = 0x0000
	TypeS    uint16 = 0x0001
	TypeN    uint16 = 0x0002
	TypeBool uint16 = 0x0004
	TypeSS   uint16 = 0x0101
	TypeNS   uint16 = 0x0102
	TypeBS   uint16 = 0x01FF
	TypeM    uint16 = 0x0200
	TypeL    uint16 = 0x0300
	TypeB    uint16 = 0xFFFF
)

type (
	// S is a string value.
	S string
	// N is a number value, held as its decimal string.
	N string
	// B is a binary value.
	B []byte
	// Bool is a boolean value.
	Bool bool
	// Null is the NULL value.
	Null struct{}
	// L is a list of values.
	L []Value
	// M is a map of values.
	M map[string]Value
	// SS is a string set.
	SS []string
	// NS is a number set.
	NS []string
	// BS is a binary set.
	BS [][]byte
)

func (S) TypeID() uint16    { return TypeS }
func (N) TypeID() uint16    { return TypeN }
func (B) TypeID() uint16    { return TypeB }
func (Bool) TypeID() uint16 { return TypeBool }
func (Null) TypeID() uint16 { return TypeNull }
func (L) TypeID() uint16    { return TypeL }
func (M) TypeID() uint16    { return TypeM }
func (SS) TypeID() uint16   { return TypeSS }
func (NS) TypeID() uint16   { return TypeNS }
func (BS) TypeID() uint16   { return TypeBS }
