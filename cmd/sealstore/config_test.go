package main

// Tests of the config file layer (config.go): what a file may hold, errors
// that name the line but never a value, where each setting comes from
// (flag, then SEALSTORE_* variable, then file, then default), and
// docs/sealstore.conf.example against configKeys. The CLI wiring of
// --config is in testdata/script/config.txtar.

import (
	"bytes"
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
)

// exampleConfig is the shipped example, relative to this package.
const exampleConfig = "../../docs/sealstore.conf.example"

// secretMark is part of every value in the error cases: no error may
// contain it, since a config file may hold a value that must not reach a
// log.
const secretMark = "s3cr3t"

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sealstore.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadConfig(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, strings.Join([]string{
		"# sealstore test config",
		"",
		"   # an indented comment",
		"\t",
		"version=1",
		"  store   =   dynamodb  ",
		`region ="eu-west-1"`,
		"kms-key-id = arn:aws:kms:eu-west-1:111122223333:key/x\r",
		`table-prefix = ""`,
		"data-dir = /var/lib/seal store",
		"tls-cert = /etc/a=b.pem",
		"listen= 127.0.0.1:9443",
		"http-listen =",
		"key-cache-size\t=\t10",
	}, "\n"))
	got, err := readConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"store": "dynamodb", "region": "eu-west-1",
		"kms-key-id": "arn:aws:kms:eu-west-1:111122223333:key/x", "table-prefix": "",
		"data-dir": "/var/lib/seal store", "tls-cert": "/etc/a=b.pem",
		"listen": "127.0.0.1:9443", "http-listen": "", "key-cache-size": "10",
	}
	if !maps.Equal(got, want) {
		t.Errorf("readConfig =\n%q\nwant\n%q", got, want)
	}
}

func TestReadConfigEveryKey(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("version = 1\n")
	for _, k := range slices.Sorted(maps.Keys(configKeys)) {
		b.WriteString(k + " = value-of-" + k + "\n")
	}
	got, err := readConfig(writeConfig(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(configKeys) {
		t.Errorf("got %d settings, want %d: %q", len(got), len(configKeys), got)
	}
	for k := range configKeys {
		if got[k] != "value-of-"+k {
			t.Errorf("%s = %q, want %q", k, got[k], "value-of-"+k)
		}
	}
}

func TestReadConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"empty file", "", []string{`no "version = 1" line`}},
		{"no version", "# c\nstore = " + secretMark + "\n", []string{`no "version = 1" line`}},
		{"empty version", "version =\n", []string{`no "version = 1" line`}},
		{"version 2", "version = 2\n", []string{`version "2"`, "reads version 1"}},
		{"version 1.0", "version = 1.0\n", []string{`version "1.0"`}},
		{"version twice", "version = 1\nversion = 1\n", []string{"line 2", "version", "twice"}},
		{"unknown key", "version = 1\n\n# c\npassword = " + secretMark + "\n", []string{"line 4", `unknown setting "password"`}},
		{"key in upper case", "version = 1\nKMS-KEY-ID = " + secretMark + "\n", []string{"line 2", `"KMS-KEY-ID"`}},
		{"underscore for dash", "version = 1\nkms_key_id = " + secretMark + "\n", []string{"line 2", `"kms_key_id"`}},
		{"config in config", "version = 1\nconfig = " + secretMark + "\n", []string{"line 2", `unknown setting "config"`}},
		{"repeated key", "version = 1\nkms-key-id = " + secretMark + "-a\n# c\nkms-key-id = " + secretMark + "-b\n",
			[]string{"line 4", "kms-key-id", "twice"}},
		{"repeated key, first empty", "version = 1\nregion =\nregion = " + secretMark + "\n", []string{"line 3", "region", "twice"}},
		{"repeated version, first empty", "version =\nversion = 1\n", []string{"line 2", "version", "twice"}},
		{"no equals sign", "version = 1\nsst_" + secretMark + "_token\n", []string{"line 2", "want key = value"}},
		{"colon for equals", "version = 1\nkms-key-id: " + secretMark + "\n", []string{"line 2", "want key = value"}},
		{"no key", "version = 1\n = " + secretMark + "\n", []string{"line 2", "want key = value"}},
		{"error before version", "store = bolt\nnope = " + secretMark + "\nversion = 1\n", []string{"line 2", `"nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readConfig(writeConfig(t, tt.text))
			var problems []string
			if err == nil {
				problems = append(problems, "no error")
			} else {
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						problems = append(problems, "error lacks "+w)
					}
				}
				if strings.Contains(err.Error(), secretMark) {
					problems = append(problems, "error echoes a value")
				}
			}
			switch {
			case len(problems) == 0:
			default:
				t.Errorf("readConfig(%q): %s; error %v", tt.text, strings.Join(problems, "; "), err)
			}
		})
	}
}

func TestReadConfigUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "missing.conf"), dir} {
		if _, err := readConfig(path); err == nil {
			t.Errorf("readConfig(%s): no error", path)
		}
		_, err := loadSettings([]string{"--config", path})
		if err == nil || !strings.Contains(err.Error(), "config file "+path) {
			t.Errorf("loadSettings(--config %s): error %v, want one naming the file", path, err)
		}
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for flag, want := range map[string]string{
		"data-dir": "SEALSTORE_DATA_DIR", "listen": "SEALSTORE_LISTEN",
		"kms-key-id": "SEALSTORE_KMS_KEY_ID", "dynamodb-endpoint": "SEALSTORE_DYNAMODB_ENDPOINT",
		"key-cache-ttl": "SEALSTORE_KEY_CACHE_TTL",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

// clearSealstoreEnv unsets, for the test, every SEALSTORE_* variable a
// command reads.
func clearSealstoreEnv(t *testing.T) {
	t.Helper()
	unsetenv(t, "SEALSTORE_CONFIG")
	for k := range configKeys {
		unsetenv(t, envName(k))
	}
}

// unsetenv unsets a variable for the test (a set but empty variable counts
// as a value).
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value after the test
	os.Unsetenv(name)
}

// setenv sets a variable for the test, or unsets it for "".
func setenv(t *testing.T, name, value string) {
	t.Helper()
	if value == "" {
		unsetenv(t, name)
		return
	}
	t.Setenv(name, value)
}

// TestLoadSettings checks each way of naming the config file.
func TestLoadSettings(t *testing.T) {
	clearSealstoreEnv(t)
	a := writeConfig(t, "version = 1\nstore = from-a\n")
	b := writeConfig(t, "version = 1\nstore = from-b\n")
	tests := []struct {
		env  string // SEALSTORE_CONFIG
		args []string
		want string // the store setting; "" for no file
	}{
		{"", nil, ""},
		{"", []string{"--config", a}, "from-a"},
		{"", []string{"--config=" + a}, "from-a"},
		{"", []string{"-config", a}, "from-a"},
		{"", []string{"-config=" + a}, "from-a"},
		{"", []string{"--data-dir", "d", "--config", a, "x"}, "from-a"},
		{"", []string{"--config", a, "--config", b}, "from-b"},
		{"", []string{"--", "--config", a}, ""},
		{a, nil, "from-a"},
		{a, []string{"--config", b}, "from-b"},
		{a, []string{"--config="}, ""},
	}
	for _, tt := range tests {
		setenv(t, "SEALSTORE_CONFIG", tt.env)
		s, err := loadSettings(tt.args)
		if err != nil {
			t.Errorf("SEALSTORE_CONFIG=%q loadSettings(%q): %v", tt.env, tt.args, err)
			continue
		}
		if got := s.file["store"]; got != tt.want {
			t.Errorf("SEALSTORE_CONFIG=%q loadSettings(%q): store %q, want %q", tt.env, tt.args, got, tt.want)
		}
	}
}

// runInProcess runs a sealstore command line in this process. Its context
// is already cancelled, so that a command that gets past its checks by
// mistake stops at once instead of serving.
func runInProcess(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errb bytes.Buffer
	code = run(ctx, args, &out, &errb)
	return out.String(), errb.String(), code
}

// failed stands for any exit status but exitOK in tests that should not
// pin which failure status a command uses.
const failed = -1

// TestConfigPrecedence sets each setting in a config file, then also in
// its SEALSTORE_* variable, then also with its flag, and checks after each
// step which value the command used, through the error that quotes it.
func TestConfigPrecedence(t *testing.T) {
	clearSealstoreEnv(t)
	tmp := t.TempDir()
	dir := func(name string) string { return filepath.Join(tmp, name) }
	tests := []struct {
		args []string // the command
		key  string   // the setting under test
		code int      // the exit status of every step; failed: any but 0
		// The setting's value in each step, and the message that shows
		// the value used; defaultWant, if set, is the message without
		// file, variable or flag.
		file, env, flag, defaultWant string
		want                         func(value string) string
	}{
		{
			args: []string{"serve", "--data-dir", tmp, "--listen", "127.0.0.1:0"}, key: "store", code: exitUsage,
			file: "from-file", env: "from-env", flag: "from-flag",
			want: func(v string) string { return `sealstore serve: --store "` + v + `": want bolt or dynamodb` },
		},
		{
			args: []string{"init", "--data-dir", tmp}, key: "store", code: exitUsage,
			file: "from-file", env: "from-env", flag: "from-flag",
			want: func(v string) string { return `sealstore init: --store "` + v + `"` },
		},
		{
			args: []string{"tokens", "list", "--data-dir", tmp}, key: "store", code: failed,
			file: "from-file", env: "from-env", flag: "from-flag",
			want: func(v string) string { return `sealstore tokens list: --store "` + v + `"` },
		},
		{
			args: []string{"serve", "--data-dir", tmp, "--listen", "127.0.0.1:0"}, key: "key-cache-size", code: exitUsage,
			file: "0", env: "abc", flag: "-1",
			want: func(v string) string { return `--key-cache-size "` + v + `" is not a positive number` },
		},
		{
			args: []string{"serve", "--data-dir", tmp, "--listen", "127.0.0.1:0"}, key: "key-cache-ttl", code: exitUsage,
			file: "5", env: "-5m", flag: "never",
			want: func(v string) string { return `--key-cache-ttl "` + v + `" is not a positive duration` },
		},
		{
			args: []string{"tokens", "list"}, key: "data-dir", code: failed,
			file: dir("from-file"), env: dir("from-env"), flag: dir("from-flag"),
			defaultWant: "no sealstore database in sealstore-data ",
			want:        func(v string) string { return "no sealstore database in " + v + " " },
		},
		{
			args: []string{"tokens", "list", "--store", "dynamodb", "--kms-key-id", "k"}, key: "dynamodb-endpoint", code: failed,
			file: "http://10.0.0.1", env: "http://10.0.0.2", flag: "ftp://127.0.0.1",
			want: func(v string) string {
				if strings.HasPrefix(v, "ftp:") {
					return "--dynamodb-endpoint: the scheme must be https://"
				}
				return "--dynamodb-endpoint: plain http:// is allowed only to a loopback address"
			},
		},
	}
	for _, tt := range tests {
		conf := writeConfig(t, "version = 1\n"+tt.key+" = "+tt.file+"\n")
		variable := envName(tt.key)
		steps := []struct {
			env  string
			args []string
			want string
		}{
			{"", nil, tt.defaultWant},
			{"", []string{"--config", conf}, tt.want(tt.file)},
			{tt.env, []string{"--config", conf}, tt.want(tt.env)},
			{tt.env, []string{"--config", conf, "--" + tt.key, tt.flag}, tt.want(tt.flag)},
			{tt.env, []string{"--" + tt.key + "=" + tt.flag, "--config=" + conf}, tt.want(tt.flag)},
		}
		for _, s := range steps {
			if s.want == "" {
				continue
			}
			args := append(slices.Clone(tt.args), s.args...)
			setenv(t, variable, s.env)
			stdout, stderr, code := runInProcess(t, args...)
			codeOK := code == tt.code || (tt.code == failed && code != exitOK)
			if !codeOK || !strings.Contains(stderr, s.want) || stdout != "" {
				t.Errorf("%s=%q sealstore %s:\nexit %d, stdout %q, stderr %q\nwant exit %d, stderr with %q",
					variable, s.env, strings.Join(args, " "), code, stdout, stderr, tt.code, s.want)
			}
		}
		unsetenv(t, variable)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil || len(entries) != 0 {
		t.Errorf("the commands wrote to %s: %v %v", tmp, entries, err)
	}
	if _, err := os.Stat(datadir.Default); err == nil {
		t.Errorf("the commands made ./%s", datadir.Default)
	}
}

// TestConfigFileForServeOnlyKeys checks that init and tokens accept a file
// holding serve's settings too, and ignore them.
func TestConfigFileForServeOnlyKeys(t *testing.T) {
	clearSealstoreEnv(t)
	tmp := t.TempDir()
	conf := writeConfig(t, strings.Join([]string{
		"version = 1", "store = from-file", "listen = nonsense", "http-listen = nonsense",
		"tls-cert = /nonexistent", "drain-timeout = nonsense", "key-cache-ttl = nonsense", "key-cache-size = nonsense",
	}, "\n"))
	for _, args := range [][]string{{"init", "--data-dir", tmp}, {"tokens", "list"}, {"tokens", "create", "--scope", "items:read"}, {"tokens", "revoke", "r"}} {
		_, stderr, code := runInProcess(t, append(args, "--config", conf)...)
		if code == exitOK || !strings.Contains(stderr, `--store "from-file"`) {
			t.Errorf("sealstore %s --config: exit %d, stderr %q; want the store error", strings.Join(args, " "), code, stderr)
		}
	}
}

// settingLine matches a line of the example that sets a key, in force or
// commented out ("#key = value"; prose comments start with "# ").
var settingLine = regexp.MustCompile(`(?m)^#?([a-z][a-z0-9-]*) *=`)

// TestConfigExample checks docs/sealstore.conf.example: it is a valid
// config file as shipped, serve accepts its settings, it documents every
// key in configKeys with its variable and no other key, and each of its
// marked sections, uncommented, is valid and passes the backend checks.
func TestConfigExample(t *testing.T) {
	clearSealstoreEnv(t)
	raw, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if _, err := readConfig(exampleConfig); err != nil {
		t.Fatalf("the example as shipped: %v", err)
	}
	// serve parses the example's durations and sizes before it checks the
	// (empty) listen address.
	_, stderr, code := runInProcess(t, "serve", "--config", exampleConfig, "--data-dir", t.TempDir(), "--listen", "")
	if code != exitUsage || !strings.Contains(stderr, "a data directory and a listen address are required") {
		t.Errorf("serve --config example --listen '': exit %d, stderr %q; want the listen address error", code, stderr)
	}

	mentioned := map[string]bool{}
	for _, m := range settingLine.FindAllStringSubmatch(text, -1) {
		mentioned[m[1]] = true
		if m[1] != "version" && !configKeys[m[1]] && !fileOnlyKeys[m[1]] {
			t.Errorf("the example sets %q, which is not in configKeys", m[1])
		}
	}
	for k := range fileOnlyKeys {
		if !mentioned[k] {
			t.Errorf("the example has no %q line (not even commented out)", k)
		}
		if strings.Contains(text, envName(k)) {
			t.Errorf("the example names %s, but %q is set in the file only", envName(k), k)
		}
	}
	for k := range configKeys {
		if !mentioned[k] {
			t.Errorf("the example has no %q line (not even commented out)", k)
		}
		if !strings.Contains(text, envName(k)) {
			t.Errorf("the example does not name %s, the variable of %q", envName(k), k)
		}
	}

	for _, name := range []string{"production", "emulators"} {
		t.Run(name, func(t *testing.T) {
			settings := uncommentSection(t, text, name)
			b := exampleBackend(t, settings)
			if err := b.Validate(); err != nil {
				t.Errorf("section %s: %v (backend %+v)", name, err, b)
			}
			if b.Kind != "dynamodb" || b.KMSKeyID == "" || b.Region == "" {
				t.Errorf("section %s: backend %+v; want dynamodb with a region and a KMS key", name, b)
			}
		})
	}
}

// uncommentSection returns the settings of the example with the setting
// lines between "# BEGIN SECTION name" and "# END SECTION name"
// uncommented, as a user would.
func uncommentSection(t *testing.T, text, name string) map[string]string {
	t.Helper()
	begin, end := "# BEGIN SECTION "+name, "# END SECTION "+name
	lines := strings.Split(text, "\n")
	in, found, n := false, false, 0
	for i, l := range lines {
		switch {
		case l == begin:
			in, found = true, true
		case l == end:
			in = false
		case in && settingLine.MatchString(l):
			lines[i] = strings.TrimPrefix(l, "#")
			n++
		}
	}
	if !found || in || n == 0 {
		t.Fatalf("the example has no section %q between %q and %q with settings", name, begin, end)
	}
	settings, err := readConfig(writeConfig(t, strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("the example with section %s uncommented: %v", name, err)
	}
	return settings
}

// exampleBackend is the backend that the store flags make of settings.
func exampleBackend(t *testing.T, file map[string]string) (b server.Backend) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	where := storeFlags(fs, settings{file: file})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	_, b = where()
	return b
}

// TestConfigKeysAreServeFlags checks that configKeys and serve's flags
// (less --config) are the same set.
func TestConfigKeysAreServeFlags(t *testing.T) {
	t.Parallel()
	_, stderr, code := runInProcess(t, "serve", "-h")
	if code != exitOK {
		t.Fatalf("serve -h: exit %d, stderr %q", code, stderr)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(stderr, -1) {
		flags[m[1]] = true
	}
	if !flags["config"] {
		t.Errorf("serve has no --config flag: %q", stderr)
	}
	delete(flags, "config")
	if !maps.Equal(flags, configKeys) {
		t.Errorf("serve's flags %v, configKeys %v: want the same", slices.Sorted(maps.Keys(flags)), slices.Sorted(maps.Keys(configKeys)))
	}
}

// FuzzReadConfig checks that readConfig never panics, returns only known
// keys, and that what it returns reads back the same when written out
// again with every value quoted.
func FuzzReadConfig(f *testing.F) {
	if example, err := os.ReadFile(exampleConfig); err == nil {
		f.Add(string(example))
	}
	f.Add("version = 1\nstore = dynamodb\nregion = \"eu-west-1\"\n")
	f.Add("version=1\n# c\n\n  listen =  \" 127.0.0.1:1 \"  \r\ntls-cert = a=b\n")
	f.Add("version = 1\nregion =\nregion = x\n")
	f.Add("version = 2\n")
	f.Add("store\n")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := readConfig(writeConfig(t, text))
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString("version = 1\n")
		for _, k := range slices.Sorted(maps.Keys(got)) {
			if !configKeys[k] {
				t.Fatalf("readConfig(%q) returned unknown key %q", text, k)
			}
			b.WriteString(k + ` = "` + got[k] + "\"\n")
		}
		again, err := readConfig(writeConfig(t, b.String()))
		if err != nil || !maps.Equal(got, again) {
			t.Fatalf("readConfig(%q) = %q; written out and read again: %q, %v", text, got, again, err)
		}
	})
}
