package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/item"
)

// readVector returns a file of the Java runtime vectors.
func readVector(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorsDir(t), "runtimes/java", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parseVector parses a manifest of the Java runtime vectors.
func parseVector(t *testing.T, name string) []Case {
	t.Helper()
	cases, err := ParseManifest(readVector(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cases
}

// sharedKeys loads the MPL keys manifest of the vectors.
func sharedKeys(t *testing.T) *Keys {
	t.Helper()
	keys, err := LoadKeys(filepath.Join(vectorsDir(t), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func caseNamed(t *testing.T, cases []Case, name string) Case {
	t.Helper()
	for _, c := range cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %q", name)
	return Case{}
}

// runOne runs a single case and returns its result.
func runOne(t *testing.T, keys *Keys, c Case) Result {
	t.Helper()
	rs := Run(context.Background(), keys, []Case{c})
	if len(rs) != 1 || rs[0].Case != c.Name {
		t.Fatalf("Run returned %+v for one case %q", rs, c.Name)
	}
	return rs[0]
}

func TestManifestCaseCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		names     []string
		negatives []string
	}{
		{"decrypt_java_32.json", []string{"1", "10", "2", "3", "4", "6", "7", "8", "9"}, []string{"4"}},
		{"decrypt_java_33.json", []string{"1", "10", "11", "12", "13", "2", "3", "4", "6", "7", "8", "9"}, []string{"4"}},
		{"iotest.json", []string{"DecryptTests[0][0]", "DecryptTests[1][0]"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			cases := parseVector(t, tt.file)
			var names, negatives []string
			for _, c := range cases {
				names = append(names, c.Name)
				if !c.Positive {
					negatives = append(negatives, c.Name)
					if c.Plaintext != nil {
						t.Errorf("negative case %q has a plaintext", c.Name)
					}
				} else if len(c.Plaintext) == 0 {
					t.Errorf("positive case %q has no plaintext", c.Name)
				}
				if len(c.Encrypted) == 0 {
					t.Errorf("case %q has no encrypted item", c.Name)
				}
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("cases %q, want %q (in name order)", names, tt.names)
			}
			if !slices.Equal(negatives, tt.negatives) {
				t.Errorf("negative cases %q, want %q", negatives, tt.negatives)
			}
		})
	}
}

func TestManifestCaseContents(t *testing.T) {
	t.Parallel()
	c := caseNamed(t, parseVector(t, "decrypt_java_33.json"), "7")
	if c.Description != "Basic Without Sig" {
		t.Errorf("description %q", c.Description)
	}
	cfg, err := c.config.itemConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TableName != DefaultTable || cfg.PartitionKey != DefaultPartitionKey || cfg.SortKey != "" {
		t.Errorf("table %q partition %q sort %q: want the runner's defaults", cfg.TableName, cfg.PartitionKey, cfg.SortKey)
	}
	if cfg.Suite != 0x6700 {
		t.Errorf("suite %#x, want 0x6700", cfg.Suite)
	}
	want := map[string]item.Action{"RecNum": item.SignOnly, "Stuff": item.EncryptAndSign, "Junk": item.EncryptAndSign}
	if len(cfg.Actions) != len(want) {
		t.Errorf("actions %v, want %v", cfg.Actions, want)
	}
	for n, a := range want {
		if cfg.Actions[n] != a {
			t.Errorf("action of %s = %v, want %v", n, cfg.Actions[n], a)
		}
	}
	for _, n := range []string{"aws_dbe_head", "aws_dbe_foot", "Junk", "RecNum", "Stuff"} {
		if _, ok := c.Encrypted[n]; !ok {
			t.Errorf("encrypted item lacks %s", n)
		}
	}
}

// TestSharedVectorsOutcomes checks every case of the real vectors one by one:
// positives pass, and each negative fails in decryption, not in its config.
func TestSharedVectorsOutcomes(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	for _, file := range []string{"decrypt_java_32.json", "decrypt_java_33.json", "iotest.json"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			for _, c := range parseVector(t, file) {
				if r := runOne(t, keys, c); r.Outcome != Passed || r.Reason != "" {
					t.Errorf("case %q: outcome %d reason %q, want passed", c.Name, r.Outcome, r.Reason)
				}
				if !c.Positive {
					checkNegativeReason(t, keys, c)
				}
			}
		})
	}
}

// checkNegativeReason checks that a negative case fails for the reason the
// vectors give: the config builds an encryptor, and decryption then fails
// with ErrDecrypt because the signed attributes do not match the legend.
func checkNegativeReason(t *testing.T, keys *Keys, c Case) {
	t.Helper()
	enc, err := c.encryptor(keys)
	if err != nil {
		t.Errorf("negative case %q: config error %v, want a decryption failure", c.Name, err)
		return
	}
	_, err = enc.Decrypt(context.Background(), c.Encrypted)
	if !errors.Is(err, item.ErrDecrypt) || errors.Is(err, item.ErrConfig) {
		t.Errorf("negative case %q: Decrypt error %v, want ErrDecrypt", c.Name, err)
	}
	if got := item.Reason(err); got != "legend" {
		t.Errorf("negative case %q: reason %q (%v), want legend", c.Name, got, item.Cause(err))
	}
}

// TestNegativeFailsOnlyByItsConfig decrypts the negative test's ciphertext
// under the config of the matching positive test: it must then decrypt, so
// the negative test fails because of its config and not a broken ciphertext.
func TestNegativeFailsOnlyByItsConfig(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	for _, file := range []string{"decrypt_java_32.json", "decrypt_java_33.json"} {
		cases := parseVector(t, file)
		neg := caseNamed(t, cases, "4")
		neg.Positive = true
		neg.config = caseNamed(t, cases, "1").config
		neg.Plaintext = caseNamed(t, cases, "1").Plaintext
		if r := runOne(t, keys, neg); r.Outcome != Passed {
			t.Errorf("%s: test 4 under test 1's config: outcome %d: %s", file, r.Outcome, r.Reason)
		}
	}
}

// TestNegativeWithBadConfigFails checks that a negative case whose config
// is unusable is a failure, not a pass: only a decryption failure counts.
func TestNegativeWithBadConfigFails(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	neg := caseNamed(t, parseVector(t, "decrypt_java_33.json"), "4")
	neg.config.AllowedUnsignedAttributes = nil // DO_NOTHING without allowed unsigned
	r := runOne(t, keys, neg)
	if r.Outcome != Failed || !strings.HasPrefix(r.Reason, "config:") {
		t.Errorf("outcome %d reason %q, want Failed with a config reason", r.Outcome, r.Reason)
	}
}

func TestAWSKMSKeyIsSkipped(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	for _, typ := range []string{"aws-kms", "aws-kms-mrk-aware", "aws-kms-mrk-aware-discovery", "aws-kms-rsa", "aws-kms-ecdh"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			for _, positive := range []bool{true, false} {
				c := caseNamed(t, parseVector(t, "decrypt_java_33.json"), "1")
				c.Positive = positive
				c.config.Key = json.RawMessage(`{"type":"` + typ + `","key":"us-west-2-decryptable"}`)
				r := runOne(t, keys, c)
				if r.Outcome != Skipped || !strings.Contains(r.Reason, "KMS") {
					t.Errorf("positive=%v: outcome %d reason %q, want Skipped naming KMS", positive, r.Outcome, r.Reason)
				}
			}
		})
	}
}

func TestManifestParsedFromFileKey(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	base := manifestDoc(t)
	test1 := base["tests"].(map[string]any)["1"].(map[string]any)
	test1["config"].(map[string]any)["key"] = map[string]any{"type": "aws-kms", "key": "us-west-2-decryptable"}
	cases, err := ParseManifest(marshal(t, base))
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, r := range Run(context.Background(), keys, cases) {
		switch {
		case r.Case == "1" && r.Outcome == Skipped:
			skipped++
		case r.Outcome != Passed:
			t.Errorf("case %q: outcome %d: %s", r.Case, r.Outcome, r.Reason)
		}
	}
	if skipped != 1 {
		t.Errorf("%d cases skipped, want 1", skipped)
	}
}

// manifestDoc returns decrypt_java_33.json as generic JSON to edit.
func manifestDoc(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readVector(t, "decrypt_java_33.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ioTestDoc returns iotest.json as generic JSON to edit.
func ioTestDoc(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readVector(t, "iotest.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func obj(v any, keys ...string) map[string]any {
	m := v.(map[string]any)
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func TestParseManifestRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(m map[string]any) // edits decrypt_java_33.json
		raw  string                 // used instead when set
		want []string               // substrings of the error
	}{
		{name: "not JSON", raw: `{"manifest":`, want: []string{"JSON"}},
		{name: "JSON array", raw: `[]`, want: []string{"JSON object"}},
		{name: "trailing data", raw: `{"manifest":{}} {}`, want: []string{"JSON"}},
		{name: "empty", raw: ``, want: []string{"JSON"}},
		{name: "wrong type", edit: func(m map[string]any) { obj(m, "manifest")["type"] = "aws-dbesdk-encrypt" },
			want: []string{"aws-dbesdk-encrypt", DecryptManifestType}},
		{name: "wrong version", edit: func(m map[string]any) { obj(m, "manifest")["version"] = "2" },
			want: []string{`"2"`, "version"}},
		{name: "numeric version", edit: func(m map[string]any) { obj(m, "manifest")["version"] = 1 },
			want: []string{"version"}},
		{name: "no manifest member", edit: func(m map[string]any) { delete(m, "manifest") },
			want: []string{DecryptManifestType}},
		{name: "unknown top-level member", edit: func(m map[string]any) { m["extra"] = true },
			want: []string{`"extra"`}},
		{name: "unknown test member", edit: func(m map[string]any) { obj(m, "tests", "1")["decryptConfig"] = map[string]any{} },
			want: []string{`"decryptConfig"`}},
		{name: "unknown config member", edit: func(m map[string]any) { obj(m, "tests", "1", "config")["sortKey"] = "x" },
			want: []string{`"sortKey"`}},
		{name: "unknown test type", edit: func(m map[string]any) { obj(m, "tests", "3")["type"] = "positive-encrypt" },
			want: []string{`"3"`, `"positive-encrypt"`}},
		{name: "positive without plaintext", edit: func(m map[string]any) { delete(obj(m, "tests", "6"), "plaintext") },
			want: []string{`"6"`, "plaintext"}},
		{name: "bad encrypted attribute", edit: func(m map[string]any) {
			obj(m, "tests", "7", "encrypted")["Stuff"] = map[string]any{"X": "y"}
		}, want: []string{`"7"`, "encrypted", "Stuff"}},
		{name: "bad base64", edit: func(m map[string]any) {
			obj(m, "tests", "7", "encrypted")["Stuff"] = map[string]any{"B": "not base64!"}
		}, want: []string{`"7"`, "Stuff"}},
		{name: "shorthand in encrypted item", edit: func(m map[string]any) {
			obj(m, "tests", "7", "encrypted")["RecNum"] = 1
		}, want: []string{`"7"`, "encrypted", "RecNum"}},
		{name: "bad plaintext attribute", edit: func(m map[string]any) {
			obj(m, "tests", "7", "plaintext")["Junk"] = map[string]any{"N": "not a number"}
		}, want: []string{`"7"`, "plaintext", "Junk"}},
		{name: "unknown action", edit: func(m map[string]any) {
			obj(m, "tests", "2", "config", "attributeActionsOnEncrypt")["Stuff"] = "ENCRYPT"
		}, want: []string{`"2"`, `"ENCRYPT"`}},
		{name: "unknown algorithm suite", edit: func(m map[string]any) {
			obj(m, "tests", "9", "config")["algorithmSuiteId"] = "ALG_AES_256_GCM_IV12_TAG16_NO_KDF"
		}, want: []string{`"9"`, "ALG_AES_256_GCM_IV12_TAG16_NO_KDF"}},
		{name: "plaintextOverride", edit: func(m map[string]any) {
			obj(m, "tests", "1", "config")["plaintextOverride"] = "FORCE_PLAINTEXT_WRITE_ALLOW_PLAINTEXT_READ"
		}, want: []string{`"1"`, "plaintextOverride"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tt.raw)
			if tt.edit != nil {
				m := manifestDoc(t)
				tt.edit(m)
				data = marshal(t, m)
			}
			checkRejected(t, data, tt.want)
		})
	}
}

func TestParseIOTestsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(m map[string]any)
		want []string
	}{
		{"fewer plaintext records", func(m map[string]any) {
			dt := m["DecryptTests"].([]any)[1].(map[string]any)
			dt["PlainTextRecords"] = []any{}
		}, []string{"DecryptTests[1]", "1 encrypted and 0 plaintext"}},
		{"more plaintext records", func(m map[string]any) {
			dt := m["DecryptTests"].([]any)[0].(map[string]any)
			dt["PlainTextRecords"] = append(dt["PlainTextRecords"].([]any), map[string]any{"RecNum": 2})
		}, []string{"DecryptTests[0]", "1 encrypted and 2 plaintext"}},
		{"unknown member", func(m map[string]any) { m["ReadTests"] = []any{} },
			[]string{`"ReadTests"`}},
		{"unknown test member", func(m map[string]any) {
			m["DecryptTests"].([]any)[0].(map[string]any)["Name"] = "x"
		}, []string{`"Name"`}},
		{"bad config", func(m map[string]any) {
			m["DecryptTests"].([]any)[0].(map[string]any)["Config"] = map[string]any{"attributeActions": map[string]any{}}
		}, []string{"DecryptTests[0][0]", `"attributeActions"`}},
		{"bad plaintext", func(m map[string]any) {
			m["DecryptTests"].([]any)[1].(map[string]any)["PlainTextRecords"] = []any{map[string]any{"RecNum": map[string]any{"Q": "1"}}}
		}, []string{"DecryptTests[1][0]", "RecNum"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ioTestDoc(t)
			tt.edit(m)
			checkRejected(t, marshal(t, m), tt.want)
		})
	}
}

func checkRejected(t *testing.T, data []byte, want []string) {
	t.Helper()
	cases, err := ParseManifest(data)
	if err == nil {
		t.Fatalf("ParseManifest accepted it (%d cases)", len(cases))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
}

// TestParseManifestEditsBaseline checks that the unedited documents the
// rejection tests start from are accepted, so each rejection is caused by
// its edit alone.
func TestParseManifestEditsBaseline(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]map[string]any{"decrypt_java_33.json": manifestDoc(t), "iotest.json": ioTestDoc(t)} {
		if _, err := ParseManifest(marshal(t, doc)); err != nil {
			t.Errorf("%s re-encoded: %v", name, err)
		}
	}
}

// FuzzParseManifest checks that no manifest makes ParseManifest or Run
// panic, and that a parsed positive case always has a plaintext.
func FuzzParseManifest(f *testing.F) {
	dir := os.Getenv("SEALSTORE_DBESDK_VECTORS")
	if dir == "" {
		dir = "../testdata/dbesdk"
	}
	keys, err := LoadKeys(filepath.Join(dir, "keys.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"decrypt_java_32.json", "decrypt_java_33.json", "iotest.json"} {
		data, err := os.ReadFile(filepath.Join(dir, "runtimes/java", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"DecryptTests":[{"Config":{},"EncryptedRecords":[{}],"PlainTextRecords":[{}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, c := range cases {
			if c.Positive && c.Plaintext == nil {
				t.Errorf("positive case %q has no plaintext", c.Name)
			}
		}
		if rs := Run(context.Background(), keys, cases); len(rs) != len(cases) {
			t.Errorf("%d results for %d cases", len(rs), len(cases))
		}
	})
}
