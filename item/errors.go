package item

import (
	"errors"
	"fmt"
)

// ErrInvalidItem is wrapped by every Encrypt error about the item given
// (a missing key attribute, an attribute without an action, a reserved
// name, a value DynamoDB would refuse): the caller's input, not a fault.
var ErrInvalidItem = errors.New("item: invalid item")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidItem}, args...)...)
}

// ErrDecrypt is the one error a caller sees for any item that fails to
// authenticate or decrypt: a bad header, footer, commitment, tag, signature,
// ciphertext or a key that cannot be unwrapped. Reason gives the cause for
// metrics and debug logs; the error text never does.
var ErrDecrypt = errors.New("item: decryption failed")

type decryptError struct {
	reason string
	cause  error
}

func (e *decryptError) Error() string { return ErrDecrypt.Error() }

func (e *decryptError) Is(target error) bool { return target == ErrDecrypt }

// The reason codes of decryption errors.
const (
	reasonNotEncrypted = "not_encrypted" // no header or footer attribute
	reasonHeader       = "header"        // the header does not parse
	reasonFooter       = "footer"        // the footer does not parse
	reasonAttribute    = "attribute"     // a signed attribute is unreadable, or an encrypted one not binary
	reasonLegend       = "legend"        // the signed attributes do not match the header's legend
	reasonContext      = "context"       // the encryption context cannot be rebuilt, or disagrees with the header
	reasonUnwrap       = "unwrap"        // the keyring could not unwrap the data key
	reasonCommitment   = "commitment"    // the header's key commitment does not match
	reasonRecipientTag = "recipient_tag" // the footer's HMAC does not match
	reasonSignature    = "signature"     // the ECDSA signature does not verify
	reasonFieldKey     = "field_key"     // a field key cannot be derived
	reasonField        = "field"         // an attribute's ciphertext does not authenticate
	reasonFieldValue   = "field_value"   // a decrypted value is malformed
)

// Reasons lists every reason code Reason can return for a decryption
// error, so that a metric can be exported at zero for each before the
// first failure.
func Reasons() []string {
	return []string{reasonNotEncrypted, reasonHeader, reasonFooter, reasonAttribute, reasonLegend,
		reasonContext, reasonUnwrap, reasonCommitment, reasonRecipientTag, reasonSignature,
		reasonFieldKey, reasonField, reasonFieldValue}
}

func failDecrypt(reason string, cause error) error {
	return &decryptError{reason: reason, cause: cause}
}

// Reason returns a short, fixed reason code for a decryption error, safe as
// a metric label ("" if err is not one).
func Reason(err error) string {
	var de *decryptError
	if errors.As(err, &de) {
		return de.reason
	}
	return ""
}

// Cause returns the internal error behind a decryption failure, for debug
// logs. It never holds plaintext or key bytes.
func Cause(err error) error {
	var de *decryptError
	if errors.As(err, &de) {
		return de.cause
	}
	return nil
}
