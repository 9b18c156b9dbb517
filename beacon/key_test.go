package beacon

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestKeyEqual(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{9}, KeySize)
	a, _ := NewKey(raw)
	raw[0] = 0 // NewKey copied
	b := mustKey(t, 9)
	c := mustKey(t, 8)
	if !a.Equal(b) || a.Equal(c) || a.Equal(Key{}) || !(Key{}).Equal(Key{}) {
		t.Error("Equal is wrong")
	}
}

// TestNoKeyInOutput prints and logs keys and beacons every way a caller
// might, directly and nested, and looks for the secret bytes.
func TestNoKeyInOutput(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	k, _ := NewKey(raw)
	s := mustStandard(t, k, "n", 8)
	secrets := []string{hex.EncodeToString(raw[:4]), "171, 171", "[171", "abab"}
	hk, err := deriveHMACKey(raw, "n")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, hex.EncodeToString(hk[:4]), fmt.Sprint(hk[0])+" "+fmt.Sprint(hk[1]))

	type nested struct {
		k Key
		s Standard
		K Key
		S Standard
	}
	var out []string
	for _, v := range []any{k, s, &k, &s, nested{k, s, k, s}, []Key{k}, map[string]Standard{"x": s}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		j, _ := json.Marshal(v)
		out = append(out, string(j))
	}
	var logged bytes.Buffer
	l := slog.New(slog.NewTextHandler(&logged, nil))
	l.Info("x", "key", k, "beacon", s)
	out = append(out, logged.String())
	for _, o := range out {
		for _, sec := range secrets {
			if strings.Contains(o, sec) {
				t.Errorf("output %q contains key material %q", o, sec)
			}
		}
	}
}
