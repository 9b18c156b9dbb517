package item

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
)

// TestAppendTerminalIsMarshal: the engine's shortcut for strings and
// binaries gives exactly attr.Marshal's bytes, and its errors, for every
// type.
func TestAppendTerminalIsMarshal(t *testing.T) {
	t.Parallel()
	values := []attr.Value{attr.S("\xff not UTF-8"), attr.S(""), attr.B(nil), attr.N("1.0x")}
	for _, v := range richItem("pk") {
		values = append(values, v)
	}
	buf := []byte("prefix")
	for _, v := range values {
		want, wantErr := attr.Marshal(v)
		var got []byte
		var err error
		buf, got, err = appendTerminal(buf, v)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("appendTerminal(%#v) = %x, %v; attr.Marshal = %x, %v", v, got, err, want, wantErr)
		}
		if _, shared := v.(attr.S); shared && cap(got) != len(got) { // a string's bytes share buf
			t.Errorf("appendTerminal(%#v): capacity %d beyond its length %d", v, cap(got), len(got))
		}
	}
	if !strings.HasPrefix(string(buf), "prefix") {
		t.Errorf("appendTerminal changed the bytes before it: %q", buf)
	}
}

// TestStoredValuesAreSeparate: the binaries Encrypt writes (encrypted
// attributes, header, footer) may share allocations, but none has capacity
// beyond its length, so appending to one never writes into another.
func TestStoredValuesAreSeparate(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		it := smallItem(v, "p1")
		stored := mustEncrypt(t, e, it)
		for name, sv := range stored {
			if b, ok := sv.(attr.B); ok && cap(b) != len(b) {
				t.Errorf("%s: stored %s has capacity %d, length %d", v.name, name, cap(b), len(b))
			}
		}
		before := cloneItem(stored)
		for _, sv := range stored {
			if b, ok := sv.(attr.B); ok {
				_ = append(b, bytes.Repeat([]byte{0xAA}, 64)...)
			}
		}
		assertUnchanged(t, "stored item after appends", before, stored)
		assertSameItem(t, it, mustDecrypt(t, e, stored))
	}
}

// TestConcurrentUse: one Encryptor (and its keyring and cache) used from
// many goroutines at once, each with its own items. Run with -race: the
// canonical paths and context keys New computes are shared by every call.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, s := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		v := variant{name: fmt.Sprintf("%#x/v2", s), suite: s, version: 2}
		e := newEncryptor(t, smallConfig(v))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 10 {
					it := smallItem(v, fmt.Sprintf("p%d-%d", g, i))
					it["secret"] = attr.S(strings.Repeat(fmt.Sprint(g), 100+i))
					got, err := e.Decrypt(context.Background(), mustEncrypt(t, e, it))
					if err != nil {
						t.Errorf("%s: goroutine %d item %d: %v", v.name, g, i, err)
						return
					}
					if !attr.Equal(attr.M(withoutReserved(it)), attr.M(got)) {
						t.Errorf("%s: goroutine %d item %d decrypted to another item", v.name, g, i)
					}
				}
			})
		}
		wg.Wait()
	}
}
