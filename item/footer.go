package item

import (
	"errors"
)

const (
	tagLen = 48 // HMAC-SHA384 recipient tag
	// sigLen is the DER ECDSA P-384 signature length every DB-ESDK
	// implementation writes (Footer.dfy SignatureSize; footer.md says 96).
	sigLen = 103
)

// footer is the aws_dbe_foot attribute, checked to have one recipient tag
// per EDK and, for a signing suite, a signature.
type footer struct {
	b    []byte
	edks int
}

func footerLen(edks int, signed bool) int {
	if signed {
		return edks*tagLen + sigLen
	}
	return edks * tagLen
}

func parseFooter(b []byte, edks int, signed bool) (footer, error) {
	if len(b) != footerLen(edks, signed) {
		return footer{}, errors.New("item: footer has the wrong length")
	}
	return footer{b: b, edks: edks}, nil
}

// tag is the recipient tag of the i-th EDK.
func (f footer) tag(i int) []byte { return f.b[i*tagLen : (i+1)*tagLen] }

// signature is the ECDSA signature, empty for a suite without one.
func (f footer) signature() []byte { return f.b[f.edks*tagLen:] }
