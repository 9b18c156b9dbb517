package materials

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ParseEDKs reads the serialized EDK list from the front of b (a 1-byte
// count, then for each EDK its 2-byte-length-prefixed provider id, provider
// info and ciphertext) and returns the rest. A list must hold at least one
// EDK.
func ParseEDKs(b []byte) ([]EDK, []byte, error) {
	if len(b) < 1 || b[0] == 0 {
		return nil, nil, errors.New("materials: no encrypted data keys")
	}
	n := int(b[0])
	b = b[1:]
	edks := make([]EDK, 0, n)
	for range n {
		var f [3][]byte
		for i := range f {
			var ok bool
			if f[i], b, ok = cut16(b); !ok {
				return nil, nil, errors.New("materials: encrypted data key is truncated")
			}
		}
		edks = append(edks, EDK{ProviderID: string(f[0]), ProviderInfo: f[1], Ciphertext: f[2]})
	}
	return edks, b, nil
}

// AppendEDKs appends the serialized EDK list to b.
func AppendEDKs(b []byte, edks []EDK) ([]byte, error) {
	if len(edks) == 0 || len(edks) > 255 {
		return nil, fmt.Errorf("materials: %d encrypted data keys (1 to 255 allowed)", len(edks))
	}
	b = append(b, byte(len(edks)))
	for _, e := range edks {
		for _, f := range [][]byte{[]byte(e.ProviderID), e.ProviderInfo, e.Ciphertext} {
			if len(f) > 0xFFFF {
				return nil, errors.New("materials: encrypted data key field longer than 65535 bytes")
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
			b = append(b, f...)
		}
	}
	return b, nil
}
