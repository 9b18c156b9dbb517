package keyringtest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sealstore/sealstore/materials"
)

// FlipBit returns a copy of b with bit i (counted from the low bit of b[0])
// flipped.
func FlipBit(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i/8] ^= 1 << (i % 8)
	return out
}

// TamperEDK calls try with every single change of e that a keyring must
// reject: each bit of the provider id, provider info and ciphertext flipped,
// provider info and ciphertext cut to every shorter length from the end and
// from the start, and the ciphertext extended by a byte. what names the
// change. Every bad EDK is a fresh copy that shares no bytes with e.
func TamperEDK(t testing.TB, e materials.EDK, try func(what string, bad materials.EDK)) {
	t.Helper()
	id := []byte(e.ProviderID)
	for i := range len(id) * 8 {
		bad := clone(e)
		bad.ProviderID = string(FlipBit(id, i))
		try(fmt.Sprintf("provider id bit %d flipped", i), bad)
	}
	field := func(name string, b []byte, set func(*materials.EDK, []byte)) {
		for i := range len(b) * 8 {
			bad := clone(e)
			set(&bad, FlipBit(b, i))
			try(fmt.Sprintf("%s bit %d flipped", name, i), bad)
		}
		for n := range len(b) {
			bad := clone(e)
			set(&bad, bytes.Clone(b[:n]))
			try(fmt.Sprintf("%s cut to its first %d bytes", name, n), bad)
			bad = clone(e)
			set(&bad, bytes.Clone(b[len(b)-n:]))
			try(fmt.Sprintf("%s cut to its last %d bytes", name, n), bad)
		}
	}
	field("provider info", e.ProviderInfo, func(m *materials.EDK, b []byte) { m.ProviderInfo = b })
	field("ciphertext", e.Ciphertext, func(m *materials.EDK, b []byte) { m.Ciphertext = b })
	bad := clone(e)
	bad.Ciphertext = append(bad.Ciphertext, 0)
	try("ciphertext extended by a byte", bad)
}

// clone returns a copy of e that shares no bytes with it.
func clone(e materials.EDK) materials.EDK {
	return materials.EDK{ProviderID: e.ProviderID, ProviderInfo: bytes.Clone(e.ProviderInfo), Ciphertext: bytes.Clone(e.Ciphertext)}
}

// MustRejectTampered checks that k fails closed on every change TamperEDK
// makes to enc's first EDK, under enc's suite and context, and that the EDK
// itself still decrypts to enc's keys (so the rejections are not for another
// reason).
func MustRejectTampered(t testing.TB, k materials.Keyring, enc *materials.Encryption) {
	t.Helper()
	TamperEDK(t, enc.EDKs[0], func(what string, bad materials.EDK) {
		t.Helper()
		m, err := Decrypt(k, enc.Suite, enc.Context, []materials.EDK{bad})
		if err == nil {
			t.Fatalf("suite %#x: %s: tampered EDK decrypted", enc.Suite.ID, what)
		}
		MustFailClosed(t, m, err)
	})
	MustDecrypt(t, k, enc, enc.EDKs[:1], 0)
}
