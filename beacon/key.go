package beacon

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"fmt"
	"hash"
	"log/slog"
	"unicode/utf8"

	"github.com/sealstore/sealstore/secret"
)

// hkdfInfoPrefix is prepended to the beacon name to form the HKDF info.
const hkdfInfoPrefix = "AWS_DBE_SCAN_BEACON"

// hmacKeySize is the size of each derived per-beacon HMAC key.
const hmacKeySize = 64

// maxAttributeName is DynamoDB's limit on an attribute name, in bytes.
const maxAttributeName = 65535

const redacted = "[redacted]"

// Key is a beacon key: the secret from which every beacon's HMAC key is
// derived. The zero Key is unusable. Key never prints its bytes.
type Key struct {
	// secret.Bytes keeps the bytes hidden even when a Key sits in an
	// unexported field of a caller's struct (where Format is not called).
	secret secret.Bytes
}

// NewKey copies a beacon key as returned by the branch key store's
// GetBeaconKey. It must be exactly KeySize bytes.
func NewKey(beaconKey []byte) (Key, error) {
	if len(beaconKey) != KeySize {
		return Key{}, fmt.Errorf("beacon: key is %d bytes, want %d: %w", len(beaconKey), KeySize, ErrInvalid)
	}
	return Key{secret: secret.Copy(beaconKey)}, nil
}

// Equal reports, in constant time, whether k and o hold the same bytes.
func (k Key) Equal(o Key) bool { return k.secret.Equal(o.secret) }

// Standard returns the standard beacon called name, keeping length bits
// (1 to 63), with one partition. name must be non-empty valid UTF-8 and
// short enough for AttributeName(name) to be a DynamoDB attribute name.
func (k Key) Standard(name string, length int) (Standard, error) {
	if k.secret.IsZero() {
		return Standard{}, fmt.Errorf("beacon: zero Key: %w", ErrInvalid)
	}
	if err := checkName(name); err != nil {
		return Standard{}, err
	}
	if length < MinLength || length > MaxLength {
		return Standard{}, fmt.Errorf("beacon: length %d not in %d..%d: %w", length, MinLength, MaxLength, ErrInvalid)
	}
	mac, err := newMACFunc(k.secret.InsecureBytes(), name)
	if err != nil {
		return Standard{}, err
	}
	return Standard{name: name, length: length, partitions: 1, mac: mac}, nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("beacon: empty name: %w", ErrInvalid)
	case !utf8.ValidString(name):
		return fmt.Errorf("beacon: name is not valid UTF-8: %w", ErrInvalid)
	case len(AttributePrefix)+len(name) > maxAttributeName:
		return fmt.Errorf("beacon: name longer than %d bytes: %w", maxAttributeName-len(AttributePrefix), ErrInvalid)
	}
	return nil
}

// deriveHMACKey is search-config.md "HMAC Key Generation". It takes any
// length of key material so that tests can replay the SDK's vectors, which
// use a 5-byte beacon key.
func deriveHMACKey(beaconKey []byte, name string) ([]byte, error) {
	hk, err := hkdf.Key(sha512.New, beaconKey, nil, hkdfInfoPrefix+name, hmacKeySize)
	if err != nil {
		return nil, fmt.Errorf("beacon: derive key: %w", err)
	}
	return hk, nil
}

// newMACFunc derives the HMAC key for the beacon called name and returns a
// constructor of HMAC-SHA384 under it, which is all a Standard keeps.
func newMACFunc(beaconKey []byte, name string) (func() hash.Hash, error) {
	hk, err := deriveHMACKey(beaconKey, name)
	if err != nil {
		return nil, err
	}
	return func() hash.Hash { return hmac.New(sha512.New384, hk) }, nil
}

// String, GoString, Format and LogValue keep the key bytes out of every
// printed or logged form.

func (k Key) String() string             { return "beacon.Key(" + redacted + ")" }
func (k Key) GoString() string           { return k.String() }
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }
func (k Key) LogValue() slog.Value       { return slog.StringValue(redacted) }
