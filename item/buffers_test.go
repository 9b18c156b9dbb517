package item

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// TestSetValueIsMarshal: the engine's shortcut for strings and binaries
// gives exactly attr.Marshal's bytes, and its errors, for every type.
func TestSetValueIsMarshal(t *testing.T) {
	t.Parallel()
	values := []attr.Value{attr.S("\xff not UTF-8"), attr.S(""), attr.B(nil), attr.N("1.0x")}
	for _, v := range richItem("pk") {
		values = append(values, v)
	}
	for _, v := range values {
		var f field
		err := f.setValue(v)
		want, wantErr := attr.Marshal(v)
		if got := append(f.data, f.text...); (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) || f.hasText && f.data != nil {
			t.Errorf("setValue(%#v) = %x, %v; attr.Marshal = %x, %v", v, got, err, want, wantErr)
		}
	}
}

// TestCanonicalHashOfText: a plaintext string hashed from the string (in
// chunks) hashes as its bytes do, whatever its length.
func TestCanonicalHashOfText(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 255, 256, 257, 1000} {
		s := attr.S(strings.Repeat("ü", n))
		text := field{name: "a", path: []byte("path"), legend: legendSign, typeID: attr.TypeS, text: s, hasText: true}
		data := text
		data.text, data.hasText, data.data = "", false, []byte(s)
		if canonicalHash([]byte("head"), nil, []field{text}) != canonicalHash([]byte("head"), nil, []field{data}) {
			t.Errorf("a %d-byte string hashes differently from its bytes", len(s))
		}
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

// TestEncryptFieldsInPlace: a string sealed in place (copied to where its
// ciphertext goes) opens to the string under its type id, like a binary
// sealed from its own bytes, and no plaintext is left in the output.
func TestEncryptFieldsInPlace(t *testing.T) {
	t.Parallel()
	s, _ := materials.SuiteByID(materials.SuiteSymSig)
	keys := new(itemKeys)
	if err := keys.derive(s, secret.New(bytes.Repeat([]byte{7}, 32)), bytes.Repeat([]byte{9}, msgIDLen)); err != nil {
		t.Fatal(err)
	}
	plain := []attr.Value{attr.S(canary), attr.B(canary + "-bytes"), attr.S(""), attr.S(strings.Repeat(canary, 50))}
	var fs []field
	for i, v := range plain {
		f := field{name: fmt.Sprint(i), path: canonicalPath("t", fmt.Sprint(i)), legend: legendEncrypt, typeID: v.TypeID()}
		if str, ok := v.(attr.S); ok {
			f.text, f.hasText = str, true
		} else {
			f.data = v.(attr.B)
		}
		fs = append(fs, f)
	}
	if _, err := encryptFields(nil, keys, fs); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		if f.typeID != attr.TypeB || f.text != "" || bytes.Contains(f.data, []byte(canary)) {
			t.Fatalf("field %d: type %#x, text %q, data %x", i, f.typeID, f.text, f.data)
		}
		typeID, got, err := keys.open(nil, i, f.path, f.data)
		if err != nil {
			t.Fatalf("field %d: %v", i, err)
		}
		want, _ := attr.Marshal(plain[i])
		if typeID != plain[i].TypeID() || !bytes.Equal(got, want) {
			t.Errorf("field %d opens to %#x %q, want %#x %q", i, typeID, got, plain[i].TypeID(), want)
		}
	}
}

// TestContextValueV1IsMarshalTyped: the version 1 context value built on
// the stack is base64 of attr.MarshalTyped, for every type.
func TestContextValueV1IsMarshalTyped(t *testing.T) {
	t.Parallel()
	values := []attr.Value{attr.S("\xff not UTF-8"), attr.S(strings.Repeat("long ", 40)), attr.N("1.0x")}
	for _, v := range richItem("pk") {
		values = append(values, v)
	}
	for _, v := range values {
		got, err := contextValueV1(v)
		typed, wantErr := attr.MarshalTyped(v)
		if (err != nil) != (wantErr != nil) || err == nil && got != base64.StdEncoding.EncodeToString(typed) {
			t.Errorf("contextValueV1(%#v) = %q, %v; MarshalTyped = %x, %v", v, got, err, typed, wantErr)
		}
	}
}
