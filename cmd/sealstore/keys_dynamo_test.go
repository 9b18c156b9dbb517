package main

// "sealstore keys" against a server on DynamoDB and KMS (the emulators
// that ./scripts/test starts; without them the test is skipped, or fails
// under SEALSTORE_REQUIRE_EMULATORS=1).

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/datadir"
	"github.com/sealstore/sealstore/internal/emutest"
)

// TestKeysDynamoRewrapSurvivesSIGKILL is TestKeysRewrapSurvivesSIGKILL on
// DynamoDB + KMS: the restarted server takes the job over once its lease
// (records.JobLease) has run out, which "keys rewrap" waits for.
func TestKeysDynamoRewrapSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	dataDir := t.TempDir()
	flags := emuWays(t, emuSettings(t, e, emutest.Prefix(t), dataDir))["flags"].args
	stdout, stderr, code, _ := emuRun(t, e, nil, append([]string{"init"}, flags...)...)
	var admin string
	for _, l := range lines(stdout) {
		if tok, ok := strings.CutPrefix(l, bootstrapLine); ok {
			admin = tok
		}
	}
	if code != exitOK || !emuTokenRE.MatchString(admin) {
		t.Fatalf("init: exit %d, stdout %q, stderr %q; want a bootstrap token", code, stdout, stderr)
	}
	rewrapAcrossKill(t, func() *keysTarget {
		p := startEmuServer(t, e, dataDir, append([]string{"--listen", "127.0.0.1:0"}, flags...)...)
		return &keysTarget{p: p, admin: admin, certFile: filepath.Join(dataDir, datadir.CertFile), secrets: []string{admin}}
	}, nil)
}

// startEmuServer starts "sealstore serve ARGS..." with emuEnv(e), waits
// for its banner (which ends, on DynamoDB, with the line saying where the
// data is) and reads its address and fingerprint from it; dataDir holds
// its certificate.
func startEmuServer(t *testing.T, e emutest.Env, dataDir string, args ...string) *proc {
	t.Helper()
	p := startProcEnv(t, emuEnv(e), func(line string) bool {
		return strings.HasPrefix(line, "records and keys: DynamoDB tables ")
	}, args...)
	p.dir = dataDir
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("sealstore serve exited before serving (%v):\n%s", p.state, p.stderr.String())
	case <-time.After(emuTimeout):
		t.Fatalf("sealstore serve printed no banner within %v; stdout so far: %q", emuTimeout, p.stdout())
	}
	for _, l := range p.stdout() {
		if a, ok := strings.CutPrefix(l, "sealstore listening on https://"); ok {
			p.addr = a
		}
		if fp, ok := strings.CutPrefix(l, "certificate SHA-256 fingerprint: "); ok {
			p.fingerprint = fp
		}
		if strings.Contains(l, "sst_") {
			t.Errorf("serve on DynamoDB printed a token: %q", l)
		}
	}
	if p.addr == "" || p.fingerprint == "" {
		t.Fatalf("banner without address or fingerprint: %q", p.stdout())
	}
	p.client = newClient(t, filepath.Join(dataDir, datadir.CertFile))
	return p
}
