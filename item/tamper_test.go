package item

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"iter"
	"math/big"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// byteTargets are the stored attributes whose bytes the tests attack.
var byteTargets = []string{HeaderAttr, FooterAttr, "secret", "n"}

// mutateEach runs one parallel subtest per variant and byte target,
// decrypting every mutation of that target's bytes; each must fail closed.
// It stops at the first mutation that does not, to keep the log readable.
func mutateEach(t *testing.T, mutations func(b []byte) iter.Seq2[string, []byte]) {
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		stored := mustEncrypt(t, e, smallItem(v, "p1"))
		for _, name := range byteTargets {
			t.Run(v.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				mustDecrypt(t, e, stored)
				for what, b := range mutations(stored[name].(attr.B)) {
					if msg := decryptFailure(e, with(stored, name, attr.B(b))); msg != "" {
						t.Fatalf("%s: %s", what, msg)
					}
				}
			})
		}
	}
}

func TestTamperFlipEveryBit(t *testing.T) {
	t.Parallel()
	mutateEach(t, func(b []byte) iter.Seq2[string, []byte] {
		return func(yield func(string, []byte) bool) {
			for i := range len(b) * 8 {
				if !yield(fmt.Sprintf("bit %d of %d", i, len(b)*8), flipBit(b, i)) {
					return
				}
			}
		}
	})
}

func TestTamperTruncateAndExtend(t *testing.T) {
	t.Parallel()
	mutateEach(t, func(b []byte) iter.Seq2[string, []byte] {
		return func(yield func(string, []byte) bool) {
			for n := range len(b) {
				if !yield(fmt.Sprintf("truncated to %d of %d bytes", n, len(b)), bytes.Clone(b[:n])) {
					return
				}
			}
			for _, extra := range [][]byte{{0}, {0xff}, bytes.Clone(b)} {
				if !yield(fmt.Sprintf("extended by %d bytes", len(extra)), append(bytes.Clone(b), extra...)) {
					return
				}
			}
		}
	})
}

// tamperItems is a stored item and the items an attacker can take parts
// from: another item (partition key p2) and another encryption of the same
// item.
type tamperItems struct {
	stored, other, twin attr.Item
}

func (s tamperItems) b(name string) attr.B { return s.stored[name].(attr.B) }

func TestTamperItem(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		s := tamperItems{
			stored: mustEncrypt(t, e, smallItem(v, "p1")),
			other:  mustEncrypt(t, e, smallItem(v, "p2")),
			twin:   mustEncrypt(t, e, smallItem(v, "p1")),
		}
		for _, c := range []struct {
			name   string
			v2Only bool
			item   func(s tamperItems) attr.Item
		}{
			{"encrypted attribute moved to another item", false, func(s tamperItems) attr.Item {
				return with(s.other, "secret", s.stored["secret"])
			}},
			{"encrypted attribute moved to another encryption of the item", false, func(s tamperItems) attr.Item {
				return with(s.twin, "secret", s.stored["secret"])
			}},
			{"encrypted attributes swapped", false, func(s tamperItems) attr.Item {
				return with(with(s.stored, "secret", s.stored["n"]), "n", s.stored["secret"])
			}},
			{"encrypted attribute renamed", false, func(s tamperItems) attr.Item {
				return with(without(s.stored, "secret"), "other", s.stored["secret"])
			}},
			{"encrypted attribute copied over a SIGN_ONLY one", false, func(s tamperItems) attr.Item {
				return with(s.stored, "sig", s.stored["secret"])
			}},
			{"encrypted attribute as a string", false, func(s tamperItems) attr.Item {
				return with(s.stored, "secret", attr.S(s.b("secret")))
			}},
			{"encrypted attribute replaced by its plaintext", false, func(s tamperItems) attr.Item {
				return with(s.stored, "secret", attr.S(canary))
			}},
			{"encrypted attribute type id changed", false, func(s tamperItems) attr.Item {
				b := bytes.Clone(s.b("secret"))
				b[1] = byte(attr.TypeN)
				return with(s.stored, "secret", attr.B(b))
			}},
			{"partition key changed", false, func(s tamperItems) attr.Item { return with(s.stored, "pk", attr.S("p2")) }},
			{"partition key type changed", false, func(s tamperItems) attr.Item { return with(s.stored, "pk", attr.B("p1")) }},
			{"sort key changed", false, func(s tamperItems) attr.Item { return with(s.stored, "sk", attr.N("8")) }},
			{"sort key type changed", false, func(s tamperItems) attr.Item { return with(s.stored, "sk", attr.S("7")) }},
			{"SIGN_ONLY value changed", false, func(s tamperItems) attr.Item { return with(s.stored, "sig", attr.S("signeD")) }},
			{"SIGN_ONLY type changed", false, func(s tamperItems) attr.Item { return with(s.stored, "count", attr.S("1")) }},
			{"context value changed", true, func(s tamperItems) attr.Item { return with(s.stored, "ctx", attr.N("6")) }},
			{"context type changed", true, func(s tamperItems) attr.Item { return with(s.stored, "ctx", attr.S("5")) }},
			{"context attribute dropped", true, func(s tamperItems) attr.Item { return without(s.stored, "ctx") }},
			{"SIGN_ONLY attribute dropped", false, func(s tamperItems) attr.Item { return without(s.stored, "sig") }},
			{"encrypted attribute dropped", false, func(s tamperItems) attr.Item { return without(s.stored, "secret") }},
			{"partition key dropped", false, func(s tamperItems) attr.Item { return without(s.stored, "pk") }},
			{"sort key dropped", false, func(s tamperItems) attr.Item { return without(s.stored, "sk") }},
			{"attribute added", false, func(s tamperItems) attr.Item { return with(s.stored, "intruder", attr.S("x")) }},
			{"configured attribute added", false, func(s tamperItems) attr.Item {
				return with(s.stored, "other", s.stored["n"])
			}},
			{"signed attribute swapped for an unsigned one", false, func(s tamperItems) attr.Item {
				return with(without(s.stored, "sig"), "u_sig", s.stored["sig"])
			}},
			{"header and footer of another item", false, func(s tamperItems) attr.Item {
				return with(with(s.stored, HeaderAttr, s.other[HeaderAttr]), FooterAttr, s.other[FooterAttr])
			}},
			{"header and footer of another encryption of the item", false, func(s tamperItems) attr.Item {
				return with(with(s.stored, HeaderAttr, s.twin[HeaderAttr]), FooterAttr, s.twin[FooterAttr])
			}},
			{"header of another encryption", false, func(s tamperItems) attr.Item {
				return with(s.stored, HeaderAttr, s.twin[HeaderAttr])
			}},
			{"footer of another encryption", false, func(s tamperItems) attr.Item {
				return with(s.stored, FooterAttr, s.twin[FooterAttr])
			}},
			{"header and footer swapped", false, func(s tamperItems) attr.Item {
				return with(with(s.stored, HeaderAttr, s.stored[FooterAttr]), FooterAttr, s.stored[HeaderAttr])
			}},
			{"header dropped", false, func(s tamperItems) attr.Item { return without(s.stored, HeaderAttr) }},
			{"footer dropped", false, func(s tamperItems) attr.Item { return without(s.stored, FooterAttr) }},
			{"header as a string", false, func(s tamperItems) attr.Item {
				return with(s.stored, HeaderAttr, attr.S(s.b(HeaderAttr)))
			}},
			{"plaintext item", false, func(tamperItems) attr.Item { return smallItem(v, "p1") }},
		} {
			if c.v2Only && v.version != 2 {
				continue
			}
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				assertDecryptFails(t, e, c.item(s))
			})
		}
	}
}

// TestTamperDecryptor decrypts with an encryptor that differs from the
// writer in table name, key names or branch key.
func TestTamperDecryptor(t *testing.T) {
	t.Parallel()
	bk := testBranchKey()
	otherKey := bk
	otherKey.Key = secret.New(bytes.Repeat([]byte{0x42}, 32))
	otherVersion := bk
	otherVersion.Version = "00000000-0000-4000-8000-000000000000"
	for _, v := range variants {
		stored := mustEncrypt(t, newEncryptor(t, smallConfig(v)), smallItem(v, "p1"))
		for _, c := range []struct {
			name   string
			mutate func(c *Config)
		}{
			{"other table name", func(c *Config) { c.TableName = "other_table" }},
			{"keys named the other way round", func(c *Config) { c.PartitionKey, c.SortKey = "sk", "pk" }},
			{"no sort key configured", func(c *Config) { c.SortKey = "" }},
			{"other branch key, same id and version", func(c *Config) { c.Keyring = newKeyring(t, otherKey) }},
			{"other branch key id", func(c *Config) {
				c.Keyring = newKeyring(t, hierarchy.BranchKey{ID: "other-id", Version: bk.Version, Key: bk.Key})
			}},
			{"branch key version unknown", func(c *Config) { c.Keyring = newKeyring(t, otherVersion) }},
			{"keyring failing", func(c *Config) { c.Keyring = failingKeyring{materials.ErrNoDecryptableKey} }},
			{"keyring returning nothing", func(c *Config) { c.Keyring = emptyKeyring{} }},
		} {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				cfg := smallConfig(v)
				c.mutate(&cfg)
				assertDecryptFails(t, newEncryptor(t, cfg), stored)
			})
		}
	}
}

// TestUnsignedAttributesMayChange checks the documented behaviour of
// DO_NOTHING: such attributes are not authenticated, so they may change,
// appear or disappear, and decryption returns them as stored; aws_dbe_
// attributes (beacons) are not authenticated either and never returned.
func TestUnsignedAttributesMayChange(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		it := smallItem(v, "p1")
		stored := mustEncrypt(t, e, it)
		for _, c := range []struct {
			name string
			item func(attr.Item) attr.Item
		}{
			{"named attribute changed", func(x attr.Item) attr.Item { return with(x, "note", attr.N("9")) }},
			{"named attribute dropped", func(x attr.Item) attr.Item { return without(x, "note") }},
			{"prefixed attribute changed", func(x attr.Item) attr.Item { return with(x, "u_x", attr.S("new")) }},
			{"prefixed attribute added", func(x attr.Item) attr.Item { return with(x, "u_new", attr.L{}) }},
			{"beacon added", func(x attr.Item) attr.Item { return with(x, "aws_dbe_b_x", attr.B{7}) }},
			{"reserved attribute added", func(x attr.Item) attr.Item { return with(x, "aws_dbe_x", attr.B{}) }},
		} {
			t.Run(v.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				// aws_dbe_ attributes are outside the signature and
				// dropped from the output, as in the SDK.
				assertSameItem(t, withoutReserved(c.item(it)), mustDecrypt(t, e, c.item(stored)))
			})
		}
	}
}

// TestTamperSignatureMalleability replaces the ECDSA signature (r, s) by
// the other valid signature of the hash, (r, n-s): the footer is authentic
// only in the bytes the writer wrote.
func TestTamperSignatureMalleability(t *testing.T) {
	t.Parallel()
	for _, v := range variants[2:] {
		e := newEncryptor(t, smallConfig(v))
		stored := mustEncrypt(t, e, smallItem(v, "p1"))
		foot := stored[FooterAttr].(attr.B)
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(foot[tagLen:], &sig); err != nil || len(rest) != 0 {
			t.Fatalf("footer signature is not DER: %v", err)
		}
		sig.S.Sub(elliptic.P384().Params().N, sig.S)
		der, err := asn1.Marshal(sig)
		if err != nil {
			t.Fatal(err)
		}
		assertDecryptFails(t, e, with(stored, FooterAttr, attr.B(append(bytes.Clone(foot[:tagLen]), der...))))
	}
}

// forge encrypts it as Encrypt does, but lets editFields change the fields
// before they are sealed and editHead the header bytes before the footer is
// computed over them: what a writer that holds the keys, but is buggy or
// hostile, could store.
func forge(t *testing.T, e *Encryptor, it attr.Item, editFields func([]field), editHead func([]byte) []byte) attr.Item {
	t.Helper()
	fs, version, ctxAttrs, err := e.plainFields(it, nil)
	if err != nil {
		t.Fatal(err)
	}
	editFields(fs)
	ec, err := e.baseContext(version, it, ctxAttrs)
	if err != nil {
		t.Fatal(err)
	}
	m := &materials.Encryption{Suite: e.suite, Context: ec}
	signer, err := e.addSigningKey(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cfg.Keyring.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	h := &Header{Version: version, Suite: e.suite, Context: storedContext(m.Context), EDKs: m.EDKs}
	rand.Read(h.MessageID[:])
	keys := new(itemKeys)
	if err := keys.derive(e.suite, m.DataKey, h.MessageID[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := encryptFields(nil, keys, fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		h.Legend = append(h.Legend, f.legend)
	}
	_, head, err := appendHeader(nil, h, keys)
	if err != nil {
		t.Fatal(err)
	}
	head = editHead(head)
	_, foot, err := e.appendFooter(nil, head, m, fs, keys, signer)
	if err != nil {
		t.Fatal(err)
	}
	return assemble(it, fs, head, foot)
}

func TestForgeWithoutEditsDecrypts(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		it := smallItem(v, "p1")
		assertSameItem(t, it, mustDecrypt(t, e, forge(t, e, it, func([]field) {}, func(b []byte) []byte { return b })))
	}
}

// TestDecryptChecksCommitment: an item whose footer authenticates a header
// with a wrong key commitment must not decrypt; the commitment is what
// binds the ciphertexts to a single data key.
func TestDecryptChecksCommitment(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		e := newEncryptor(t, smallConfig(v))
		for _, bit := range []int{0, 7, 8 * commitmentLen / 2, 8*commitmentLen - 1} {
			stored := forge(t, e, smallItem(v, "p1"), func([]field) {}, func(b []byte) []byte {
				return flipBit(b, 8*(len(b)-commitmentLen)+bit)
			})
			assertDecryptFails(t, e, stored)
		}
	}
}

// TestDecryptCauseHoldsNoPlaintext: Cause promises debug logs no plaintext.
// A writer holding the keys stores an encrypted string under the number
// type id (another implementation's bug, say): everything authenticates and
// the decrypted bytes are no number. Decryption must fail closed without
// the decrypted text in the cause.
func TestDecryptCauseHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	v := variants[0]
	e := newEncryptor(t, smallConfig(v))
	stored := forge(t, e, smallItem(v, "p1"), func(fs []field) {
		for i := range fs {
			if fs[i].name == "secret" {
				fs[i].typeID = attr.TypeN
			}
		}
	}, func(b []byte) []byte { return b })
	assertDecryptFails(t, e, stored)
}
