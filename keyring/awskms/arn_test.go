package awskms

import (
	"strings"
	"testing"
)

const (
	keyARN   = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	mrkWest  = "arn:aws:kms:us-west-2:111122223333:key/mrk-4321abcd12ab34cd56ef1234567890ab"
	mrkEast  = "arn:aws:kms:us-east-1:111122223333:key/mrk-4321abcd12ab34cd56ef1234567890ab"
	aliasARN = "arn:aws:kms:us-west-2:111122223333:alias/test-key"
)

func TestCheckIdentifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{keyARN, true},
		{mrkWest, true},
		{aliasARN, true},
		{"arn:aws:kms:us-west-2:111122223333:key/a/b", true},
		{"1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{"mrk-4321abcd12ab34cd56ef1234567890ab", true},
		{"alias/test-key", true},
		{"", false},
		{"key/1234abcd", false},
		{"alias/", false},
		{"other/x", false},
		{"arn:aws:kms:us-west-2:111122223333", false},
		{"arn:aws:kms:us-west-2:111122223333:key/x:y", false},
		{"arn::kms:us-west-2:111122223333:key/x", false},
		{"arn:aws:s3:us-west-2:111122223333:key/x", false},
		{"arn:aws:kms::111122223333:key/x", false},
		{"arn:aws:kms:us-west-2::key/x", false},
		{"arn:aws:kms:us-west-2:111122223333:key/", false},
		{"arn:aws:kms:us-west-2:111122223333:key", false},
		{"arn:aws:kms:us-west-2:111122223333:grant/x", false},
		{"Arn:aws:kms:us-west-2:111122223333:key/x", false}, // read as a resource "Arn:…:key", as the MPL does
		{"arn:aws:kms:us-west-2:111122223333:key/ключ", false},
		{strings.Repeat("a", maxIdentifierLen), true},
		{strings.Repeat("a", maxIdentifierLen+1), false},
	}
	for _, tt := range tests {
		if err := checkIdentifier(tt.id); (err == nil) != tt.ok {
			t.Errorf("checkIdentifier(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}

func TestParseKeyARN(t *testing.T) {
	t.Parallel()
	a, err := parseKeyARN("arn:aws-cn:kms:cn-north-1:111122223333:key/a/b")
	if err != nil {
		t.Fatal(err)
	}
	want := arn{partition: "aws-cn", region: "cn-north-1", account: "111122223333", resourceType: "key", resourceID: "a/b"}
	if a != want {
		t.Fatalf("parsed %+v, want %+v", a, want)
	}
	for _, bad := range []string{aliasARN, "alias/test-key", "1234abcd", "", "arn:aws:kms:r:a:key/x:y"} {
		if _, err := parseKeyARN(bad); err == nil {
			t.Errorf("parseKeyARN(%q) succeeded", bad)
		}
	}
}

func TestMRKMatch(t *testing.T) {
	t.Parallel()
	mrkOtherAccount := strings.Replace(mrkEast, "111122223333", "444455556666", 1)
	mrkOtherPartition := strings.Replace(mrkEast, ":aws:", ":aws-cn:", 1)
	keyEast := strings.Replace(keyARN, "us-west-2", "us-east-1", 1)
	tests := []struct {
		configured, stored string
		want               bool
	}{
		{keyARN, keyARN, true},
		{mrkWest, mrkWest, true},
		{mrkWest, mrkEast, true},
		{mrkEast, mrkWest, true},
		{keyARN, keyEast, false}, // single-Region keys never match across regions
		{mrkWest, mrkOtherAccount, false},
		{mrkWest, mrkOtherPartition, false},
		{mrkWest, mrkWest + "0", false},
		{"mrk-4321abcd12ab34cd56ef1234567890ab", mrkEast, false}, // a bare id is not an ARN
		{aliasARN, keyARN, false},
		{"arn:aws:kms:us-west-2:111122223333:alias/mrk-x", "arn:aws:kms:us-east-1:111122223333:alias/mrk-x", false},
	}
	for _, tt := range tests {
		if got := mrkMatch(tt.configured, tt.stored); got != tt.want {
			t.Errorf("mrkMatch(%q, %q) = %v, want %v", tt.configured, tt.stored, got, tt.want)
		}
		if got := exactMatch(tt.configured, tt.stored); got != (tt.configured == tt.stored) {
			t.Errorf("exactMatch(%q, %q) = %v", tt.configured, tt.stored, got)
		}
	}
}

// FuzzParseARN checks that parsing never panics and that what parses
// rebuilds to the same string.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{keyARN, mrkWest, aliasARN, "arn:aws:kms:r:a:key/x/y", "alias/x", "arn:::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = checkIdentifier(s)
		a, err := parseARN(s)
		if err != nil {
			return
		}
		rebuilt := "arn:" + a.partition + ":kms:" + a.region + ":" + a.account + ":" + a.resourceType + "/" + a.resourceID
		if rebuilt != s {
			t.Fatalf("parseARN(%q) rebuilt as %q", s, rebuilt)
		}
		if !mrkMatch(s, s) {
			t.Fatal("an ARN does not match itself")
		}
	})
}
