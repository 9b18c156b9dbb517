package kmsroot

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/materials"
)

// errNoResponse is a KMS client that returned neither a response nor an
// error.
var errNoResponse = errors.New("KMS client returned no response")

// classify wraps the error of KMS call op in keystore.ErrUnwrap (the
// ciphertext is not ours: retrying will not help) or
// materials.ErrUnavailable (anything else: try later).
func classify(op string, err error) error {
	// A response body the SDK could not parse may hold a plaintext key.
	if de, ok := errors.AsType[*smithy.DeserializationError](err); ok {
		clear(de.Snapshot)
		de.Snapshot = nil
	}
	if errors.Is(err, keystore.ErrUnwrap) {
		return fmt.Errorf("kmsroot: %s: %w", op, err)
	}
	if isWrongCiphertext(err) || refusedStoredInput(op, err) {
		return fmt.Errorf("kmsroot: KMS %s: %w: %w", op, keystore.ErrUnwrap, err)
	}
	return fmt.Errorf("kmsroot: KMS %s: %w: %w", op, materials.ErrUnavailable, err)
}

// refusedStoredInput reports a ValidationException from a call whose input
// came from the key store (Decrypt and ReEncrypt send a stored ciphertext
// and a context built from a stored item): an entry KMS will never accept
// is damaged or forged, a 500, not an outage to retry. Other refusals — a
// disabled, missing or inaccessible key — stay unavailable: nothing is
// wrong with the stored data, and the service recovers once an operator
// re-enables the key or restores the permission.
func refusedStoredInput(op string, err error) bool {
	api, ok := errors.AsType[smithy.APIError](err)
	return ok && api.ErrorCode() == "ValidationException" && (op == OpDecrypt || op == OpReEncrypt)
}

// isWrongCiphertext reports whether KMS refused a ciphertext as not
// authenticating under the encryption context given, or as made under
// another key than the one named.
func isWrongCiphertext(err error) bool {
	_, invalid := errors.AsType[*types.InvalidCiphertextException](err)
	_, incorrect := errors.AsType[*types.IncorrectKeyException](err)
	return invalid || incorrect
}
