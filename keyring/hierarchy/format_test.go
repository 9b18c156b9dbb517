package hierarchy_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/keyring/rawaes"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// TestFormatNeverPrintsKeys prints every type that holds key bytes, also
// in an unexported field, with every verb: fmt cannot call secret.Bytes'
// methods through unexported fields, and under a verb that does not suit a
// field ("%s" of a pointer) it prints the field by reflection.
func TestFormatNeverPrintsKeys(t *testing.T) {
	t.Parallel()
	key := []byte("CANARY-branch-key-0123456789abcd")
	dataKey := []byte("CANARY-data-key-0123456789abcdef")
	sigKey := []byte("CANARY-signing-key-0123456789abc")
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: "b", Version: "e9ce18a3-edb5-4272-9f86-1cacb7997ff6", Key: secret.Copy(key)}}}
	cache := hierarchy.NewCache(hierarchy.DefaultTTL, 4, nil)
	kr, err := hierarchy.New("b", src, cache)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Get(context.Background(), "x", func(context.Context) (hierarchy.BranchKey, error) { return src.Keys[0], nil }); err != nil {
		t.Fatal(err)
	}
	raw, err := rawaes.New("ns", "name", key)
	if err != nil {
		t.Fatal(err)
	}
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := materials.Encryption{Suite: s, Context: keyringtest.Context(), DataKey: secret.Copy(dataKey)}
	if err := kr.OnEncrypt(context.Background(), &enc); err != nil {
		t.Fatal(err)
	}
	enc.SigningKeys = append(enc.SigningKeys, secret.Copy(sigKey))
	dec := materials.Decryption{Suite: s, Context: enc.Context, DataKey: secret.Copy(dataKey), SigningKey: secret.Copy(sigKey)}

	var leaks []string
	for _, k := range [][]byte{key, dataKey, sigKey} {
		leaks = append(leaks, hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k), fmt.Sprint(k), fmt.Sprintf("%q", k))
	}
	leaks = append(leaks, "CANARY")
	for _, v := range []any{
		kr, cache, raw, src, src.Keys[0], struct{ k *hierarchy.Keyring }{kr},
		struct{ r *rawaes.Keyring }{raw},
		struct{ r rawaes.Keyring }{*raw},
		struct{ c *hierarchy.Cache }{cache},
		struct{ s hierarchy.Static }{src},
		struct{ b hierarchy.BranchKey }{src.Keys[0]},
		struct{ b *hierarchy.BranchKey }{&src.Keys[0]},
		struct{ m materials.Encryption }{enc},
		struct{ m *materials.Encryption }{&enc},
		struct{ d materials.Decryption }{dec},
		struct{ d *materials.Decryption }{&dec},
		enc, &enc, dec, &dec,
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d", "%t"} {
			out := fmt.Sprintf(verb, v)
			for _, l := range leaks {
				if strings.Contains(out, l) {
					t.Errorf("Sprintf(%q, %T) = %q leaks a key", verb, v, out)
				}
			}
		}
	}
}
