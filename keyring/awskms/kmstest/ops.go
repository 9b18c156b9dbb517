package kmstest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// blobVersion starts every ciphertext blob: version (1) | ARN length (u16)
// | ARN | nonce (12) | AES-GCM ciphertext and tag.
const blobVersion = 1

// GenerateDataKey returns numBytes (1 to 1024) random bytes and their blob
// under keyID, and keyID as the key used.
func (k *KMS) GenerateDataKey(ctx context.Context, keyID string, numBytes int, ec map[string]string) ([]byte, []byte, string, error) {
	if err := k.begin(ctx, OpGenerateDataKey); err != nil {
		return nil, nil, "", err
	}
	if numBytes < 1 || numBytes > 1024 {
		return nil, nil, "", fmt.Errorf("%w: NumberOfBytes %d", ErrValidation, numBytes)
	}
	pt := make([]byte, numBytes)
	rand.Read(pt)
	blob, err := k.seal(keyID, pt, ec)
	if err != nil {
		return nil, nil, "", err
	}
	return pt, blob, keyID, nil
}

// Encrypt returns the blob of plaintext (1 to 4096 bytes) under keyID.
func (k *KMS) Encrypt(ctx context.Context, keyID string, plaintext []byte, ec map[string]string) ([]byte, string, error) {
	if err := k.begin(ctx, OpEncrypt); err != nil {
		return nil, "", err
	}
	if len(plaintext) < 1 || len(plaintext) > 4096 {
		return nil, "", fmt.Errorf("%w: plaintext is %d bytes", ErrValidation, len(plaintext))
	}
	blob, err := k.seal(keyID, plaintext, ec)
	if err != nil {
		return nil, "", err
	}
	return blob, keyID, nil
}

// Decrypt opens blob with keyID (the blob's own key if keyID is empty)
// under ec, and returns the plaintext and the ARN of the key used.
func (k *KMS) Decrypt(ctx context.Context, keyID string, blob []byte, ec map[string]string) ([]byte, string, error) {
	if err := k.begin(ctx, OpDecrypt); err != nil {
		return nil, "", err
	}
	blobARN, sealed, err := parseBlob(blob)
	if err != nil {
		return nil, "", err
	}
	if keyID == "" {
		keyID = blobARN
	}
	id, material, err := k.key(keyID)
	if err != nil {
		return nil, "", err
	}
	if blobID, err := identity(blobARN); err != nil || blobID != id {
		return nil, "", ErrIncorrectKey
	}
	ad, err := aad(id, ec)
	if err != nil {
		return nil, "", err
	}
	pt, err := open(material, sealed, ad)
	if err != nil {
		return nil, "", err
	}
	return pt, keyID, nil
}

func (k *KMS) seal(keyID string, pt []byte, ec map[string]string) ([]byte, error) {
	id, material, err := k.key(keyID)
	if err != nil {
		return nil, err
	}
	ad, err := aad(id, ec)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(material)
	if err != nil {
		return nil, err
	}
	blob := []byte{blobVersion}
	blob = binary.BigEndian.AppendUint16(blob, uint16(len(keyID)))
	blob = append(blob, keyID...)
	return aead.Seal(blob, nil, pt, ad), nil
}

func open(material secret.Bytes, sealed, aad []byte) ([]byte, error) {
	aead, err := gcm(material)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nil, sealed, aad)
	if err != nil {
		return nil, ErrInvalidCiphertext
	}
	return pt, nil
}

func parseBlob(blob []byte) (arn string, sealed []byte, err error) {
	if len(blob) < 3 || blob[0] != blobVersion {
		return "", nil, ErrInvalidCiphertext
	}
	n := int(binary.BigEndian.Uint16(blob[1:]))
	if len(blob)-3 < n {
		return "", nil, ErrInvalidCiphertext
	}
	return string(blob[3 : 3+n]), blob[3+n:], nil
}

// aad binds a blob to its key identity and encryption context.
func aad(id string, ec map[string]string) ([]byte, error) {
	b, err := materials.Context(ec).Serialize()
	if err != nil {
		return nil, fmt.Errorf("%w: encryption context: %w", ErrValidation, err)
	}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(id)))
	return append(append(out, id...), b...), nil
}

func gcm(key secret.Bytes) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key.InsecureBytes())
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}
