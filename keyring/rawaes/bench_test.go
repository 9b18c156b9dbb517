package rawaes

import (
	"context"
	"testing"

	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
)

func BenchmarkOnEncrypt(b *testing.B) {
	k := newKeyring(b, testNS, testName, keyringtest.RandomBytes(32))
	s := keyringtest.Suite(b, materials.SuiteSymSig)
	ec := keyringtest.Context()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := materials.Encryption{Suite: s, Context: ec}
		if err := k.OnEncrypt(ctx, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOnDecrypt(b *testing.B) {
	k := newKeyring(b, testNS, testName, keyringtest.RandomBytes(32))
	s := keyringtest.Suite(b, materials.SuiteSymSig)
	ec := keyringtest.Context()
	edks := keyringtest.Encrypt(b, k, s, ec).EDKs
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := materials.Decryption{Suite: s, Context: ec}
		if err := k.OnDecrypt(ctx, &m, edks); err != nil {
			b.Fatal(err)
		}
	}
}
