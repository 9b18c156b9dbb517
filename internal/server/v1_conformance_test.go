package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/conformance"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/store"
)

// confRecord is the record written through /v1 and read back by the
// engine's conformance runner.
const confRecord = `{"email":"ada@example.com","name":"Ada Lovelace","country":"GB","tier":"gold","note":"hello",` +
	`"n":12345678901234567890.5,"tags":["a",1,null],"addr":{"city":"London","zip":"N1"},"vip":true}`

// confSchema protects each kind of attribute differently; email is
// searchable, so the stored item also holds its beacon.
const confSchema = `{"partitionKey":"id","attributes":{"email":"encrypt","country":"sign","tier":"sign-and-bind","note":"plain"},"searchable":{"email":16},"suite":%q}`

// The DB-ESDK configuration a reader in another language uses for a
// collection of confSchema: every attribute named, the keys bound into
// the encryption context (sign-and-bind is present), the plain attribute
// allowed unsigned, and the collection's logical table name.
func confConfig(table, suite string) map[string]any {
	return map[string]any{
		"logicalTableName": table,
		"partitionKeyName": "id",
		"attributeActionsOnEncrypt": map[string]string{
			"id": "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT", "tier": "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
			"country": "SIGN_ONLY", "note": "DO_NOTHING",
			"email": "ENCRYPT_AND_SIGN", "name": "ENCRYPT_AND_SIGN", "n": "ENCRYPT_AND_SIGN",
			"tags": "ENCRYPT_AND_SIGN", "addr": "ENCRYPT_AND_SIGN", "vip": "ENCRYPT_AND_SIGN",
		},
		"allowedUnsignedAttributes": []string{"note"},
		"algorithmSuiteId":          suite,
		"key":                       map[string]string{"type": "static-branch-key", "key": "k"},
	}
}

// A record written through /v1 is a DB-ESDK item that the engine's
// conformance runner decrypts with the configuration an official SDK
// would use, given only the collection's branch key; a flipped byte fails.
func TestV1Conformance(t *testing.T) {
	t.Parallel()
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	suites := map[string]string{
		"0x6700": "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384",
		"0x6701": "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384",
	}
	for id := range suites {
		coll := "conf" + id[2:]
		s.mustCollection(coll, strings.Replace(confSchema, "%q", `"`+id+`"`, 1))
		s.mustPut(adm, recPath(coll, "r1"), confRecord)
	}
	s.stopIdle(t)

	plain, err := records.ParseDocument([]byte(confRecord))
	if err != nil {
		t.Fatal(err)
	}
	plain["id"] = attr.S("r1")
	withRaw(t, s.dataDir, func(ctx context.Context, b rawBackend) {
		for id, suite := range suites {
			coll := "conf" + id[2:]
			raw := rawRecord(ctx, t, b, "col_"+coll, "r1")
			checkStoredForm(t, coll, raw)
			keys := keysManifest(ctx, t, b, coll)
			runVectors(t, coll, keys, "col_"+coll, suite, raw, plain)
		}
	})
}

// rawRecord reads record id of the collection table as stored.
func rawRecord(ctx context.Context, t *testing.T, b rawBackend, table, id string) attr.Item {
	t.Helper()
	it, err := b.db.Get(ctx, store.Table{Name: table, PartitionKey: "id"}, attr.Item{"id": attr.S(id)})
	if err != nil {
		t.Fatalf("read %s %s from the store: %v", table, id, err)
	}
	return it
}

// checkStoredForm checks what each action leaves readable.
func checkStoredForm(t *testing.T, coll string, raw attr.Item) {
	t.Helper()
	for _, name := range []string{"aws_dbe_head", "aws_dbe_foot", "email", "name", "n", "tags", "addr", "vip"} {
		if _, ok := raw[name].(attr.B); !ok {
			t.Errorf("%s: stored %s is %T; want binary (encrypted, or the header and footer)", coll, name, raw[name])
		}
	}
	want := map[string]attr.Value{"id": attr.S("r1"), "country": attr.S("GB"), "tier": attr.S("gold"), "note": attr.S("hello")}
	for name, v := range want {
		if !attr.Equal(raw[name], v) {
			t.Errorf("%s: stored %s is %v; want %v in the clear", coll, name, raw[name], v)
		}
	}
	if _, ok := raw["aws_dbe_b_email"].(attr.S); !ok {
		t.Errorf("%s: stored item has no beacon aws_dbe_b_email", coll)
	}
	js, err := attr.MarshalItemJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ada@example.com", "Ada Lovelace", "London", "12345678901234567890"} {
		if strings.Contains(string(js), secret) {
			t.Errorf("%s: stored item holds %q in the clear", coll, secret)
		}
	}
}

// keysManifest writes an MPL keys manifest holding the collection's
// active branch key and beacon key as static key "k", and returns its path.
func keysManifest(ctx context.Context, t *testing.T, b rawBackend, coll string) string {
	t.Helper()
	entry, err := b.db.Get(ctx, store.Table{Name: "sealstore_collections", PartitionKey: "name"}, attr.Item{"name": attr.S(coll)})
	if err != nil {
		t.Fatalf("read the collection %s: %v", coll, err)
	}
	id, ok := entry["branch_key_id"].(attr.S)
	if !ok || id == "" {
		t.Fatalf("collection %s has no branch_key_id: %v", coll, entry)
	}
	ks := b.keys()
	bk, err := ks.ActiveKey(ctx, string(id))
	if err != nil {
		t.Fatalf("active branch key of %s: %v", coll, err)
	}
	beacon, err := ks.BeaconKey(ctx, string(id))
	if err != nil {
		t.Fatalf("beacon key of %s: %v", coll, err)
	}
	doc := map[string]any{
		"manifest": map[string]any{"type": "keys", "version": 1},
		"keys": map[string]any{"k": map[string]any{
			"type": "static-branch-key", "key-id": string(id), "branchKeyVersion": bk.Version,
			"branchKey": base64.StdEncoding.EncodeToString(bk.Key.InsecureBytes()),
			"beaconKey": base64.StdEncoding.EncodeToString(beacon.InsecureBytes()),
			"encrypt":   true, "decrypt": true,
		}},
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, mustJSON(t, doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runVectors runs a decrypt manifest of the stored item, and of tampered
// copies, through the conformance runner.
func runVectors(t *testing.T, coll, keysPath, table, suite string, raw, plain attr.Item) {
	t.Helper()
	flip := func(name string) attr.Item {
		c := maps.Clone(raw)
		v := append(attr.B{}, raw[name].(attr.B)...)
		v[len(v)/2] ^= 0x01
		c[name] = v
		return c
	}
	with := func(name string, v attr.Value) attr.Item {
		c := maps.Clone(raw)
		c[name] = v
		return c
	}
	noteChanged := maps.Clone(plain)
	noteChanged["note"] = attr.S("changed")
	cfg := confConfig(table, suite)
	otherTable := confConfig("col_other", suite)
	cases := map[string]struct {
		cfg              map[string]any
		encrypted, plain attr.Item
		pass             bool
	}{
		"as-stored":         {cfg, raw, plain, true},
		"email-byte":        {cfg, flip("email"), plain, false},
		"header-byte":       {cfg, flip("aws_dbe_head"), plain, false},
		"footer-byte":       {cfg, flip("aws_dbe_foot"), plain, false},
		"signed-country":    {cfg, with("country", attr.S("FR")), plain, false},
		"bound-tier":        {cfg, with("tier", attr.S("free")), plain, false},
		"plain-note":        {cfg, with("note", attr.S("changed")), noteChanged, true},
		"other-table-name":  {otherTable, raw, plain, false},
		"other-partition":   {cfg, with("id", attr.S("r2")), plain, false},
		"beacon-is-outside": {cfg, with("aws_dbe_b_email", attr.S("0")), plain, true},
	}
	tests := map[string]any{}
	for name, c := range cases {
		enc, err := attr.MarshalItemJSON(c.encrypted)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := attr.MarshalItemJSON(c.plain)
		if err != nil {
			t.Fatal(err)
		}
		tests[name] = map[string]any{
			"type": "positive-decrypt", "description": "sealstore /v1 record, " + name,
			"config": c.cfg, "encrypted": json.RawMessage(enc), "plaintext": json.RawMessage(pl),
		}
	}
	manifest := mustJSON(t, map[string]any{
		"manifest": map[string]string{"type": "aws-dbesdk-decrypt", "version": "1"},
		"client":   map[string]string{"name": "sealstore/sealstore", "version": "test"},
		"keys":     "file://keys.json",
		"tests":    tests,
	})
	parsed, err := conformance.ParseManifest(manifest)
	if err != nil {
		t.Fatalf("%s: ParseManifest: %v", coll, err)
	}
	keys, err := conformance.LoadKeys(keysPath)
	if err != nil {
		t.Fatalf("%s: LoadKeys: %v", coll, err)
	}
	results := conformance.Run(context.Background(), keys, parsed)
	if len(results) != len(cases) {
		t.Fatalf("%s: %d results for %d cases", coll, len(results), len(cases))
	}
	for _, r := range results {
		want := conformance.Failed
		if cases[r.Case].pass {
			want = conformance.Passed
		}
		if r.Outcome != want {
			t.Errorf("%s: case %s: outcome %v (%s); want %v", coll, r.Case, r.Outcome, r.Reason, want)
		}
	}
}
