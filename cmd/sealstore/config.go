package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// configVersion is the only config file version this build reads.
const configVersion = "1"

// configKeys are the settings a config file may hold: serve's flags, the
// superset of every command's. docs/sealstore.conf.example documents them.
var configKeys = map[string]bool{
	"data-dir": true, "listen": true, "http-listen": true, "tls-cert": true, "tls-key": true,
	"drain-timeout": true, "key-cache-ttl": true, "key-cache-size": true,
	"store": true, "region": true, "dynamodb-endpoint": true, "kms-endpoint": true,
	"kms-key-id": true, "table-prefix": true,
}

// fileOnlyKeys are settings only a config file may hold: no flag and no
// variable sets them, so that someone who can start the command or set
// its environment, or steals a token, cannot turn the audit sinks off.
var fileOnlyKeys = map[string]bool{
	"audit-file": true, "audit-syslog": true, "audit-syslog-facility": true, "audit-sink-required": true,
	"audit-sync": true, "audit-sync-interval": true, "audit-checkpoint-interval": true,
}

// settings supply flag defaults: a SEALSTORE_* environment variable, else
// the config file's value, else the built-in default. A flag given on the
// command line overrides them all.
type settings struct {
	file map[string]string
}

// loadSettings reads the config file named by --config among args (or
// SEALSTORE_CONFIG), if any.
func loadSettings(args []string) (settings, error) {
	path := os.Getenv("SEALSTORE_CONFIG")
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, p := range []string{"--config", "-config"} {
			if a == p && i+1 < len(args) {
				path = args[i+1]
			} else if v, ok := strings.CutPrefix(a, p+"="); ok {
				path = v
			}
		}
	}
	if path == "" {
		return settings{}, nil
	}
	file, err := readConfig(path)
	if err != nil {
		return settings{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return settings{file: file}, nil
}

// readConfig parses a config file: "key = value" lines, '#' comments, and a
// "version = 1" line. Unknown keys, repeated keys and other versions are
// errors, so a typo cannot silently fall back to a default.
func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte order mark some editors write
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		switch {
		case !ok || key == "":
			return nil, fmt.Errorf("line %d: want key = value", n)
		case key != "version" && !configKeys[key] && !fileOnlyKeys[key]:
			return nil, fmt.Errorf("line %d: unknown setting %q", n, key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: %s is set twice", n, key)
		}
		out[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if v := out["version"]; v != configVersion {
		if v == "" {
			return nil, errors.New(`no "version = 1" line`)
		}
		return nil, fmt.Errorf("version %q: this sealstore reads version %s", v, configVersion)
	}
	delete(out, "version")
	return out, nil
}

// envName is the environment variable of a flag: SEALSTORE_ and the name
// in upper case with '_' for '-'.
func envName(flagName string) string {
	return "SEALSTORE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// value returns the default of flag name. A variable that is set but
// empty counts: it can clear a value the file sets.
func (s settings) value(name, def string) string {
	if v, ok := os.LookupEnv(envName(name)); ok {
		return v
	}
	if v, ok := s.file[name]; ok {
		return v
	}
	return def
}

// String defines a string flag whose default comes from s.
func (s settings) String(fs *flag.FlagSet, name, def, usage string) *string {
	return fs.String(name, s.value(name, def), usage+" (env "+envName(name)+")")
}

// configFlag defines --config, which loadSettings has already read; it is
// defined so that the flag parser accepts it.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "config file of key = value settings (env SEALSTORE_CONFIG; see docs/sealstore.conf.example)")
}

// fileValue returns the config file's value of a file-only setting.
func (s settings) fileValue(name string) string { return s.file[name] }
