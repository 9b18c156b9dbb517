package keyringtest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// canary starts the recognisable key bytes that leak tests make; output that
// contains it leaks part of such a key.
const canary = "CANARY"

// ErrorTexts returns err as %v, %+v and %#v print it, failing t if err is
// nil.
func ErrorTexts(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	return []string{err.Error(), fmt.Sprintf("%+v %#v", err, err)}
}

// CheckNoKeyBytes reports, through t.Errorf, every output that contains one
// of keys in a common encoding, or the canary prefix of one that has it.
func CheckNoKeyBytes(t testing.TB, outs []string, keys ...[]byte) {
	t.Helper()
	for _, key := range keys {
		for _, o := range outs {
			if leak := leakedForm(o, key); leak != "" {
				t.Errorf("output leaks key bytes as %s: %q", leak, o)
			}
		}
	}
}

// leakedForm names the encoding in which out contains b, or "".
func leakedForm(out string, b []byte) string {
	forms := map[string]string{
		"raw":        string(b),
		"quoted":     strings.Trim(fmt.Sprintf("%q", b), `"`),
		"hex":        hex.EncodeToString(b),
		"HEX":        strings.ToUpper(hex.EncodeToString(b)),
		"base64":     base64.StdEncoding.EncodeToString(b),
		"base64-raw": base64.RawStdEncoding.EncodeToString(b),
		"base64-url": base64.RawURLEncoding.EncodeToString(b),
		"decimal":    strings.Trim(fmt.Sprint(b), "[]"),
	}
	if bytes.HasPrefix(b, []byte(canary)) {
		forms["canary"] = canary
	}
	for name, f := range forms {
		if strings.Contains(out, f) {
			return name
		}
	}
	return ""
}
