package main

import (
	"encoding/json"
	"net/http"
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	t.Parallel()
	vcs := func(kv ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{}
		for i := 0; i+1 < len(kv); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return info
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		what string
		v    string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", "dev", nil, "dev"},
		{"no VCS settings (go run, go test)", "dev", vcs("-trimpath", "true"), "dev"},
		{"a clean tree", "1.2.3", vcs("vcs", "git", "vcs.revision", rev, "vcs.modified", "false"), "1.2.3 (revision 0123456789ab)"},
		{"a modified tree", "dev", vcs("vcs.revision", rev, "vcs.modified", "true"), "dev (revision 0123456789ab, modified)"},
		{"a short revision", "dev", vcs("vcs.revision", "abc"), "dev (revision abc)"},
	} {
		if got := versionOf(c.v, c.info); got != c.want {
			t.Errorf("%s: versionOf(%q) = %q; want %q", c.what, c.v, got, c.want)
		}
	}
}

// TestServeVersion: the start banner and the OpenAPI document name the
// version the command reports.
func TestServeVersion(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	defer p.stop()
	want := buildVersion() // the server is this test binary too
	if p.version != want {
		t.Errorf("banner version %q; want %q", p.version, want)
	}
	r := p.do(t.Context(), http.MethodGet, "/openapi.json", "", nil)
	var doc struct{ Info struct{ Version string } }
	if r.err != nil || r.status != http.StatusOK || json.Unmarshal(r.body, &doc) != nil {
		t.Fatalf("GET /openapi.json: %v", r)
	}
	if doc.Info.Version != want {
		t.Errorf("OpenAPI info.version %q; want %q", doc.Info.Version, want)
	}
}
