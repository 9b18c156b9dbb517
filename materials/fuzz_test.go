package materials_test

import (
	"bytes"
	"testing"

	"github.com/sealstore/sealstore/materials"
)

// FuzzParseContext checks that ParseContext never panics and that whatever it
// accepts is canonical: re-serializing the context gives back exactly the
// bytes it consumed, so no two encodings parse to the same context.
func FuzzParseContext(f *testing.F) {
	for _, tc := range serializeCases {
		b, err := tc.ec.Serialize()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(b, 0xff, 0))
		if len(b) > 3 {
			f.Add(b[:len(b)-1])
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0xff})
	f.Add([]byte{0, 2, 0, 1, 'b', 0, 0, 0, 1, 'a', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ec, rest, err := materials.ParseContext(b)
		if err != nil {
			if ec != nil || rest != nil {
				t.Fatal("ParseContext returned values with an error")
			}
			return
		}
		if len(rest) > len(b) || !bytes.Equal(b[len(b)-len(rest):], rest) {
			t.Fatalf("rest %x is not a suffix of the input %x", rest, b)
		}
		consumed := b[:len(b)-len(rest)]
		if n := int(consumed[0])<<8 | int(consumed[1]); n != len(ec) {
			t.Fatalf("count field %d, parsed %d entries", n, len(ec))
		}
		again, err := ec.Serialize()
		if err != nil {
			t.Fatalf("accepted context does not serialize: %v", err)
		}
		if !bytes.Equal(again, consumed) {
			t.Fatalf("non-canonical: consumed %x, re-serialized %x", consumed, again)
		}
	})
}
