package materials

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha512"
	"hash"
)

// The DB-ESDK and the MPL derive every key with HKDF-SHA512 (RFC 5869)
// and no salt, and expand two keys from each pseudorandom key. DeriveKeys
// computes exactly crypto/hkdf's Extract and Expand for that case (a test
// compares them) with crypto/hmac states it keys once: the HMAC of the
// empty salt (RFC 5869's HashLen zero bytes) is keyed once per process and
// cloned for each extract, and the pseudorandom key's HMAC is keyed once
// for both of its expands. Keying an HMAC costs two SHA-512 blocks and
// five allocations; an item's encryption or decryption derives four keys
// from two pseudorandom keys, and saves six blocks. FIPS 198-1 §6 allows
// keeping these intermediate states, treated as keys; the zero salt's is
// public.

// zeroSalt is HMAC-SHA512 keyed by the empty salt, never written after
// init: DeriveKeys clones it. Reset makes it keep its keyed states, so a
// clone's Sum starts from them instead of keying the outer hash again.
var zeroSalt = func() *cloneable {
	m := hmac.New(sha512.New, make([]byte, sha512.Size))
	m.Reset()
	c, ok := m.(hash.Cloner)
	if !ok {
		return nil
	}
	return &cloneable{c}
}()

type cloneable struct{ hash.Cloner }

// clone returns a copy of c's keyed state, or false if the hash cannot be
// cloned (then the caller uses crypto/hkdf).
func (c *cloneable) clone() (hash.Hash, bool) {
	if c == nil {
		return nil, false
	}
	h, err := c.Clone()
	return h, err == nil
}

// DeriveKeys returns the first s.KeyLen bytes of HKDF-Expand(PRK, info1)
// and of HKDF-Expand(PRK, info2), where PRK = HKDF-Extract(the suite's
// hash, no salt, ikm); the caller clears both. Both suites' KDF is
// HKDF-SHA512 (their names say so), computed here with fewer SHA-512
// blocks than crypto/hkdf needs; a Suite made by hand with an unknown id
// uses crypto/hkdf with its KDFHash.
func (s Suite) DeriveKeys(ikm, info1, info2 []byte) (k1, k2 []byte, err error) {
	if err := s.Check(); err != nil {
		return nil, nil, err
	}
	// Keys shorter than 112 bits go to crypto/hkdf, which refuses them in
	// FIPS 140-only mode (no key the format holds is that short).
	fast := (s.ID == SuiteSymSig || s.ID == SuiteECDSA) && s.KeyLen <= sha512.Size && len(ikm) >= 112/8
	ext, ok := zeroSalt.clone()
	if !fast || !ok {
		return deriveSlow(s, ikm, info1, info2)
	}
	var prk [sha512.Size]byte
	defer clear(prk[:])
	ext.Write(ikm)
	ext.Sum(prk[:0])
	m := hmac.New(sha512.New, prk[:])
	c, ok := m.(hash.Cloner)
	if !ok {
		return deriveSlow(s, ikm, info1, info2)
	}
	m2, err := c.Clone()
	if err != nil {
		return deriveSlow(s, ikm, info1, info2)
	}
	out := make([]byte, 2*sha512.Size)
	k1 = expandOne(m, info1, out[:0:sha512.Size])[:s.KeyLen:s.KeyLen]
	k2 = expandOne(m2, info2, out[sha512.Size:sha512.Size])[:s.KeyLen:s.KeyLen]
	clear(out[s.KeyLen:sha512.Size])
	clear(out[sha512.Size+s.KeyLen:])
	return k1, k2, nil
}

// counter1 is the only block counter a key of at most one hash output
// needs.
var counter1 = []byte{1}

// expandOne is T(1) = HMAC(PRK, info || 0x01) (RFC 5869 §2.3), appended
// to out.
func expandOne(m hash.Hash, info, out []byte) []byte {
	m.Write(info)
	m.Write(counter1)
	return m.Sum(out)
}

// deriveSlow is DeriveKeys with crypto/hkdf.
func deriveSlow(s Suite, ikm, info1, info2 []byte) (k1, k2 []byte, err error) {
	prk, err := hkdf.Extract(s.KDFHash, ikm, nil)
	if err != nil {
		return nil, nil, err
	}
	defer clear(prk)
	if k1, err = hkdf.Expand(s.KDFHash, prk, string(info1), s.KeyLen); err != nil {
		return nil, nil, err
	}
	if k2, err = hkdf.Expand(s.KDFHash, prk, string(info2), s.KeyLen); err != nil {
		clear(k1)
		return nil, nil, err
	}
	return k1, k2, nil
}
