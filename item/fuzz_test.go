package item

import (
	"bytes"
	"context"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
)

// FuzzParseHeader: ParseHeader never panics and accepts only canonical
// headers, those that Bytes writes back byte for byte.
func FuzzParseHeader(f *testing.F) {
	for _, v := range variants {
		e := newEncryptor(f, smallConfig(v))
		for _, pk := range []string{"p1", "a much longer partition key value"} {
			f.Add([]byte(mustEncrypt(f, e, smallItem(v, pk))[HeaderAttr].(attr.B)))
		}
	}
	minimal := append([]byte{1, 0}, make([]byte, msgIDLen)...)
	minimal = append(minimal, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
	f.Add(append(minimal, make([]byte, commitmentLen)...))
	f.Add([]byte{})
	f.Add([]byte{2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		h, err := ParseHeader(b)
		if !bytes.Equal(in, b) {
			t.Fatal("ParseHeader modified its input")
		}
		if err != nil {
			if h != nil {
				t.Fatal("ParseHeader returned a header with an error")
			}
			return
		}
		out, err := h.Bytes()
		if err != nil {
			t.Fatalf("Bytes of an accepted header: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("ParseHeader accepted a non-canonical header:\n in  %x\n out %x", b, out)
		}
	})
}

// fuzzConfig is the configuration the FuzzDecrypt seeds were written with;
// in version 2 the keys and "sig" are bound into the encryption context.
func fuzzConfig(suite materials.SuiteID, version byte) Config {
	key := SignOnly
	if version == 2 {
		key = SignAndIncludeInEncryptionContext
	}
	return Config{
		TableName: "fuzz_table", PartitionKey: "pk", SortKey: "sk",
		Actions:         map[string]Action{"pk": key, "sk": key, "sig": key, "secret": EncryptAndSign},
		AllowedUnsigned: []string{"note"}, Suite: suite,
	}
}

// fuzzItem is the plaintext of the FuzzDecrypt seeds.
func fuzzItem() attr.Item {
	return attr.Item{"pk": attr.S("fuzz-pk"), "sk": attr.N("1"), "sig": attr.S("signed"),
		"note": attr.S("unsigned"), "secret": attr.S(canary)}
}

// fuzzSeeds are fuzzItem encrypted under testBranchKey by fuzzConfig: the
// only (head, foot, secret) triples that may decrypt. They are fixed, not
// made at run time, because every fuzz worker process must agree on them;
// they double as known-answer vectors of this implementation.
var fuzzSeeds = []struct{ head, foot, secret string }{
	{ // 0x6700, version 1
		head: "" +
			"01006b7f6184aa9117966f4489e0c25b8dd7ee744e783e5a636f6df9d36d61d115e40004737373650000010011617773" +
			"2d6b6d732d68696572617263687900137365616c73746f72652d6974656d2d74657374008cfabc3e60fcb2846b6a2ab3" +
			"a6546949b3e270a8bd87faf770d2fc72c5124139ad51583d6b1ad085e9325f87b7945c634fe228b5e7a1a6ac0d5a169d" +
			"44b3719ae244eb50c393411d8ab757c8195b1a2c3d4e5f4a6b8c7d9e0f1a2b3c4dcfbfdd18611fa60e62f7900d4c02ee" +
			"9dca5210a4190a4856fd77a60538a4f2f0ce32bc5a9c3d368968b2037e7f63ecaeb652edec911e423e1abd6e607f8ce9" +
			"413dfc32298d1c5d397563628ec992343f",
		foot: "" +
			"78005448a53fc2dd3f05dac3825a80ae707c1b69e3b69dd302e9fb0bd0c38f09c763c8cbe5c017a2aa367e51b51dfd18",
		secret: "" +
			"000137f69ce5213484e3921d72e4f8c5f4802288beb04e22f51f55e5a33f4f18c181ff11",
	},
	{ // 0x6701, version 2
		head: "" +
			"02018fa3d342289575eef5eecd037d644b4e49e5bc9da0c87d92576ce24b586719ec000463636365000100156177732d" +
			"63727970746f2d7075626c69632d6b65790044416e63474e3144723836725a783265554179773062584766364b644370" +
			"72564d6179656b6a6e764954554f775250346837594f7649634f58575464355a6c623074673d3d0100116177732d6b6d" +
			"732d68696572617263687900137365616c73746f72652d6974656d2d74657374008cfcd4b66cc431e648b9a61a924fab" +
			"bb18c758b76d884b760f639ac1650fbe88a1b8fa65fc75dcef4da51bb23c6c8226094a33b88601e652fa07dae664273d" +
			"2a87f4cdf6ecd6f80ead905bfe505b1a2c3d4e5f4a6b8c7d9e0f1a2b3c4dbc72c2c966d296cb74d16ffc1ee014c81008" +
			"40a06d22cf1c7600c448420a625d120687067fa0529b71149b2e55efce3792b70297813896072cef637b5efd3cbb6615" +
			"b9568215a4c7e268b07ad0a024d1",
		foot: "" +
			"ac2794f803c84ba2feabb8251587f2ec00c677c23b063b62b34942844c4fd817538da4ddaa4d5cb45cc6c16bff87313e" +
			"306502306b824133c7218f57ffd3711f25425301b399ab05bd4e8a1f022f9de5ac7d747be2365e8d333b8185bd8c1b1f" +
			"3084bfe4023100876be17bc48b3ce8a776f952e26ff01c885cc00c2e1d8225d38811948e030e9e515b57ce5728f6760b" +
			"dcfa8760e8abfb",
		secret: "" +
			"000191d03c22b664fc2774ebfbdfab48c1255a137fd275db4cc66b2fb522b103f585bfc9",
	},
}

// FuzzDecrypt mutates the header, footer and encrypted attribute of an item:
// Decrypt never panics and succeeds only on the bytes the writer wrote,
// failing closed on all others.
func FuzzDecrypt(f *testing.F) {
	e := newEncryptor(f, fuzzConfig(materials.SuiteSymSig, 1))
	genuine := func(head, foot, secret []byte) bool {
		for _, s := range fuzzSeeds {
			if bytes.Equal(head, mustUnhex(s.head)) && bytes.Equal(foot, mustUnhex(s.foot)) &&
				bytes.Equal(secret, mustUnhex(s.secret)) {
				return true
			}
		}
		return false
	}
	for _, s := range fuzzSeeds {
		f.Add(mustUnhex(s.head), mustUnhex(s.foot), mustUnhex(s.secret))
	}
	f.Fuzz(func(t *testing.T, head, foot, secret []byte) {
		stored := fuzzItem()
		stored[HeaderAttr], stored[FooterAttr], stored["secret"] = attr.B(head), attr.B(foot), attr.B(secret)
		if !genuine(head, foot, secret) {
			if msg := decryptFailure(e, stored); msg != "" {
				t.Fatal(msg)
			}
			return
		}
		out, err := e.Decrypt(context.Background(), stored)
		if err != nil {
			t.Fatalf("genuine item: %v (reason %q, cause %v)", err, Reason(err), Cause(err))
		}
		assertSameItem(t, fuzzItem(), out)
	})
}
