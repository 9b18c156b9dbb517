package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// writeDoc is the part of a written manifest the tests inspect.
type writeDoc struct {
	Manifest struct{ Type, Version string }
	Client   struct{ Name, Version string }
	Keys     string
	Tests    map[string]struct {
		Type   string
		Config tableConfig
	}
}

// writeAndRun writes a manifest of records, checks that every test in it
// passes and returns it.
func writeAndRun(t *testing.T, keys *Keys, records []byte, opts WriteOptions) ([]byte, []Case) {
	t.Helper()
	opts.Keys = keys
	out, err := Write(context.Background(), records, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	cases, err := ParseManifest(out)
	if err != nil {
		t.Fatalf("ParseManifest of the written manifest: %v", err)
	}
	for _, r := range Run(context.Background(), keys, cases) {
		if r.Outcome != Passed {
			t.Errorf("%s: outcome %d: %s", r.Case, r.Outcome, r.Reason)
		}
	}
	return out, cases
}

func parseWriteDoc(t *testing.T, out []byte) writeDoc {
	t.Helper()
	var doc writeDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// headerOf parses the header of a written item.
func headerOf(t *testing.T, it attr.Item) *item.Header {
	t.Helper()
	b, ok := it[item.HeaderAttr].(attr.B)
	if !ok {
		t.Fatal("written item has no binary header")
	}
	h, err := item.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func suiteName(t *testing.T, id materials.SuiteID) string {
	t.Helper()
	s, err := materials.SuiteByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return s.Name()
}

func TestWriteRecords(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := readVector(t, "records.json")
	want, err := parseRecords(records)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		flag, want materials.SuiteID
	}{{0, materials.SuiteSymSig}, {materials.SuiteSymSig, materials.SuiteSymSig}, {materials.SuiteECDSA, materials.SuiteECDSA}} {
		t.Run(fmt.Sprintf("%#x", uint16(tt.flag)), func(t *testing.T) {
			t.Parallel()
			out, cases := writeAndRun(t, keys, records, WriteOptions{Suite: tt.flag, ClientVersion: "1.2.3"})
			doc := parseWriteDoc(t, out)
			if doc.Manifest.Type != DecryptManifestType || doc.Manifest.Version != DecryptManifestVersion ||
				doc.Client.Name != ClientName || doc.Client.Version != "1.2.3" || doc.Keys != "file://keys.json" {
				t.Errorf("manifest header %+v %+v %q", doc.Manifest, doc.Client, doc.Keys)
			}
			if len(doc.Tests) != 3 || len(cases) != 3 {
				t.Fatalf("%d tests, %d cases, want 3", len(doc.Tests), len(cases))
			}
			for i, c := range cases {
				if name := fmt.Sprintf("sealstore-%d", i+1); c.Name != name {
					t.Errorf("case %d is %q, want %q", i, c.Name, name)
				}
				dt := doc.Tests[c.Name]
				if dt.Type != "positive-decrypt" || !c.Positive {
					t.Errorf("%s: type %q", c.Name, dt.Type)
				}
				if got := dt.Config.AlgorithmSuiteID; got != suiteName(t, tt.want) {
					t.Errorf("%s: config algorithmSuiteId %q, want %q", c.Name, got, suiteName(t, tt.want))
				}
				checkWrittenItem(t, c, want[i], tt.want)
			}
		})
	}
}

// checkWrittenItem checks a written test against the record it came from:
// the plaintext is the record, the header carries the suite, the footer has
// the length every implementation expects, and no encrypted attribute is
// stored in the clear.
func checkWrittenItem(t *testing.T, c Case, record attr.Item, suite materials.SuiteID) {
	t.Helper()
	if diff := diffItems(record, c.Plaintext); diff != "" {
		t.Errorf("%s: plaintext is not the record: %s", c.Name, diff)
	}
	h := headerOf(t, c.Encrypted)
	if h.Suite.ID != suite || h.Version != 1 {
		t.Errorf("%s: header suite %#x version %d, want %#x version 1", c.Name, h.Suite.ID, h.Version, suite)
	}
	wantFoot := 48
	if suite == materials.SuiteECDSA {
		wantFoot += 103
	}
	if foot, _ := c.Encrypted[item.FooterAttr].(attr.B); len(foot) != wantFoot {
		t.Errorf("%s: footer is %d bytes, want %d", c.Name, len(foot), wantFoot)
	}
	for name, v := range record {
		got := c.Encrypted[name]
		if name == DefaultPartitionKey {
			if !attr.Equal(got, v) {
				t.Errorf("%s: SIGN_ONLY %s stored as %v, want %v", c.Name, name, got, v)
			}
			continue
		}
		if _, ok := got.(attr.B); !ok || attr.Equal(got, v) {
			t.Errorf("%s: ENCRYPT_AND_SIGN %s stored as %#v", c.Name, name, got)
		}
	}
}

func TestWriteTwiceDiffers(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := readVector(t, "records.json")
	_, a := writeAndRun(t, keys, records, WriteOptions{})
	_, b := writeAndRun(t, keys, records, WriteOptions{})
	for i := range a {
		if attr.Equal(a[i].Encrypted[item.HeaderAttr], b[i].Encrypted[item.HeaderAttr]) ||
			attr.Equal(a[i].Encrypted["Stuff"], b[i].Encrypted["Stuff"]) {
			t.Errorf("%s: two writes gave the same header or ciphertext", a[i].Name)
		}
	}
}

// TestWriteVectorConfigs writes records.json under each table config of
// configs.json that has actions (search removed) with both suites.
func TestWriteVectorConfigs(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := readVector(t, "records.json")
	var doc struct {
		TableEncryptionConfigs map[string]map[string]json.RawMessage `json:"tableEncryptionConfigs"`
	}
	if err := json.Unmarshal(readVector(t, "configs.json"), &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1", "2", "3", "4", "5"} {
		cfg := doc.TableEncryptionConfigs[name]
		if cfg == nil {
			t.Fatalf("configs.json has no config %q", name)
		}
		delete(cfg, "search")
		for _, suite := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
			t.Run(fmt.Sprintf("%s/%#x", name, uint16(suite)), func(t *testing.T) {
				t.Parallel()
				out, cases := writeAndRun(t, keys, records, WriteOptions{Config: marshal(t, cfg), Suite: suite})
				for _, dt := range parseWriteDoc(t, out).Tests {
					if dt.Config.AlgorithmSuiteID != suiteName(t, suite) || len(dt.Config.AllowedUnsignedAttributes) != 4 {
						t.Errorf("config %+v", dt.Config)
					}
				}
				for _, c := range cases {
					if h := headerOf(t, c.Encrypted); h.Suite.ID != suite {
						t.Errorf("%s: header suite %#x", c.Name, h.Suite.ID)
					}
				}
			})
		}
	}
}

func TestWriteContextConfig(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := readVector(t, "records.json")
	config := `{
		"attributeActionsOnEncrypt": {
			"RecNum": "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT", "Stuff": "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
			"One": "SIGN_ONLY", "Two": "SIGN_ONLY", "Three": "ENCRYPT_AND_SIGN", "Four": "ENCRYPT_AND_SIGN",
			"Five": "CONTEXT_AND_SIGN", "Six": "DO_NOTHING", "Seven": "ENCRYPT_AND_SIGN", "Eight": "ENCRYPT_AND_SIGN",
			"Nine": "SIGN_ONLY", "NumberTest": "SIGN_ONLY"
		},
		"allowedUnsignedAttributes": ["Six"],
		"logicalTableName": "SealstoreWriteTable"
	}`
	for _, suite := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		t.Run(fmt.Sprintf("%#x", uint16(suite)), func(t *testing.T) {
			t.Parallel()
			_, cases := writeAndRun(t, keys, records, WriteOptions{Config: []byte(config), Suite: suite})
			for _, c := range cases {
				if h := headerOf(t, c.Encrypted); h.Version != 2 || h.Suite.ID != suite {
					t.Errorf("%s: header version %d suite %#x, want version 2 suite %#x", c.Name, h.Version, h.Suite.ID, suite)
				}
				if c.config.LogicalTableName != "SealstoreWriteTable" {
					t.Errorf("%s: logical table %q", c.Name, c.config.LogicalTableName)
				}
				if _, ok := c.Encrypted["Stuff"].(attr.S); !ok {
					t.Errorf("%s: context attribute Stuff stored as %#v", c.Name, c.Encrypted["Stuff"])
				}
				x := tampered(c, "other table")
				x.config.LogicalTableName = DefaultTable
				y := tampered(c, "other context value")
				y.Encrypted["Stuff"] = attr.S("Junk2")
				for _, r := range Run(context.Background(), keys, []Case{x, y}) {
					if r.Outcome != Failed {
						t.Errorf("%s: outcome %d, want Failed", r.Case, r.Outcome)
					}
				}
			}
		})
	}
}

// TestWriteConfigSuite checks which suite wins: the option, else the
// config's algorithmSuiteId, else 0x6700.
func TestWriteConfigSuite(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := readVector(t, "records.json")
	config := `{"attributeActionsOnEncrypt":{"RecNum":"SIGN_ONLY","Stuff":"ENCRYPT_AND_SIGN","One":"ENCRYPT_AND_SIGN","Two":"ENCRYPT_AND_SIGN","Three":"ENCRYPT_AND_SIGN","Four":"ENCRYPT_AND_SIGN","Five":"ENCRYPT_AND_SIGN","Six":"ENCRYPT_AND_SIGN","Seven":"ENCRYPT_AND_SIGN","Eight":"ENCRYPT_AND_SIGN","Nine":"ENCRYPT_AND_SIGN","NumberTest":"ENCRYPT_AND_SIGN"}%s}`
	ecdsa := `,"algorithmSuiteId":"` + suiteName(t, materials.SuiteECDSA) + `"`
	for _, tt := range []struct {
		name   string
		config string
		suite  materials.SuiteID
		want   materials.SuiteID
	}{
		{"neither", fmt.Sprintf(config, ""), 0, materials.SuiteSymSig},
		{"config", fmt.Sprintf(config, ecdsa), 0, materials.SuiteECDSA},
		{"option over config", fmt.Sprintf(config, ecdsa), materials.SuiteSymSig, materials.SuiteSymSig},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, cases := writeAndRun(t, keys, records, WriteOptions{Config: []byte(tt.config), Suite: tt.suite})
			for _, dt := range parseWriteDoc(t, out).Tests {
				if dt.Config.AlgorithmSuiteID != suiteName(t, tt.want) {
					t.Errorf("config suite %q, want %q", dt.Config.AlgorithmSuiteID, suiteName(t, tt.want))
				}
			}
			for _, c := range cases {
				if h := headerOf(t, c.Encrypted); h.Suite.ID != tt.want {
					t.Errorf("%s: header suite %#x, want %#x", c.Name, h.Suite.ID, tt.want)
				}
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	records := string(readVector(t, "records.json"))
	actions := `"attributeActionsOnEncrypt":{"RecNum":"SIGN_ONLY","Stuff":"ENCRYPT_AND_SIGN"}`
	tests := []struct {
		name, records, config string
		suite                 materials.SuiteID
		want                  []string
		configErr             bool // the error wraps item.ErrConfig
	}{
		{name: "records not JSON", records: `{"Records":[`, want: []string{"records file"}},
		{name: "no Records", records: `{}`, want: []string{"records file", `"Records"`}},
		{name: "empty Records", records: `{"Records":[]}`, want: []string{"records file", `"Records"`}},
		{name: "record not an object", records: `{"Records":[{"RecNum":1},"x"]}`, want: []string{"record 1"}},
		{name: "bad attribute", records: `{"Records":[{"RecNum":{"N":"one"}}]}`, want: []string{"record 0", "RecNum"}},
		{name: "unknown type", records: `{"Records":[{"RecNum":1,"Stuff":{"Q":"x"}}]}`, want: []string{"record 0", "Stuff"}},
		{name: "no partition key", records: `{"Records":[{"RecNum":1},{"Stuff":"x"}]}`, want: []string{"record 1", "RecNum"}},
		{name: "reserved attribute", records: `{"Records":[{"RecNum":1,"aws_dbe_head":{"B":"AA=="}}]}`, want: []string{"aws_dbe_head", "reserved"}, configErr: true},
		{name: "config with key", records: records, config: `{` + actions + `,"key":{"type":"static-branch-key","key":"static-branch-key-1"}}`,
			want: []string{`"key"`}},
		{name: "config with search", records: records, config: `{` + actions + `,"search":{"versions":[]}}`,
			want: []string{`"search"`}},
		{name: "config not JSON", records: records, config: `{"attributeActionsOnEncrypt":`, want: []string{"config"}},
		{name: "config unknown member", records: records, config: `{` + actions + `,"sortKey":"x"}`, want: []string{"config", `"sortKey"`}},
		{name: "config unknown action", records: records, config: `{"attributeActionsOnEncrypt":{"RecNum":"SIGN_ONLY","Stuff":"ENCRYPT"}}`,
			want: []string{"config", `"ENCRYPT"`}},
		{name: "config unknown suite", records: records, config: `{` + actions + `,"algorithmSuiteId":"0x6702"}`, want: []string{`"0x6702"`}},
		{name: "config plaintextOverride", records: records, config: `{` + actions + `,"plaintextOverride":"FORCE_PLAINTEXT_WRITE_ALLOW_PLAINTEXT_READ"}`,
			want: []string{"plaintextOverride"}},
		{name: "plaintext config", records: records, config: `{}`, want: []string{"RecNum"}, configErr: true},
		{name: "partition key encrypted", records: records, config: `{"attributeActionsOnEncrypt":{"RecNum":"ENCRYPT_AND_SIGN"}}`,
			want: []string{"RecNum"}, configErr: true},
		{name: "context without partition key in context", records: records,
			config: `{"attributeActionsOnEncrypt":{"RecNum":"SIGN_ONLY","Stuff":"SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"}}`,
			want:   []string{"RecNum", "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"}, configErr: true},
		{name: "DO_NOTHING not allowed", records: records, config: `{"attributeActionsOnEncrypt":{"RecNum":"SIGN_ONLY","Stuff":"DO_NOTHING"}}`,
			want: []string{"Stuff"}, configErr: true},
		{name: "attribute without action", records: records, config: `{` + actions + `}`, want: []string{"record 0", "has no configured action"}},
		{name: "bad suite option", records: records, suite: 0x6702, want: []string{"0x6702"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Write(context.Background(), []byte(tt.records), WriteOptions{Keys: keys, Config: []byte(tt.config), Suite: tt.suite})
			if err == nil {
				t.Fatalf("Write succeeded:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if errors.Is(err, item.ErrConfig) != tt.configErr {
				t.Errorf("error %q: wraps ErrConfig %v, want %v", err, errors.Is(err, item.ErrConfig), tt.configErr)
			}
		})
	}
}
