package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/readerconfig"
)

// TestCollectionsReaderConfig runs 'sealstore collections reader-config'
// against an embedded server: JSON as the server answers, code in each
// language, and clear refusals.
func TestCollectionsReaderConfig(t *testing.T) {
	t.Parallel()
	k := startBolt(t, t.TempDir())()
	schema := map[string]any{"partitionKey": "id", "attributes": map[string]string{"tier": "sign-and-bind", "note": "plain"},
		"searchable": map[string]int{"email": 20}}
	if st := k.api(t, k.admin, http.MethodPut, collPath("people"), schema, nil); st != http.StatusCreated {
		t.Fatalf("PUT %s: %d, want 201", collPath("people"), st)
	}
	r := k.runCommand(t, k.env(), "collections", "reader-config", "people", "--lang", "json")
	if r.code != 0 {
		t.Fatalf("--lang json: %v", r)
	}
	var rc readerconfig.Config
	if err := json.Unmarshal([]byte(r.stdout), &rc); err != nil {
		t.Fatalf("--lang json printed %q: %v", r.stdout, err)
	}
	want := map[string]string{"id": readerconfig.SignAndBind, "tier": readerconfig.SignAndBind, "note": readerconfig.DoNothing, "email": readerconfig.EncryptAndSign}
	for name, a := range want {
		if rc.Actions[name] != a {
			t.Errorf("action of %s: %q; want %q (all: %v)", name, rc.Actions[name], a, rc.Actions)
		}
	}
	if rc.LogicalTableName != "col_people" || rc.TableName != "col_people" || rc.KeyStore.KMSKeyARN != "" ||
		len(rc.Beacons) != 1 || rc.Beacons[0] != (readerconfig.Beacon{Name: "email", Length: 20, Index: "beacon_email"}) {
		t.Errorf("reader config %+v", rc)
	}
	for _, lang := range readerconfig.Languages {
		r := k.runCommand(t, k.env(), "collections", "reader-config", "people", "--lang", lang)
		code, err := readerconfig.Render(lang, rc)
		if err != nil {
			t.Fatal(err)
		}
		if r.code != 0 || r.stdout != code || !strings.Contains(r.stdout, "embedded default") {
			t.Errorf("--lang %s: %v; want the rendering, with the embedded default's caveat", lang, r)
		}
	}
	for _, c := range []struct {
		args       []string
		code       int
		stderrHas  string
		withoutEnv bool
	}{
		{[]string{"collections", "reader-config", "nosuch"}, 1, "404", false},
		{[]string{"collections", "reader-config", "people", "--lang", "cobol"}, 2, `--lang "cobol": want go, java, dotnet, rust or json`, false},
		{[]string{"collections", "reader-config"}, 2, "name one collection", false},
		{[]string{"collections", "list"}, 2, "usage: sealstore collections reader-config", false},
		{[]string{"collections", "reader-config", "people"}, 2, "set SEALSTORE_TOKEN to a token with read scope", true},
	} {
		env := k.env()
		if c.withoutEnv {
			env = []string{"SEALSTORE_ADDR=https://" + k.p.addr, "SEALSTORE_CA=" + k.certFile}
		}
		r := k.runCommand(t, env, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.stderrHas) || r.stdout != "" {
			t.Errorf("sealstore %s: %v; want exit %d, nothing on stdout, stderr with %q", strings.Join(c.args, " "), r, c.code, c.stderrHas)
		}
	}
}
