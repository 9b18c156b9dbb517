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

// footer is the parsed aws_dbe_foot attribute.
type footer struct {
	tags      [][]byte
	signature []byte
}

func parseFooter(b []byte, edks int, signed bool) (footer, error) {
	want := edks * tagLen
	if signed {
		want += sigLen
	}
	if len(b) != want {
		return footer{}, errors.New("item: footer has the wrong length")
	}
	var f footer
	for i := range edks {
		f.tags = append(f.tags, b[i*tagLen:(i+1)*tagLen])
	}
	if signed {
		f.signature = b[edks*tagLen:]
	}
	return f, nil
}

func (f footer) bytes() []byte {
	b := make([]byte, 0, len(f.tags)*tagLen+len(f.signature))
	for _, t := range f.tags {
		b = append(b, t...)
	}
	return append(b, f.signature...)
}
