package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// While a server holds the embedded data directory, the tokens commands
// go through its /v1/tokens API with the admin token in SEALSTORE_TOKEN
// (trusting the directory's certificate unless told otherwise), and say
// so on stderr; stdout is as offline. Changes take effect at once.
func TestTokensThroughServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	defer p.stop()
	env := []string{"SEALSTORE_TOKEN=" + p.bootstrap, "SEALSTORE_ADDR=https://" + p.addr}
	tokens := func(args ...string) (string, string, int) {
		t.Helper()
		return runSealstoreEnv(t, env, append(append([]string{"tokens"}, args...), "--data-dir", dir)...)
	}
	out, errOut, code := tokens("create", "--scope", "items:read", "--name", "deploy")
	secret := strings.TrimSuffix(out, "\n")
	if code != 0 || !tokenRE.MatchString(secret) || strings.Count(out, "\n") != 1 {
		t.Fatalf("tokens create while serving: exit %d, stdout %q, stderr %q; want the token alone", code, out, errOut)
	}
	if !strings.Contains(errOut, "held by a running server") || !strings.Contains(errOut, "through its API at https://"+p.addr) || strings.Contains(errOut, "sst_") {
		t.Errorf("tokens create while serving: stderr %q; want it to say it went through the API, with no token", errOut)
	}
	if r := p.post(t.Context(), p.bootstrap, "k", "v"); !r.stored() {
		t.Fatalf("POST: %v", r)
	}
	if r, got, err := p.get(t.Context(), secret, "k"); err != nil || r.status != http.StatusOK || got != "v" {
		t.Errorf("GET with the token just created: %v %q %v; want it to work at once", r, got, err)
	}

	out, _, code = tokens("list")
	if code != 0 || !regexp.MustCompile(`(?m)^deploy\titems:read\t\S+Z$`).MatchString(out) || !strings.Contains(out, "bootstrap-admin\t*:admin\t") {
		t.Errorf("tokens list while serving: exit %d, stdout %q", code, out)
	}
	_, errOut, code = tokens("create", "--scope", "items:write", "--name", "deploy")
	if code != 1 || !strings.Contains(errOut, "a token with that name exists") {
		t.Errorf("tokens create of a taken name while serving: exit %d, stderr %q", code, errOut)
	}

	out, _, code = tokens("revoke", "deploy")
	if code != 0 || out != "" {
		t.Errorf("tokens revoke while serving: exit %d, stdout %q", code, out)
	}
	if r, _, _ := p.get(t.Context(), secret, "k"); r.status != http.StatusUnauthorized {
		t.Errorf("GET with the revoked token: %v; want 401 at once", r)
	}
	_, errOut, code = tokens("revoke", "deploy")
	if code != 1 || !strings.Contains(errOut, "no token with that name") {
		t.Errorf("revoking deploy twice while serving: exit %d, stderr %q", code, errOut)
	}

	// A token that administers nothing cannot manage tokens.
	reader := strings.TrimSpace(func() string { o, _, _ := tokens("create", "--scope", "items:read"); return o }())
	_, errOut, code = runSealstoreEnv(t, []string{"SEALSTORE_TOKEN=" + reader, "SEALSTORE_ADDR=https://" + p.addr},
		"tokens", "create", "--data-dir", dir, "--scope", "items:read")
	if code != 1 || !strings.Contains(errOut, "403") {
		t.Errorf("tokens create with a read token: exit %d, stderr %q; want 403", code, errOut)
	}
}
