package readerconfig_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/readerconfig"
)

func sample() readerconfig.Config {
	return readerconfig.Config{
		Collection: "people", LogicalTableName: "col_people", TableName: "prod_col_people", PartitionKey: "id", SortKey: "at",
		Actions: map[string]string{"id": readerconfig.SignAndBind, "at": readerconfig.SignAndBind, "tier": readerconfig.SignAndBind,
			"email": readerconfig.EncryptAndSign, "note": readerconfig.DoNothing, `odd "name"\`: readerconfig.SignOnly},
		AllowedUnsigned: []string{"note"}, Suite: readerconfig.SuiteECDSA, BranchKeyID: "bk-1",
		Beacons:  []readerconfig.Beacon{{Name: "email", Length: 16, Index: "beacon_email"}},
		KeyStore: readerconfig.KeyStore{Name: "sealstore", Table: "prod_sealstore_branch_keys", KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:key/k"},
	}
}

// TestRenderNamesEveryValue checks that each rendering holds every value
// of the configuration, in its language's syntax, keys first.
func TestRenderNamesEveryValue(t *testing.T) {
	want := map[string][]string{
		"go": {`"prod_col_people": {`, `LogicalTableName: "col_people",`, `SortKey:          "at",`, `"id": item.SignAndIncludeInEncryptionContext,`,
			`"odd \"name\"\\": item.SignOnly,`, `AllowedUnsigned: []string{"note"},`, `Suite:   materials.SuiteECDSA,`,
			`{Name: "email", Length: 16}, // queried through index "beacon_email"`, `hierarchy.New("bk-1", `, `keys.BeaconKey(ctx, "bk-1")`},
		"java": {`tableConfigs.put("prod_col_people", `, `.sortKeyName("at")`, `actions.put("odd \"name\"\\", CryptoAction.SIGN_ONLY);`,
			`.algorithmSuiteId(DBEAlgorithmSuiteId.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384)`,
			`.kmsKeyArn("arn:aws:kms:eu-west-1:111122223333:key/k")`, `.keyId("bk-1").cacheTTL(300)`},
		"dotnet": {`["prod_col_people"] = new DynamoDbTableEncryptionConfig`, `["id"] = CryptoAction.SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT,`,
			`AllowedUnsignedAttributes = new List<string> { "note" },`, `new StandardBeacon { Name = "email", Length = 16 }`, `DdbTableName = "prod_sealstore_branch_keys",`},
		"rust": {`("prod_col_people".to_string(), table_config)`, `("tier".to_string(), CryptoAction::SignAndIncludeInEncryptionContext),`,
			`DbeAlgorithmSuiteId::AlgAes256GcmHkdfSha512CommitKeyEcdsaP384SymsigHmacSha384`, `.logical_key_store_name("sealstore".to_string())`,
			`.allowed_unsigned_attributes(vec!["note".to_string()])`},
	}
	for _, lang := range readerconfig.Languages {
		code, err := readerconfig.Render(lang, sample())
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want[lang] {
			if !strings.Contains(code, w) {
				t.Errorf("%s rendering lacks %s:\n%s", lang, w, code)
			}
		}
		if i, j := strings.Index(code, `"at"`), strings.Index(code, `"email"`); i < 0 || j < 0 || i > j {
			t.Errorf("%s rendering: the sort key does not come before the other attributes", lang)
		}
		if strings.Contains(code, "embedded default") {
			t.Errorf("%s rendering of a DynamoDB deployment warns of the embedded default", lang)
		}
	}
}

func TestRenderRefusals(t *testing.T) {
	for _, c := range []struct {
		lang string
		edit func(*readerconfig.Config)
		want string
	}{
		{"cobol", func(*readerconfig.Config) {}, `unknown language "cobol" (want one of go, java, dotnet, rust)`},
		{"go", func(c *readerconfig.Config) { c.BranchKeyID = "" }, "lacks its table, key or branch key"},
		{"java", func(c *readerconfig.Config) { c.Actions["x"] = "ENCRYPT" }, `attribute "x": unknown action "ENCRYPT"`},
		{"rust", func(c *readerconfig.Config) { c.Suite = "0x6700" }, `unknown algorithm suite "0x6700"`},
	} {
		cfg := sample()
		c.edit(&cfg)
		if _, err := readerconfig.Render(c.lang, cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v; want %q", c.lang, err, c.want)
		}
	}
}

// TestRenderGoCompiles builds the Go rendering, with and without beacons
// and a sort key, as the body of a function in a package of this module.
func TestRenderGoCompiles(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the rendering with")
	}
	dir, err := os.MkdirTemp(".", "compiletest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	plain := sample()
	plain.Beacons, plain.SortKey, plain.AllowedUnsigned, plain.KeyStore.KMSKeyARN = nil, "", nil, ""
	delete(plain.Actions, "at")
	var src strings.Builder
	src.WriteString(`package compiletest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store/dynamo"
)

var _ = beacon.NewKey
`)
	for i, cfg := range []readerconfig.Config{sample(), plain} {
		code, err := readerconfig.Render("go", cfg)
		if err != nil {
			t.Fatal(err)
		}
		src.WriteString("\nfunc f" + string(rune('0'+i)) + "(ctx context.Context, ddb *dynamodb.Client, kmsClient *kms.Client) (*ddbenc.Client, error) {\n")
		src.WriteString(strings.ReplaceAll(code, "return err", "return nil, err"))
		src.WriteString("\treturn client, nil\n}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "f.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gobin, "vet", "./"+dir).CombinedOutput()
	if err != nil {
		t.Fatalf("go vet of the rendering: %v\n%s\n%s", err, out, src.String())
	}
}
