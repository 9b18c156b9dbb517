package conformance

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
)

// vectorsDir returns the folder of the DB-ESDK cross-language vectors:
// $SEALSTORE_DBESDK_VECTORS, or testdata/dbesdk in the repository.
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SEALSTORE_DBESDK_VECTORS")
	if dir == "" {
		dir = "../testdata/dbesdk"
	}
	if _, err := os.Stat(filepath.Join(dir, "keys.json")); err != nil {
		t.Fatalf("DB-ESDK vectors not found (set SEALSTORE_DBESDK_VECTORS): %v", err)
	}
	return dir
}

func TestSharedVectors(t *testing.T) {
	dir := vectorsDir(t)
	keys, err := LoadKeys(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"decrypt_java_32.json", "decrypt_java_33.json", "iotest.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "runtimes/java", name))
			if err != nil {
				t.Fatal(err)
			}
			cases, err := ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(cases) == 0 {
				t.Fatal("manifest holds no decrypt tests")
			}
			for _, r := range Run(context.Background(), keys, cases) {
				if r.Outcome != Passed {
					t.Errorf("%s: outcome %d: %s", r.Case, r.Outcome, r.Reason)
				}
			}
			t.Logf("%d cases passed", len(cases))
		})
	}
}

// positiveCases returns the positive cases of all three real manifests.
func positiveCases(t *testing.T) []Case {
	t.Helper()
	var out []Case
	for _, file := range []string{"decrypt_java_32.json", "decrypt_java_33.json", "iotest.json"} {
		for _, c := range parseVector(t, file) {
			if c.Positive {
				c.Name = file + " " + c.Name
				out = append(out, c)
			}
		}
	}
	if len(out) != 21 {
		t.Fatalf("%d positive cases, want 21", len(out))
	}
	return out
}

// tampered returns a copy of c with its items copied, for editing.
func tampered(c Case, what string) Case {
	c.Name += " / " + what
	c.Encrypted = maps.Clone(c.Encrypted)
	c.Plaintext = maps.Clone(c.Plaintext)
	c.config.AttributeActionsOnEncrypt = maps.Clone(c.config.AttributeActionsOnEncrypt)
	return c
}

// flipped returns a copy of b with bit (i mod 8) of byte i inverted.
func flipped(b attr.B, i int) attr.B {
	out := slices.Clone(b)
	out[i] ^= 1 << (i % 8)
	return out
}

// tamperings returns edits of a positive case that must all make it fail.
func tamperings(c Case) []Case {
	var out []Case
	for _, name := range slices.Sorted(maps.Keys(c.Encrypted)) {
		v := c.Encrypted[name]
		if b, ok := v.(attr.B); ok {
			x := tampered(c, "flip a byte of "+name)
			x.Encrypted[name] = flipped(b, len(b)/2)
			out = append(out, x)
		}
		x := tampered(c, "drop "+name)
		delete(x.Encrypted, name)
		out = append(out, x)
		if name != item.HeaderAttr && name != item.FooterAttr {
			x = tampered(c, "expect a different "+name)
			x.Plaintext[name] = attr.S("tampered")
			out = append(out, x)
			x = tampered(c, "expect no "+name)
			delete(x.Plaintext, name)
			out = append(out, x)
		}
	}
	if n, ok := c.Encrypted["RecNum"].(attr.N); ok {
		x := tampered(c, "change the signed RecNum")
		x.Encrypted["RecNum"] = n + "0"
		out = append(out, x)
	}
	x := tampered(c, "add an unsigned attribute")
	x.Encrypted["Extra"] = attr.S("x")
	out = append(out, x)
	x = tampered(c, "expect an extra attribute")
	x.Plaintext["Extra"] = attr.S("x")
	out = append(out, x)
	x = tampered(c, "change the table name")
	x.config.LogicalTableName = "OtherVectorTable"
	out = append(out, x)
	if st, ok := c.Encrypted["Stuff"].(attr.B); ok {
		if jk, ok := c.Encrypted["Junk"].(attr.B); ok {
			x = tampered(c, "swap Stuff and Junk")
			x.Encrypted["Stuff"], x.Encrypted["Junk"] = jk, st
			out = append(out, x)
		}
	}
	return out
}

func TestTamperedPositivesFail(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	var all []Case
	for _, c := range positiveCases(t) {
		all = append(all, tamperings(c)...)
	}
	results := Run(context.Background(), keys, all)
	if len(results) != len(all) {
		t.Fatalf("%d results for %d cases", len(results), len(all))
	}
	for i, r := range results {
		if r.Case != all[i].Name {
			t.Errorf("result %d is for %q, want %q", i, r.Case, all[i].Name)
		}
		if r.Outcome != Failed || r.Reason == "" {
			t.Errorf("%s: outcome %d reason %q, want Failed with a reason", r.Case, r.Outcome, r.Reason)
		}
		if strings.HasPrefix(r.Reason, "config:") {
			t.Errorf("%s: failed in its config (%s), want in decryption or comparison", r.Case, r.Reason)
		}
	}
}

// TestSwapAttributesBetweenItems moves an encrypted attribute, the header
// or the footer of one stored item into another made with the same key.
func TestSwapAttributesBetweenItems(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	cases := parseVector(t, "decrypt_java_33.json")
	var all []Case
	for _, pair := range [][2]string{{"1", "6"}, {"6", "1"}, {"7", "9"}, {"11", "1"}, {"1", "11"}} {
		dst, src := caseNamed(t, cases, pair[0]), caseNamed(t, cases, pair[1])
		for _, name := range []string{item.HeaderAttr, item.FooterAttr, "Stuff", "Junk"} {
			x := tampered(dst, name+" from test "+src.Name)
			x.Encrypted[name] = src.Encrypted[name]
			all = append(all, x)
		}
	}
	for _, r := range Run(context.Background(), keys, all) {
		if r.Outcome != Failed {
			t.Errorf("%s: outcome %d, want Failed", r.Case, r.Outcome)
		}
	}
}

// TestEveryByteFlipFails flips one bit in every byte, and truncates at every
// length, every binary attribute of one case per suite and format version.
func TestEveryByteFlipFails(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	cases := parseVector(t, "decrypt_java_33.json")
	for _, name := range []string{"6", "7", "11"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := caseNamed(t, cases, name)
			enc, err := c.encryptor(keys)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := enc.Decrypt(ctx, c.Encrypted); err != nil {
				t.Fatalf("untouched item: %v", err)
			}
			for attrName, v := range c.Encrypted {
				b, ok := v.(attr.B)
				if !ok {
					continue
				}
				for i := range b {
					for _, bad := range []attr.B{flipped(b, i), b[:i]} {
						x := maps.Clone(c.Encrypted)
						x[attrName] = bad
						if _, err := enc.Decrypt(ctx, x); !errors.Is(err, item.ErrDecrypt) {
							t.Fatalf("%s edited at byte %d (len %d): error %v, want ErrDecrypt", attrName, i, len(bad), err)
						}
					}
				}
			}
		})
	}
}

// TestWrongBranchKeyFails runs the real vectors with a keys manifest whose
// static-branch-key-1 holds other key bytes.
func TestWrongBranchKeyFails(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	wrong := &Keys{entries: maps.Clone(keys.entries)}
	e := wrong.entries[DefaultBranchKey]
	e.BranchKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	wrong.entries[DefaultBranchKey] = e
	for _, r := range Run(context.Background(), wrong, positiveCases(t)) {
		if r.Outcome != Failed || !strings.HasPrefix(r.Reason, "decrypt:") {
			t.Errorf("%s: outcome %d reason %q, want a decryption failure", r.Case, r.Outcome, r.Reason)
		}
	}
}
