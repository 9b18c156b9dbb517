package ddbenc_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/conformance"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// keysFile is sealstore's test vector keys manifest.
const keysFile = "../testdata/sealstore/keys.json"

// vectorKeyring is the hierarchical keyring on the keys manifest's
// static-branch-key-1, the key a decrypt manifest with no "key" names.
func vectorKeyring(t *testing.T) materials.Keyring {
	t.Helper()
	data, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Keys map[string]struct {
			KeyID     string `json:"key-id"`
			Version   string `json:"branchKeyVersion"`
			BranchKey string `json:"branchKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Keys[conformance.DefaultBranchKey]
	bk, err := base64.StdEncoding.DecodeString(e.BranchKey)
	if err != nil {
		t.Fatal(err)
	}
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: e.KeyID, Version: e.Version, Key: secret.New(bk)}}}
	kr, err := hierarchy.New(e.KeyID, src, hierarchy.NewCache(hierarchy.DefaultTTL, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// vectorConfig is a table config as the DB-ESDK test vectors write one.
func vectorConfig(table string, tc ddbenc.TableConfig, suite materials.Suite) map[string]any {
	actions := map[string]string{}
	for name, a := range tc.Actions {
		actions[name] = a.String()
	}
	return map[string]any{
		"logicalTableName": table, "partitionKeyName": tc.PartitionKey, "sortKeyName": tc.SortKey,
		"attributeActionsOnEncrypt": actions, "allowedUnsignedAttributePrefix": tc.AllowedUnsignedPrefix,
		"algorithmSuiteId": suite.Name(),
	}
}

// TestEmulatorConformance writes items through the client to dynalite,
// reads them back as stored, and has the conformance runner (the one that
// passes the official SDKs' vectors) decrypt them from a DB-ESDK decrypt
// manifest; a tampered copy must fail there too.
func TestEmulatorConformance(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	for _, suiteID := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		for _, version := range []string{"v1", "v2"} {
			t.Run(fmt.Sprintf("%s %#x", version, suiteID), func(t *testing.T) {
				t.Parallel()
				suite, _ := materials.SuiteByID(suiteID)
				table := e.createTable(t, fmt.Sprintf("vectors_%s_%x", version, suiteID), "customer", "n", "aws_dbe_b_email")
				tc := ordersConfig(vectorKeyring(t), beaconKey(t), suiteID)
				if version == "v2" {
					for _, name := range []string{"customer", "n", "total"} {
						tc.Actions[name] = item.SignAndIncludeInEncryptionContext
					}
				}
				c, err := ddbenc.New(e.ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{table: tc}})
				if err != nil {
					t.Fatal(err)
				}
				tests := map[string]any{}
				for i := 1; i <= 3; i++ {
					plain := order("v", i, fmt.Sprintf("v%d@example.com", i))
					if _, err := c.PutItem(emuContext(t), putInto(table, plain)); err != nil {
						t.Fatal(err)
					}
					stored := e.rawGet(t, table, orderKey("v", i))
					cfg := vectorConfig(table, tc, suite)
					tests[fmt.Sprintf("ddbenc-%d", i)] = vectorTest(t, "positive-decrypt", cfg, stored, plain)
					stored["card"] = b(append([]byte{}, stored["email"].(*types.AttributeValueMemberB).Value...))
					tests[fmt.Sprintf("ddbenc-%d-moved", i)] = vectorTest(t, "negative-decrypt", cfg, stored, nil)
				}
				runManifest(t, tests, 6)
			})
		}
	}
}

func vectorTest(t *testing.T, kind string, cfg map[string]any, stored, plain map[string]types.AttributeValue) map[string]any {
	t.Helper()
	doc := map[string]any{"type": kind, "description": "written by ddbenc on dynalite", "config": cfg,
		"encrypted": json.RawMessage(itemJSON(t, stored))}
	if plain != nil {
		doc["plaintext"] = json.RawMessage(itemJSON(t, plain))
	}
	return doc
}

func itemJSON(t *testing.T, av map[string]types.AttributeValue) []byte {
	t.Helper()
	it, err := ddbav.FromItem(av)
	if err != nil {
		t.Fatal(err)
	}
	j, err := attr.MarshalItemJSON(it)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// runManifest runs a decrypt manifest of tests with sealstore's keys and
// expects every one to pass.
func runManifest(t *testing.T, tests map[string]any, want int) {
	t.Helper()
	manifest, err := json.Marshal(map[string]any{
		"manifest": map[string]string{"type": conformance.DecryptManifestType, "version": conformance.DecryptManifestVersion},
		"client":   map[string]string{"name": "sealstore/ddbenc", "version": "test"},
		"keys":     "file://keys.json",
		"tests":    tests,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := conformance.ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := conformance.LoadKeys(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	results := conformance.Run(emuContext(t), keys, cases)
	if len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	for _, r := range results {
		if r.Outcome != conformance.Passed {
			t.Errorf("%s: outcome %d: %s", r.Case, r.Outcome, r.Reason)
		}
	}
}
