// Package awskms implements the MPL AWS KMS keyring and its multi-Region
// key (MRK) aware variant for the DB-ESDK algorithm suites, against a small
// Client interface rather than the AWS SDK: package kmssdk maps Client onto
// aws-sdk-go-v2's *kms.Client (and sends grant tokens), and kmstest holds an
// in-process fake.
//
// The DB-ESDK suites use intermediate key wrapping, and the MPL then always
// takes the "generate and wrap" path (EdkWrapping.dfy, IntermediateKeyWrapping.dfy):
//
//   - OnEncrypt calls KMS GenerateDataKey (NumberOfBytes = suite key length,
//     the materials' full encryption context) once per EDK, whether or not the
//     materials already hold a data key. KMS's plaintext is the intermediate
//     key; the data key itself is drawn locally when absent. KMS Encrypt is
//     never called.
//   - The EDK is provider id "aws-kms", provider info the key ARN KMS
//     reported, and ciphertext the data key wrapped under the intermediate key
//     (suite key length + 16 bytes) followed by KMS's CiphertextBlob.
//   - OnDecrypt considers only "aws-kms" EDKs; one whose provider info is not
//     an AWS KMS key ARN fails the call (aws-kms-keyring.md). Of the rest it
//     tries, in order, those whose provider info equals the configured key
//     identifier (New) or MRK-matches it (NewMRK), calling KMS Decrypt with
//     KeyId set to the configured identifier, and accepts a response only if
//     its KeyId equals that identifier and its plaintext has the suite key
//     length.
//
// The keyring promises: OnEncrypt leaves the materials untouched when it
// fails (it sets a data key only if it generated one and everything
// succeeded); OnDecrypt sets the materials only on success and otherwise
// returns an error wrapping materials.ErrNoDecryptableKey; no error carries
// key bytes. A keyring configured with an alias or bare key id can encrypt
// but, as in the MPL, decrypts nothing: EDKs record key ARNs. Grant tokens
// belong to the Client adapter (kmssdk.New).
package awskms

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"unicode/utf8"

	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// ProviderID is the EDK key provider id of AWS KMS keyrings.
const ProviderID = "aws-kms"

// maxCiphertextLen is the largest CiphertextBlob KMS accepts.
const maxCiphertextLen = 6144

// Client is the part of AWS KMS the keyring calls. keyIDUsed is the response
// KeyId: the ARN of the key KMS used. Implementations must be safe for
// concurrent use; the keyring zeroes returned plaintexts after use.
type Client interface {
	GenerateDataKey(ctx context.Context, keyID string, numBytes int, ec map[string]string) (plaintext, ciphertext []byte, keyIDUsed string, err error)
	Decrypt(ctx context.Context, keyID string, ciphertext []byte, ec map[string]string) (plaintext []byte, keyIDUsed string, err error)
}

var _ materials.Keyring = (*Keyring)(nil)

// Keyring is an AWS KMS keyring for one KMS key. It is safe for concurrent
// use.
type Keyring struct {
	keyID  string
	client Client
	match  func(configured, stored string) bool
}

// New returns an AWS KMS keyring (aws-kms-keyring.md) for keyID, a KMS key
// ARN, alias or key id. It decrypts only EDKs whose provider info equals
// keyID.
func New(keyID string, client Client) (*Keyring, error) {
	return build(keyID, client, exactMatch)
}

// NewMRK returns an AWS KMS MRK keyring (aws-kms-mrk-keyring.md): like New,
// but it also decrypts EDKs written under a replica of keyID in another
// region, through keyID.
func NewMRK(keyID string, client Client) (*Keyring, error) {
	return build(keyID, client, mrkMatch)
}

func build(keyID string, client Client, match func(string, string) bool) (*Keyring, error) {
	if client == nil {
		return nil, errors.New("awskms: KMS client is nil")
	}
	if err := checkIdentifier(keyID); err != nil {
		return nil, err
	}
	return &Keyring{keyID: keyID, client: client, match: match}, nil
}

// String names the keyring.
func (k *Keyring) String() string { return "awskms(" + k.keyID + ")" }

// OnEncrypt implements materials.Keyring: it generates m.DataKey if it is
// zero and appends one EDK and its signing key.
func (k *Keyring) OnEncrypt(ctx context.Context, m *materials.Encryption) error {
	kmsEC, err := checkMaterials(m.Suite, m.Context)
	if err != nil {
		return err
	}
	return m.AddRecipient(func(dataKey secret.Bytes) (materials.EDK, secret.Bytes, error) {
		return k.wrap(ctx, m.Suite, dataKey, m.Context, kmsEC)
	})
}

// wrap asks KMS for an intermediate key and wraps dataKey under it.
func (k *Keyring) wrap(ctx context.Context, s materials.Suite, dataKey secret.Bytes, ec materials.Context, kmsEC map[string]string) (materials.EDK, secret.Bytes, error) {
	intermediate, blob, keyARN, err := k.generate(ctx, s, kmsEC)
	if err != nil {
		return materials.EDK{}, secret.Bytes{}, err
	}
	defer intermediate.Zero()
	aad, err := ec.AAD()
	if err != nil {
		return materials.EDK{}, secret.Bytes{}, fmt.Errorf("awskms: %w", err)
	}
	wrappedDK, sig, err := materials.IntermediateWrap(s, dataKey, intermediate, aad)
	if err != nil {
		return materials.EDK{}, secret.Bytes{}, fmt.Errorf("awskms: %w", err)
	}
	return materials.EDK{
		ProviderID:   ProviderID,
		ProviderInfo: []byte(keyARN),
		Ciphertext:   append(wrappedDK, blob...),
	}, sig, nil
}

// generate calls GenerateDataKey and validates the response.
func (k *Keyring) generate(ctx context.Context, s materials.Suite, kmsEC map[string]string) (secret.Bytes, []byte, string, error) {
	pt, blob, keyARN, err := k.client.GenerateDataKey(ctx, k.keyID, s.KeyLen, kmsEC)
	intermediate := secret.New(pt)
	if err != nil {
		intermediate.Zero()
		return secret.Bytes{}, nil, "", fmt.Errorf("awskms: GenerateDataKey with %s: %w", k.keyID, err)
	}
	if err := checkGenerated(s, intermediate, blob, keyARN); err != nil {
		intermediate.Zero()
		return secret.Bytes{}, nil, "", err
	}
	return intermediate, blob, keyARN, nil
}

func checkGenerated(s materials.Suite, pt secret.Bytes, blob []byte, keyARN string) error {
	const prefix = "awskms: invalid GenerateDataKey response: "
	if _, err := parseKeyARN(keyARN); err != nil || !utf8.ValidString(keyARN) || len(keyARN) > 0xFFFF {
		return errors.New(prefix + "KeyId is not an AWS KMS key ARN")
	}
	if pt.Len() != s.KeyLen {
		return fmt.Errorf(prefix+"plaintext is %d bytes, want %d", pt.Len(), s.KeyLen)
	}
	if len(blob) == 0 || len(blob) > maxCiphertextLen {
		return fmt.Errorf(prefix+"ciphertext blob is %d bytes", len(blob))
	}
	return nil
}

// OnDecrypt implements materials.Keyring.
func (k *Keyring) OnDecrypt(ctx context.Context, m *materials.Decryption, edks []materials.EDK) error {
	if !m.DataKey.IsZero() {
		return materials.ErrDataKeyPresent
	}
	kmsEC, err := checkMaterials(m.Suite, m.Context)
	if err != nil {
		return err
	}
	candidates, err := k.filter(edks)
	if err != nil {
		return err
	}
	if len(candidates) == 0 {
		return fmt.Errorf("awskms: %w: no EDK for %s", materials.ErrNoDecryptableKey, k.keyID)
	}
	var errs []error
	for _, i := range candidates {
		dk, sig, err := k.unwrap(ctx, m.Suite, edks[i].Ciphertext, m.Context, kmsEC)
		if err == nil {
			m.DataKey, m.SigningKey, m.EDKIndex = dk, sig, i
			return nil
		}
		errs = append(errs, fmt.Errorf("EDK %d: %w", i, err))
	}
	return fmt.Errorf("awskms: %w: %w", materials.ErrNoDecryptableKey, errors.Join(errs...))
}

// filter returns the positions of the EDKs this keyring may try. An
// "aws-kms" EDK whose provider info is not a KMS key ARN fails the call.
func (k *Keyring) filter(edks []materials.EDK) ([]int, error) {
	var idx []int
	for i, e := range edks {
		if e.ProviderID != ProviderID {
			continue
		}
		info := string(e.ProviderInfo)
		if _, err := parseKeyARN(info); err != nil || !utf8.ValidString(info) {
			return nil, fmt.Errorf("awskms: %w: EDK %d provider info is not an AWS KMS key ARN", materials.ErrNoDecryptableKey, i)
		}
		if k.match(k.keyID, info) {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// unwrap has KMS decrypt the intermediate key, then decrypts the data key.
func (k *Keyring) unwrap(ctx context.Context, s materials.Suite, ct []byte, ec materials.Context, kmsEC map[string]string) (secret.Bytes, secret.Bytes, error) {
	none := secret.Bytes{}
	prefix := s.WrappedDataKeyLen()
	if len(ct) <= prefix || len(ct)-prefix > maxCiphertextLen {
		return none, none, errors.New("awskms: EDK ciphertext has the wrong length")
	}
	pt, keyARN, err := k.client.Decrypt(ctx, k.keyID, ct[prefix:], kmsEC)
	intermediate := secret.New(pt)
	defer intermediate.Zero()
	if err != nil {
		return none, none, fmt.Errorf("awskms: Decrypt with %s: %w", k.keyID, err)
	}
	if keyARN != k.keyID {
		return none, none, errors.New("awskms: invalid Decrypt response: KeyId is not the configured key")
	}
	if intermediate.Len() != s.KeyLen {
		return none, none, fmt.Errorf("awskms: invalid Decrypt response: plaintext is %d bytes, want %d", intermediate.Len(), s.KeyLen)
	}
	aad, err := ec.AAD()
	if err != nil {
		return none, none, fmt.Errorf("awskms: %w", err)
	}
	dk, sig, err := materials.IntermediateUnwrap(s, ct[:prefix], intermediate, aad)
	if err != nil {
		return none, none, fmt.Errorf("awskms: %w", err)
	}
	return dk, sig, nil
}

// checkMaterials checks the suite and returns the encryption context as KMS
// takes it: a copy, every key and value valid UTF-8.
func checkMaterials(s materials.Suite, ec materials.Context) (map[string]string, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	for k, v := range ec {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, errors.New("awskms: encryption context is not valid UTF-8")
		}
	}
	out := maps.Clone(map[string]string(ec))
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}
