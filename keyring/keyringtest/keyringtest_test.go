package keyringtest

import (
	"bytes"
	"testing"

	"github.com/sealstore/sealstore/materials"
)

func TestTamperEDK(t *testing.T) {
	t.Parallel()
	e := materials.EDK{ProviderID: "p", ProviderInfo: []byte("info"), Ciphertext: []byte("ciphertext")}
	orig := materials.EDK{ProviderID: e.ProviderID, ProviderInfo: bytes.Clone(e.ProviderInfo), Ciphertext: bytes.Clone(e.Ciphertext)}
	seen := map[string]bool{}
	TamperEDK(t, e, func(what string, bad materials.EDK) {
		if seen[what] {
			t.Errorf("change %q made twice", what)
		}
		seen[what] = true
		if bad.ProviderID == e.ProviderID && bytes.Equal(bad.ProviderInfo, e.ProviderInfo) && bytes.Equal(bad.Ciphertext, e.Ciphertext) {
			t.Errorf("%s: EDK unchanged", what)
		}
		// Scribble on the bad EDK: e must not share its bytes.
		for _, b := range [][]byte{bad.ProviderInfo, bad.Ciphertext} {
			for i := range b {
				b[i] ^= 0xff
			}
		}
	})
	if e.ProviderID != orig.ProviderID || !bytes.Equal(e.ProviderInfo, orig.ProviderInfo) || !bytes.Equal(e.Ciphertext, orig.Ciphertext) {
		t.Fatal("TamperEDK modified or aliased the EDK")
	}
	// bit flips, plus two cuts per shorter length, plus one extension.
	want := 8*(1+4+10) + 2*(4+10) + 1
	if len(seen) != want {
		t.Fatalf("%d changes, want %d", len(seen), want)
	}
}

func TestOtherContexts(t *testing.T) {
	t.Parallel()
	ref, err := Context().Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(OtherContexts()); n != 3*len(Context())+3 {
		t.Fatalf("%d other contexts", n)
	}
	for name, ec := range OtherContexts() {
		b, err := ec.Serialize()
		if err != nil || bytes.Equal(b, ref) {
			t.Errorf("%s: serializes as the reference context (%v)", name, err)
		}
	}
}

func TestLeakedForm(t *testing.T) {
	t.Parallel()
	key := []byte("CANARY-key\x00\xff")
	for _, out := range []string{
		"x CANARY-key\x00\xff y", `"CANARY-key\x00\xff"`, "43414e4152592d6b657900ff", "Q0FOQVJZLWtleQD/",
		"67 65 78 65 82 89 45 107 101 121 0 255", "only the CANARY",
	} {
		if leakedForm(out, key) == "" {
			t.Errorf("leak in %q not found", out)
		}
	}
	if form := leakedForm("CANARY", []byte("other")); form != "" {
		t.Errorf("canary found as %s for a key without it", form)
	}
}
