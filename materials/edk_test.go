package materials_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/materials"
)

func TestEDKsRoundTrip(t *testing.T) {
	t.Parallel()
	edks := []materials.EDK{
		{ProviderID: "aws-kms-hierarchy", ProviderInfo: []byte("branch"), Ciphertext: bytes.Repeat([]byte{1}, 140)},
		{ProviderID: "ns", ProviderInfo: nil, Ciphertext: []byte{}},
	}
	b, err := materials.AppendEDKs([]byte("prefix"), edks)
	if err != nil {
		t.Fatal(err)
	}
	want := "prefix\x02\x00\x11aws-kms-hierarchy\x00\x06branch\x00\x8c" + strings.Repeat("\x01", 140) + "\x00\x02ns\x00\x00\x00\x00"
	if string(b) != want {
		t.Fatalf("AppendEDKs = %x", b)
	}
	got, rest, err := materials.ParseEDKs(append(b[len("prefix"):], "tail"...))
	if err != nil || string(rest) != "tail" || len(got) != 2 || got[0].ProviderID != edks[0].ProviderID ||
		!bytes.Equal(got[0].Ciphertext, edks[0].Ciphertext) || string(got[0].ProviderInfo) != "branch" || got[1].ProviderID != "ns" {
		t.Fatalf("ParseEDKs = %+v, rest %q, %v", got, rest, err)
	}
	for n := range len(b) - len("prefix") {
		if _, _, err := materials.ParseEDKs(b[len("prefix") : len("prefix")+n]); err == nil {
			t.Errorf("ParseEDKs accepted a list truncated to %d bytes", n)
		}
	}
}

func TestEDKsRejects(t *testing.T) {
	t.Parallel()
	if _, _, err := materials.ParseEDKs([]byte{0}); err == nil {
		t.Error("ParseEDKs accepted an empty list")
	}
	if _, err := materials.AppendEDKs(nil, nil); err == nil {
		t.Error("AppendEDKs accepted no EDKs")
	}
	if _, err := materials.AppendEDKs(nil, make([]materials.EDK, 256)); err == nil {
		t.Error("AppendEDKs accepted 256 EDKs")
	}
	if _, err := materials.AppendEDKs(nil, []materials.EDK{{Ciphertext: make([]byte, 0x10000)}}); err == nil {
		t.Error("AppendEDKs accepted a 65536-byte ciphertext")
	}
}
