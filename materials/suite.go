package materials

import (
	"crypto/sha512"
	"fmt"
	"hash"
)

// SuiteID is a DB-ESDK algorithm suite id.
type SuiteID uint16

// The two algorithm suites for Database Encryption.
const (
	// SuiteSymSig is ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384.
	SuiteSymSig SuiteID = 0x6700
	// SuiteECDSA is ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384.
	SuiteECDSA SuiteID = 0x6701
)

// Suite describes one algorithm suite.
type Suite struct {
	ID SuiteID
	// Signed is true when the footer carries an ECDSA P-384 signature.
	Signed bool
	// KeyLen is the data key and derived key length in bytes.
	KeyLen int
	// KDFHash is the HKDF hash for data key, commit key and intermediate
	// key derivations.
	KDFHash func() hash.Hash
}

// SuiteByID returns the suite with that id, or an error naming it.
func SuiteByID(id SuiteID) (Suite, error) {
	switch id {
	case SuiteSymSig, SuiteECDSA:
		return Suite{ID: id, Signed: id == SuiteECDSA, KeyLen: 32, KDFHash: sha512.New}, nil
	}
	return Suite{}, fmt.Errorf("materials: unsupported algorithm suite 0x%04x", uint16(id))
}

// SuiteByName maps the MPL enum names (as in the test vectors) to suites.
func SuiteByName(name string) (Suite, error) {
	switch name {
	case "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384", "0x6700", "6700":
		return SuiteByID(SuiteSymSig)
	case "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384", "0x6701", "6701":
		return SuiteByID(SuiteECDSA)
	}
	return Suite{}, fmt.Errorf("materials: unknown algorithm suite %q", name)
}

// Check returns ErrNoSuite for the zero Suite (materials built without
// SuiteByID), which keyrings must refuse rather than derive keys with.
func (s Suite) Check() error {
	if s.KeyLen <= 0 || s.KDFHash == nil {
		return ErrNoSuite
	}
	return nil
}

// Name is the MPL enum name of the suite.
func (s Suite) Name() string {
	if s.Signed {
		return "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"
	}
	return "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384"
}
