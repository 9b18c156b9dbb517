package conformance

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	e, ok := keys.entries[DefaultBranchKey]
	if !ok {
		t.Fatalf("no %s entry", DefaultBranchKey)
	}
	if e.Type != "static-branch-key" || e.KeyID != "bd3842ff-3076-4092-9918-4395730050b8" ||
		e.BranchKeyVersion != "e9ce18a3-edb5-4272-9f86-1cacb7997ff6" {
		t.Errorf("%s: type %q key-id %q version %q", DefaultBranchKey, e.Type, e.KeyID, e.BranchKeyVersion)
	}
	if _, err := keys.keyring(nil); err != nil {
		t.Errorf("default keyring: %v", err)
	}
}

func TestLoadKeysErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "keys.json")
		_, err := LoadKeys(path)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want ErrNotExist naming %s", err, path)
		}
	})
	t.Run("decrypt manifest", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(vectorsDir(t), "runtimes/java/decrypt_java_33.json")
		_, err := LoadKeys(path)
		if err == nil || !strings.Contains(err.Error(), "not a keys manifest") || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v, want one naming %s as not a keys manifest", err, path)
		}
	})
	for _, tt := range []struct{ name, content, want string }{
		{"not JSON", `{"manifest":`, "keys.json"},
		{"wrong type", `{"manifest":{"type":"aws-dbesdk-decrypt","version":2},"keys":{"a":{"type":"static-branch-key"}}}`, "not a keys manifest"},
		{"no manifest", `{"keys":{"a":{"type":"static-branch-key"}}}`, "not a keys manifest"},
		{"no keys", `{"manifest":{"type":"keys","version":2},"keys":{}}`, "not a keys manifest"},
		{"keys not an object", `{"manifest":{"type":"keys","version":2},"keys":[]}`, "keys.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadKeys(writeTemp(t, "keys.json", tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKeyringFromDescription(t *testing.T) {
	t.Parallel()
	keys := sharedKeys(t)
	tests := []struct {
		desc    string
		skipped bool
		want    string // error substring; "" means a keyring
	}{
		{desc: `{"type":"static-branch-key","key":"static-branch-key-1"}`},
		{desc: `{"type":"aws-kms-hierarchy","key":"static-branch-key-1"}`},
		{desc: `{"type":"raw","key":"aes-256","encryption-algorithm":"aes","provider-id":"aws-raw-vectors-persistent-aes-256"}`},
		{desc: `{"type":"aws-kms","key":"us-west-2-decryptable"}`, skipped: true, want: "KMS"},
		{desc: `{"type":"aws-kms-rsa","key":"us-west-2-rsa-mrk"}`, skipped: true, want: "KMS"},
		{desc: `{"type":"aws-kms-hierarchy","key":"no-such-key"}`, want: `"no-such-key"`},
		{desc: `{"type":"static-branch-key","key":"us-west-2-decryptable"}`, want: `"us-west-2-decryptable"`},
		{desc: `{"type":"raw","key":"no-such-key","encryption-algorithm":"aes","provider-id":"p"}`, want: `"no-such-key"`},
		{desc: `{"type":"raw","key":"rsa-4096-private","encryption-algorithm":"rsa","provider-id":"p"}`, want: "AES"},
		{desc: `{"type":"static-material-keyring","key":"x"}`, want: `"static-material-keyring"`},
		{desc: `"aws-kms"`, want: "key description"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			kr, err := keys.keyring(json.RawMessage(tt.desc))
			if tt.want == "" {
				if err != nil || kr == nil {
					t.Errorf("keyring %v, error %v", kr, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if errors.Is(err, errSkip) != tt.skipped {
				t.Errorf("error %v: skipped %v, want %v", err, errors.Is(err, errSkip), tt.skipped)
			}
		})
	}
}
