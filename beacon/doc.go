// Package beacon computes the standard beacons of the AWS Database
// Encryption SDK for DynamoDB (searchable encryption): truncated
// HMAC-SHA384 tags of plaintext values, stored next to an encrypted item in
// the attribute aws_dbe_b_<name> so that equality queries still work.
//
// The package is pure: no I/O, no clock, no randomness. It promises that,
// for the same beacon key, beacon name, beacon length and partition, a
// beacon computed here is byte for byte the string the official SDKs store
// and query with (specification/searchable-encryption/beacons.md 1.1.0 and
// search-config.md 1.2.0 of aws/aws-database-encryption-sdk-dynamodb).
//
// The computation is:
//
//  1. Per-beacon HMAC key: HKDF-SHA512 with the 32-byte beacon key from the
//     branch key store as input key material, no salt, info
//     "AWS_DBE_SCAN_BEACON" followed by the UTF-8 beacon name, 64 bytes out.
//  2. Beacon input: the DB-ESDK attribute serialization of the value without
//     its two-byte type id (attr.Marshal): UTF-8 bytes for S, the UTF-8 bytes
//     of the normalized number for N, the raw bytes for B. With partitions,
//     one byte holding the beacon's partition is appended unless it is 0.
//  3. HMAC-SHA384 of the input, first 8 bytes taken as a big-endian integer,
//     of which the low (rightmost) length bits are kept.
//  4. Rendered as lowercase hexadecimal, zero-padded to exactly
//     ceil(length/4) digits: a 24-bit beacon is always 6 digits ("0e9064").
//
// Key and Standard hold secret bytes and never print or log them. Both are
// immutable after construction and safe for concurrent use.
//
// Not implemented here: compound beacons, virtual fields, beacon styles
// (PartOnly, Shared, AsSet, SharedSet) and the item/query plumbing. Shared
// beacons are Standard values derived under the other beacon's name; AsSet
// beacons are the set of Hash results of the set's elements.
package beacon

import "errors"

// ErrInvalid is wrapped by every error this package returns: all of them
// come from arguments outside the ranges the specification allows.
var ErrInvalid = errors.New("invalid argument")

// Limits from the specification.
const (
	// KeySize is the size of a beacon key from the branch key store.
	KeySize = 32
	// MinLength and MaxLength bound a beacon length in bits.
	MinLength = 1
	MaxLength = 63
	// MaxPartitions is the largest PartitionCount. Partition numbers run
	// from 0 to MaxPartitions-1.
	MaxPartitions = 255
	// AttributePrefix starts the name of every stored standard beacon.
	AttributePrefix = "aws_dbe_b_"
)
