package beacon

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
)

// Standard is one configured standard beacon: its name, its length in bits,
// its number of partitions and its derived HMAC key. The zero Standard is
// unusable. Standard never prints its key.
type Standard struct {
	name       string
	length     int
	partitions int
	mac        func() hash.Hash // HMAC-SHA384 under the derived key
}

// AttributeName returns the name of the attribute that stores the standard
// beacon called name: AttributePrefix followed by name.
func AttributeName(name string) string { return AttributePrefix + name }

// Name returns the beacon's configured name.
func (s Standard) Name() string { return s.name }

// Length returns the number of bits the beacon keeps.
func (s Standard) Length() int { return s.length }

// Partitions returns the beacon's number of partitions (1 unless set by
// WithPartitions).
func (s Standard) Partitions() int { return s.partitions }

// AttributeName returns AttributeName(s.Name()).
func (s Standard) AttributeName() string { return AttributeName(s.name) }

// WithPartitions returns a copy of s constrained to n partitions, 1 to
// MaxPartitions: the beacon's numberOfPartitions, or the beacon version's
// defaultNumberOfPartitions (itself defaulting to maximumNumberOfPartitions)
// when the beacon sets none. Checking n against the table's maximum is the
// caller's job.
func (s Standard) WithPartitions(n int) (Standard, error) {
	if n < 1 || n > MaxPartitions {
		return Standard{}, fmt.Errorf("beacon: %d partitions not in 1..%d: %w", n, MaxPartitions, ErrInvalid)
	}
	s.partitions = n
	return s, nil
}

// Hash returns the beacon of value, the serialized attribute value (see the
// package comment), as stored in an item written to partition 0 or to a
// table without partitions.
func (s Standard) Hash(value []byte) (string, error) {
	return s.HashPartition(value, 0)
}

// HashPartition returns the beacon of value for an item written, or a query
// made, as partition (0 to MaxPartitions-1). The beacon's own partition is
// partition % s.Partitions(); if that is not 0, it is appended to value as
// one byte before hashing (beacons.md, "Partition Beacon Encoding").
func (s Standard) HashPartition(value []byte, partition int) (string, error) {
	if s.mac == nil {
		return "", fmt.Errorf("beacon: zero Standard: %w", ErrInvalid)
	}
	if partition < 0 || partition >= MaxPartitions {
		return "", fmt.Errorf("beacon: partition %d not in 0..%d: %w", partition, MaxPartitions-1, ErrInvalid)
	}
	p := byte(partition % s.partitions)
	if p == 0 {
		return basicHash(s.mac, s.length, value, nil), nil
	}
	return basicHash(s.mac, s.length, value, []byte{p}), nil
}

// basicHash is beacons.md "basicHash" over value||suffix.
func basicHash(mac func() hash.Hash, length int, value, suffix []byte) string {
	return render(macPrefix(mac, value, suffix), length)
}

// macPrefix returns the first 8 bytes of the MAC of value||suffix as a
// big-endian integer.
func macPrefix(mac func() hash.Hash, value, suffix []byte) uint64 {
	m := mac()
	m.Write(value)
	m.Write(suffix)
	var sum [sha512.Size384]byte
	return binary.BigEndian.Uint64(m.Sum(sum[:0]))
}

// render keeps the low length bits of v and writes them as lowercase hex,
// zero-padded to ceil(length/4) digits.
func render(v uint64, length int) string {
	v &= 1<<length - 1
	digits := (length + 3) / 4
	var buf [16]byte
	hex := strconv.AppendUint(buf[:0], v, 16)
	out := make([]byte, digits)
	pad := digits - len(hex)
	for i := range pad {
		out[i] = '0'
	}
	copy(out[pad:], hex)
	return string(out)
}

// String, GoString, Format and LogValue show the configuration, never the
// derived key.

func (s Standard) String() string {
	return fmt.Sprintf("beacon.Standard{name: %q, length: %d, partitions: %d, key: %s}",
		s.name, s.length, s.partitions, redacted)
}
func (s Standard) GoString() string           { return s.String() }
func (s Standard) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }
func (s Standard) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", s.name), slog.Int("length", s.length),
		slog.Int("partitions", s.partitions))
}
