package main

// End-to-end tests of "sealstore init", "sealstore tokens" and "sealstore
// serve" on DynamoDB and KMS, against the emulators that ./scripts/test
// starts (internal/emutest); without them the tests are skipped with the
// reason. Each test has its own table prefix.

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/internal/emutest"
)

// emuTimeout bounds one command against the emulators (init waits for its
// tables to become active; under -race every step is slower).
const emuTimeout = 2 * time.Minute

const bootstrapLine = "bootstrap admin token (shown once; store it now): "

var emuTokenRE = regexp.MustCompile(`^sst_[A-Za-z0-9_-]{43}$`)

// emuTokenInText finds token secrets in output; counting "sst_" alone
// would also count the 4 characters turning up inside a token.
var emuTokenInText = regexp.MustCompile(`sst_[A-Za-z0-9_-]{43}`)

// emuEnv is the environment of a command run against the emulators: ours
// without SEALSTORE_* and AWS_* variables, the emulators' credentials, no
// shared AWS files and no instance metadata, then extra. Under -race, a
// command that exits 0 would wait a second for late race reports
// (GORACE atexit_sleep_ms); reports come before exit here, so it does not.
func emuEnv(e emutest.Env, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEALSTORE_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	env = append(env, strings.TrimSpace("GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0"),
		"AWS_ACCESS_KEY_ID="+e.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+e.SecretAccessKey,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	return append(env, extra...)
}

// emuRun runs "sealstore ARGS..." with emuEnv(e, extra...) and returns its
// stdout, stderr, exit status and run time.
func emuRun(t *testing.T, e emutest.Env, extra []string, args ...string) (stdout, stderr string, code int, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), emuTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sealstore", args...)
	cmd.Env = emuEnv(e, extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took = time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("sealstore %s did not finish within %v; stderr %q", strings.Join(args, " "), emuTimeout, errb.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("sealstore %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(errb.String(), "DATA RACE") {
		t.Errorf("sealstore %s reported a data race:\n%s", strings.Join(args, " "), errb.String())
	}
	what := args[0]
	if what == "tokens" && len(args) > 1 {
		what += " " + args[1]
	}
	t.Logf("sealstore %s: exit %d in %v", what, cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
	return out.String(), errb.String(), cmd.ProcessState.ExitCode(), took
}

// emuStore is how a command is told where the data is: flags, a config
// file or variables.
type emuStore struct {
	env  []string
	args []string
}

// emuSettings returns the store settings for e and prefix, by name.
func emuSettings(t *testing.T, e emutest.Env, prefix, dataDir string) map[string]string {
	t.Helper()
	return map[string]string{
		"store": "dynamodb", "region": e.Region, "dynamodb-endpoint": e.DynamoDBEndpoint,
		"kms-endpoint": e.KMSEndpoint, "kms-key-id": e.KMSKeyARN, "table-prefix": prefix, "data-dir": dataDir,
	}
}

// emuWays returns the store settings given as flags, as a --config file,
// as SEALSTORE_* variables, and as a file named by SEALSTORE_CONFIG.
func emuWays(t *testing.T, settings map[string]string) map[string]emuStore {
	t.Helper()
	var flags, env []string
	conf := "# written by " + t.Name() + "\nversion = 1\n"
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		flags = append(flags, "--"+k, settings[k])
		env = append(env, envName(k)+"="+settings[k])
		conf += k + " = " + settings[k] + "\n"
	}
	path := filepath.Join(t.TempDir(), "sealstore.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]emuStore{
		"flags":  {args: flags},
		"config": {args: []string{"--config", path}},
		"env":    {env: env},
		"envcfg": {env: []string{"SEALSTORE_CONFIG=" + path}},
	}
}

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}

// TestDynamoInitAndTokens runs init twice (the bootstrap token comes only
// the first time), then creates, lists and revokes a token with the store
// settings given each way.
func TestDynamoInitAndTokens(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	prefix := emutest.Prefix(t)
	dataDir := t.TempDir()
	ways := emuWays(t, emuSettings(t, e, prefix, dataDir))
	flags := ways["flags"]

	stdout, stderr, code, _ := emuRun(t, e, flags.env, append([]string{"init"}, flags.args...)...)
	if code != exitOK {
		t.Fatalf("first init: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var boot, ready []string
	for _, l := range lines(stdout) {
		if tok, ok := strings.CutPrefix(l, bootstrapLine); ok {
			boot = append(boot, tok)
		}
		if strings.HasPrefix(l, "ready") {
			ready = append(ready, l)
		}
	}
	if len(boot) != 1 || !emuTokenRE.MatchString(boot[0]) || len(ready) != 1 || len(emuTokenInText.FindAllString(stdout, -1)) != 1 || strings.Count(emuTokenInText.ReplaceAllString(stdout, ""), "sst_") != 0 {
		t.Fatalf("first init: stdout\n%s\nwant one bootstrap token line and one ready line", stdout)
	}
	if strings.Contains(stderr, boot[0]) {
		t.Errorf("first init: the bootstrap token is on stderr too: %q", stderr)
	}
	if !strings.Contains(stdout, prefix) || !strings.Contains(stdout, e.KMSKeyARN) {
		t.Errorf("first init: stdout does not say where the data is (prefix %s, key %s):\n%s", prefix, e.KMSKeyARN, stdout)
	}

	stdout, stderr, code, _ = emuRun(t, e, flags.env, append([]string{"init"}, flags.args...)...)
	if code != exitOK || strings.Contains(stdout, "sst_") || strings.Contains(stdout, "bootstrap") || !strings.Contains(stdout, "ready") {
		t.Fatalf("second init: exit %d, stdout\n%s\nstderr %q\nwant exit 0, ready and no token", code, stdout, stderr)
	}

	for _, name := range []string{"flags", "config", "env", "envcfg"} {
		t.Run(name, func(t *testing.T) {
			w := ways[name]
			tokenName := "r1-" + name
			tokens := func(args ...string) (string, string, int) {
				t.Helper()
				stdout, stderr, code, _ := emuRun(t, e, w.env, append(append([]string{"tokens"}, args...), w.args...)...)
				return stdout, stderr, code
			}
			stdout, stderr, code := tokens("create", "--scope", "items:read", "--name", tokenName)
			if code != exitOK || !emuTokenRE.MatchString(strings.TrimSuffix(stdout, "\n")) {
				t.Fatalf("tokens create: exit %d, stdout %q, stderr %q; want one sst_ line", code, stdout, stderr)
			}
			got := emuListTokens(t, tokens)
			if got["bootstrap-admin"] != "*:admin" || got[tokenName] != "items:read" {
				t.Errorf("tokens list = %q; want bootstrap-admin (*:admin) and %s (items:read)", got, tokenName)
			}
			if _, stderr, code = tokens("revoke", tokenName); code != exitOK {
				t.Fatalf("tokens revoke: exit %d, stderr %q", code, stderr)
			}
			got = emuListTokens(t, tokens)
			if _, ok := got[tokenName]; ok || got["bootstrap-admin"] == "" {
				t.Errorf("after revoke, tokens list = %q; want bootstrap-admin and not %s", got, tokenName)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dataDir, "sealstore.db")); err == nil {
		t.Errorf("%s has an embedded database: the commands used bolt", dataDir)
	}
}

// emuListTokens runs "tokens list" and returns the scopes by token name.
func emuListTokens(t *testing.T, tokens func(args ...string) (string, string, int)) map[string]string {
	t.Helper()
	stdout, stderr, code := tokens("list")
	if code != exitOK {
		t.Fatalf("tokens list: exit %d, stderr %q", code, stderr)
	}
	got := map[string]string{}
	for _, l := range lines(stdout) {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("tokens list line %q: want NAME, SCOPES and CREATED", l)
		}
		got[f[0]] = f[1]
	}
	return got
}

// TestDynamoNeedsInit checks that serve and the token tools on a table
// prefix that was never initialised fail quickly, saying to run
// 'sealstore init', and create no tables.
func TestDynamoNeedsInit(t *testing.T) {
	t.Parallel()
	e := emutest.Both(t)
	prefix := emutest.Prefix(t)
	flags := emuWays(t, emuSettings(t, e, prefix, t.TempDir()))["flags"].args
	const quick = 30 * time.Second
	for _, args := range [][]string{
		{"serve", "--listen", "127.0.0.1:0"},
		{"tokens", "list"},
		{"tokens", "create", "--scope", "items:read"},
		{"serve", "--listen", "127.0.0.1:0"}, // the tokens commands made no table either
	} {
		stdout, stderr, code, took := emuRun(t, e, nil, append(args, flags...)...)
		if code == exitOK || !strings.Contains(stderr, "sealstore init") || took > quick {
			t.Errorf("sealstore %s on prefix %s: exit %d after %v, stderr %q; want a failure within %v naming 'sealstore init'",
				strings.Join(args, " "), prefix, code, took, stderr, quick)
		}
		if strings.Contains(stdout, "sst_") {
			t.Errorf("sealstore %s on prefix %s printed a token: %q", strings.Join(args, " "), prefix, stdout)
		}
	}
}
