package item

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"

	"github.com/sealstore/sealstore/materials"
)

// newSigningKey returns a fresh ECDSA P-384 key and its compressed public
// point in base64, the value of aws-crypto-public-key.
func newSigningKey() (*ecdsa.PrivateKey, string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	pub, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, "", err
	}
	compressed := append([]byte{0x02 | pub[len(pub)-1]&1}, pub[1:1+48]...)
	return k, base64.StdEncoding.EncodeToString(compressed), nil
}

// sign signs the canonical hash with ECDSA-SHA384. Every DB-ESDK
// implementation writes a 103-byte DER signature, so signatures of other
// lengths are drawn again.
func sign(k *ecdsa.PrivateKey, hash []byte) ([]byte, error) {
	digest := sha512.Sum384(hash)
	for range 64 {
		sig, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
		if err != nil {
			return nil, err
		}
		if len(sig) == sigLen {
			return sig, nil
		}
	}
	return nil, errors.New("item: no signature of the expected length")
}

// verify checks an ECDSA-SHA384 signature over the canonical hash with the
// public key from the encryption context.
func verify(pubB64 string, hash, sig []byte) bool {
	compressed, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil {
		return false
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P384(), compressed)
	if x == nil {
		return false
	}
	uncompressed := make([]byte, 1+2*48)
	uncompressed[0] = 4
	x.FillBytes(uncompressed[1:49])
	y.FillBytes(uncompressed[49:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), uncompressed)
	if err != nil {
		return false
	}
	digest := sha512.Sum384(hash)
	return ecdsa.VerifyASN1(pub, digest[:], sig)
}

type signingKey struct {
	key *ecdsa.PrivateKey
}

// addSigningKey adds a fresh public key to the context for a signing suite,
// as the MPL default CMM does.
func (e *Encryptor) addSigningKey(m *materials.Encryption) (*signingKey, error) {
	if !e.suite.Signed {
		return nil, nil
	}
	k, pub, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	m.Context[ecPublicKey] = pub
	return &signingKey{key: k}, nil
}
