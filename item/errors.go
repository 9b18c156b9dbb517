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
