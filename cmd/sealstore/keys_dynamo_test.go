package main

// "sealstore keys" against a server on DynamoDB and KMS (the emulators
// that ./scripts/test starts; without them the test is skipped, or fails
// under SEALSTORE_REQUIRE_EMULATORS=1).

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/emutest"
)

// TestKeysDynamoRewrapSurvivesSIGKILL is TestKeysRewrapSurvivesSIGKILL on
// DynamoDB + KMS: the restarted server takes the job over once its lease
// (records.JobLease) has run out, which "keys rewrap" waits for.
func TestKeysDynamoRewrapSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	dataDir, flags, admin := emuInit(t, e)
	rewrapAcrossKill(t, func() *keysTarget {
		p := startEmuServer(t, e, dataDir, append([]string{"--listen", "127.0.0.1:0"}, flags...)...)
		return &keysTarget{p: p, admin: admin, certFile: filepath.Join(dataDir, datadir.CertFile), secrets: []string{admin}}
	}, nil)
}

// emuInit runs 'sealstore init' on fresh tables of the emulators and
// returns the data directory, the store flags and the bootstrap token.
func emuInit(t *testing.T, e emutest.Env) (dataDir string, flags []string, admin string) {
	t.Helper()
	dataDir = t.TempDir()
	flags = emuWays(t, emuSettings(t, e, emutest.Prefix(t), dataDir))["flags"].args
	stdout, stderr, code, _ := emuRun(t, e, nil, append([]string{"init"}, flags...)...)
	for _, l := range lines(stdout) {
		if tok, ok := strings.CutPrefix(l, bootstrapLine); ok {
			admin = tok
		}
	}
	if code != exitOK || !emuTokenRE.MatchString(admin) {
		t.Fatalf("init: exit %d, stdout %q, stderr %q; want a bootstrap token", code, stdout, stderr)
	}
	return dataDir, flags, admin
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

// TestKeysDynamoStandalone runs the key commands in their own process
// against DynamoDB + KMS, beside a running server, and checks that they
// are audited under the operator's name; on the embedded store
// --standalone is refused.
func TestKeysDynamoStandalone(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	dataDir, flags, admin := emuInit(t, e)
	p := startEmuServer(t, e, dataDir, append([]string{"--listen", "127.0.0.1:0"}, flags...)...)
	k := &keysTarget{p: p, admin: admin, certFile: filepath.Join(dataDir, datadir.CertFile), secrets: []string{admin}}
	const coll, n = "c", 40
	k.createCollection(t, coll)
	docs := k.putRecords(t, coll, n)
	// No token and no server address: only the store settings and AWS
	// credentials.
	aws := []string{"AWS_ACCESS_KEY_ID=" + e.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + e.SecretAccessKey,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true"}
	standalone := func(args ...string) keysRun {
		return k.runEnv(t, aws, append(append(args, "--standalone"), flags...)...)
	}
	standalone("rotate", coll).want(t, "standalone rotate", 0, `collection c: version 2 \([0-9a-f-]{36}\) is now active; .*\n`, "")
	standalone("status", coll).want(t, "standalone status", 0,
		`collection c: branch key \S+, active version 2, minimum decryptable version 1, 40 records\n(?s:.*)\n1 .* decryptable +40\n2 .* active +0\n`, "")
	standalone("retire", coll, "--min-version", "2").want(t, "standalone retire before rewrap", 1, "", "40 records are still under key version 1")
	standalone("rewrap", coll, "--detach").want(t, "standalone rewrap --detach", 2, "", "--detach needs a server")
	standalone("rewrap", coll).want(t, "standalone rewrap", 0, `rewrap of c: done — 40 rewrapped, 0 retried, 0 skipped, 0 failed, 2 passes, resumed 0 times\n`, "")
	standalone("retire", coll, "--min-version", "2").want(t, "standalone retire after rewrap", 0, `collection c: versions below 2 are retired\n(?s:.*)`, "")
	// The server reads every record (rewrapped by another process).
	for id, doc := range docs {
		var got map[string]any
		if st := k.api(t, admin, http.MethodGet, collPath(coll)+"/records/"+id, nil, &got); st != http.StatusOK || got["secret"] != doc["secret"] {
			t.Fatalf("GET %s after the standalone rewrap: %d %v", id, st, got)
		}
	}
	// The operations are in the audit trail under the operator's name.
	var trail struct {
		Entries []struct{ Token, Action, Outcome string }
		Cursor  string
	}
	seen := map[string]bool{}
	for path := "/v1/audit?collection=c&limit=1000"; path != ""; {
		if st := k.api(t, admin, http.MethodGet, path, nil, &trail); st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		for _, en := range trail.Entries {
			if strings.HasPrefix(en.Token, "standalone") {
				seen[en.Action+" "+en.Outcome] = true
			}
		}
		path = ""
		if trail.Cursor != "" {
			path = "/v1/audit?collection=c&limit=1000&cursor=" + trail.Cursor
		}
		trail.Cursor = ""
	}
	for _, want := range []string{"keys.rotate ok", "keys.status ok", "keys.retire conflict", "keys.rewrap ok", "keys.retire ok"} {
		if !seen[want] {
			t.Errorf("no standalone audit entry %q; saw %v", want, seen)
		}
	}
	standalone("shred", coll, "--confirm", coll).want(t, "standalone shred", 0, `collection c shredded at \S+: destroyed branch key \S+: 2 versions and its beacon key; 40 records made unreadable\n`, "")
	standalone("status", coll).want(t, "standalone status after shred", 0, `collection c: SHREDDED at .*\n`, "")
	// On the embedded store the running server holds the data directory.
	k.runEnv(t, nil, "status", coll, "--standalone", "--data-dir", t.TempDir()).want(t, "standalone on bolt", 1, "", "need --store dynamodb")
}
