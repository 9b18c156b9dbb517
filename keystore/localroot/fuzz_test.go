package localroot

import (
	"bytes"
	"context"
	"testing"
)

// FuzzUnwrap checks that Unwrap never panics on arbitrary bytes and that
// the only wrapped value it accepts under a context is the one Wrap made
// (any change to a wrapped key is refused).
func FuzzUnwrap(f *testing.F) {
	k := Generate()
	ec := map[string]string{"branch-key-id": "b", "type": "branch:ACTIVE"}
	good, err := k.NewKey(context.Background(), ec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{formatV1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		key, err := k.Unwrap(context.Background(), wrapped, ec)
		if err != nil {
			return
		}
		if !bytes.Equal(wrapped, good) {
			t.Fatalf("Unwrap accepted %x, which Wrap did not make", wrapped)
		}
		if key.Len() != newKeyLen {
			t.Fatalf("unwrapped a %d-byte key", key.Len())
		}
	})
}
