package rawaes

import (
	"context"
	"testing"

	"github.com/sealstore/sealstore/materials"
)

func BenchmarkOnEncrypt(b *testing.B) {
	k := newKeyring(b, testNS, testName, randomBytes(32))
	s := testSuite(b, materials.SuiteSymSig)
	ec := testContext()
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
	k := newKeyring(b, testNS, testName, randomBytes(32))
	s := testSuite(b, materials.SuiteSymSig)
	ec := testContext()
	edks := encrypt(b, k, s, ec).EDKs
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m := materials.Decryption{Suite: s, Context: ec}
		if err := k.OnDecrypt(ctx, &m, edks); err != nil {
			b.Fatal(err)
		}
	}
}
