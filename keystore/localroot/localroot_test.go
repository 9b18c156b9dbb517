package localroot_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/keystore/localroot"
)

// createKey makes a root key file in a fresh directory and returns the key,
// its path and the raw key bytes read back from the file.
func createKey(t *testing.T) (*localroot.Key, string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.key")
	k, err := localroot.Create(path)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read key file: %v", err)
	}
	return k, path, raw
}

// writeKeyFile writes b to a new file with mode perm (chmod'ed explicitly,
// so the umask does not interfere).
func writeKeyFile(t *testing.T, b []byte, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.key")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

func sampleEC() map[string]string {
	return map[string]string{
		"branch-key-id": "b1",
		"type":          "branch:ACTIVE",
		"tablename":     "store",
	}
}

func wrapNew(t *testing.T, k *localroot.Key, ec map[string]string) []byte {
	t.Helper()
	w, err := k.NewKey(context.Background(), ec)
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	return w
}

func TestCreateWritesOwnerOnly32ByteFile(t *testing.T) {
	t.Parallel()
	_, path, raw := createKey(t)
	if len(raw) != localroot.KeyLen || localroot.KeyLen != 32 {
		t.Fatalf("key file holds %d bytes, want 32", len(raw))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("key file mode %v is not a regular file", fi.Mode())
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", got)
	}
	if bytes.Equal(raw, make([]byte, 32)) {
		t.Fatal("key file holds all zero bytes")
	}
}

func TestCreateRefusesExistingPath(t *testing.T) {
	t.Parallel()
	_, path, raw := createKey(t)
	if _, err := localroot.Create(path); err == nil {
		t.Fatal("Create over an existing key file succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, raw) {
		t.Fatal("a refused Create changed the existing key file")
	}

	// Any existing path, not only a key file.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := localroot.Create(other); err == nil {
		t.Fatal("Create over an existing file succeeded")
	}
	if _, err := localroot.Create(t.TempDir()); err == nil {
		t.Fatal("Create over an existing directory succeeded")
	}
}

func TestCreateThenLoadSameKey(t *testing.T) {
	t.Parallel()
	k, path, _ := createKey(t)
	l, err := localroot.Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ec := sampleEC()
	w := wrapNew(t, k, ec)
	got, err := l.Unwrap(context.Background(), w, ec)
	if err != nil {
		t.Fatalf("loaded key cannot unwrap what the created key wrapped: %v", err)
	}
	if got.Len() != 32 {
		t.Fatalf("unwrapped %d bytes, want 32", got.Len())
	}
}

func TestLoadRefusesLooseModes(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606, 0o620, 0o602, 0o610, 0o601, 0o700 | 0o070, 0o777} {
		t.Run(fmt.Sprintf("%04o", perm), func(t *testing.T) {
			t.Parallel()
			path := writeKeyFile(t, key, perm)
			k, err := localroot.Load(path)
			if err == nil {
				t.Fatalf("Load accepted a key file with mode %04o", perm)
			}
			if k != nil {
				t.Fatal("Load returned a key with its error")
			}
			want := "chmod 600 " + path
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not tell the user to %q", err, want)
			}
		})
	}
}

func TestLoadAcceptsOwnerOnlyModes(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	for _, perm := range []os.FileMode{0o600, 0o400} {
		t.Run(fmt.Sprintf("%04o", perm), func(t *testing.T) {
			t.Parallel()
			if _, err := localroot.Load(writeKeyFile(t, key, perm)); err != nil {
				t.Fatalf("Load refused mode %04o: %v", perm, err)
			}
		})
	}
}

func TestLoadRefusesWrongLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 16, 31, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			path := writeKeyFile(t, bytes.Repeat([]byte{0x41}, n), 0o600)
			k, err := localroot.Load(path)
			if err == nil || k != nil {
				t.Fatalf("Load of a %d-byte file: key %v, err %v; want an error", n, k, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", n)) {
				t.Errorf("error %q does not give the length %d", err, n)
			}
		})
	}
}

func TestLoadRefusesDirectoryAndMissing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keydir")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	k, err := localroot.Load(dir)
	if err == nil || k != nil {
		t.Fatalf("Load of a directory: key %v, err %v; want an error", k, err)
	}
	if !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error %q does not say the path is not a regular file", err)
	}

	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := localroot.Load(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestNewKeyUnwrapRoundTrip(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	ctx := context.Background()
	for _, ec := range []map[string]string{nil, {}, sampleEC(), {"": ""}, {"k": strings.Repeat("v", 1000)}} {
		w := wrapNew(t, k, ec)
		got, err := k.Unwrap(ctx, w, ec)
		if err != nil {
			t.Fatalf("Unwrap under %v: %v", ec, err)
		}
		if got.Len() != 32 {
			t.Fatalf("unwrapped %d bytes, want 32", got.Len())
		}
		again, err := k.Unwrap(ctx, w, maps.Clone(ec))
		if err != nil || !again.Equal(got) {
			t.Fatalf("second Unwrap differs (err %v)", err)
		}
	}
	// Two NewKey calls give different keys and different wrappings.
	ec := sampleEC()
	w1, w2 := wrapNew(t, k, ec), wrapNew(t, k, ec)
	if bytes.Equal(w1, w2) {
		t.Fatal("two NewKey calls returned the same wrapped bytes")
	}
	k1, _ := k.Unwrap(ctx, w1, ec)
	k2, _ := k.Unwrap(ctx, w2, ec)
	if k1.Equal(k2) {
		t.Fatal("two NewKey calls returned the same key")
	}
	// The wrapped form does not hold the key in the clear.
	if bytes.Contains(w1, k1.InsecureBytes()) {
		t.Fatal("wrapped bytes contain the plaintext key")
	}
}

func TestUnwrapRefusesChangedContext(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	base := sampleEC()
	w := wrapNew(t, k, base)

	type change struct {
		name string
		ec   func() map[string]string
	}
	var cases []change
	for key := range base {
		cases = append(cases,
			change{"value of " + key, func() map[string]string {
				ec := maps.Clone(base)
				ec[key] += "x"
				return ec
			}},
			change{"empty value of " + key, func() map[string]string {
				ec := maps.Clone(base)
				ec[key] = ""
				return ec
			}},
			change{"removed " + key, func() map[string]string {
				ec := maps.Clone(base)
				delete(ec, key)
				return ec
			}},
		)
	}
	cases = append(cases,
		change{"added key", func() map[string]string {
			ec := maps.Clone(base)
			ec["extra"] = "1"
			return ec
		}},
		change{"added empty key", func() map[string]string {
			ec := maps.Clone(base)
			ec[""] = ""
			return ec
		}},
		change{"renamed key", func() map[string]string {
			ec := maps.Clone(base)
			ec["Type"] = ec["type"]
			delete(ec, "type")
			return ec
		}},
		change{"value moved between keys", func() map[string]string {
			ec := maps.Clone(base)
			ec["branch-key-id"], ec["tablename"] = ec["tablename"], ec["branch-key-id"]
			return ec
		}},
		change{"empty context", func() map[string]string { return map[string]string{} }},
		change{"nil context", func() map[string]string { return nil }},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Unwrap(context.Background(), w, c.ec())
			if !errors.Is(err, localroot.ErrUnwrap) {
				t.Fatalf("Unwrap under a changed context: err %v, want ErrUnwrap", err)
			}
			if !got.IsZero() {
				t.Fatal("Unwrap returned key bytes with its error")
			}
		})
	}
	// The untouched context still works, so the failures above are due to
	// the changes.
	if _, err := k.Unwrap(context.Background(), w, base); err != nil {
		t.Fatalf("Unwrap under the original context: %v", err)
	}
}

func TestUnwrapRefusesEveryBitFlip(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	ec := sampleEC()
	w := wrapNew(t, k, ec)
	ctx := context.Background()
	for i := range w {
		for bit := range 8 {
			bad := bytes.Clone(w)
			bad[i] ^= 1 << bit
			got, err := k.Unwrap(ctx, bad, ec)
			if !errors.Is(err, localroot.ErrUnwrap) || !got.IsZero() {
				t.Fatalf("byte %d bit %d flipped: err %v, key returned %v", i, bit, err, !got.IsZero())
			}
		}
	}
	if _, err := k.Unwrap(ctx, w, ec); err != nil {
		t.Fatalf("original no longer unwraps (was it modified in place?): %v", err)
	}
}

func TestUnwrapRefusesEveryTruncationAndExtension(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	ec := sampleEC()
	w := wrapNew(t, k, ec)
	ctx := context.Background()
	for n := range len(w) {
		got, err := k.Unwrap(ctx, bytes.Clone(w[:n]), ec)
		if !errors.Is(err, localroot.ErrUnwrap) || !got.IsZero() {
			t.Fatalf("truncated to %d of %d bytes: err %v", n, len(w), err)
		}
		// Dropping bytes from the front is a truncation too.
		got, err = k.Unwrap(ctx, bytes.Clone(w[len(w)-n:]), ec)
		if !errors.Is(err, localroot.ErrUnwrap) || !got.IsZero() {
			t.Fatalf("last %d of %d bytes: err %v", n, len(w), err)
		}
	}
	for _, extra := range [][]byte{{0}, {1}, bytes.Repeat([]byte{0xff}, 16)} {
		if _, err := k.Unwrap(ctx, append(bytes.Clone(w), extra...), ec); !errors.Is(err, localroot.ErrUnwrap) {
			t.Fatalf("extended by %d bytes: err %v, want ErrUnwrap", len(extra), err)
		}
	}
}

func TestUnwrapRefusesOtherRootKey(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	other, _, _ := createKey(t)
	ec := sampleEC()
	w := wrapNew(t, k, ec)
	for _, o := range []*localroot.Key{other, localroot.Generate()} {
		got, err := o.Unwrap(context.Background(), w, ec)
		if !errors.Is(err, localroot.ErrUnwrap) || !got.IsZero() {
			t.Fatalf("another root key unwrapped: err %v", err)
		}
		if _, err := o.Rewrap(context.Background(), w, ec, map[string]string{"a": "b"}); !errors.Is(err, localroot.ErrUnwrap) {
			t.Fatalf("another root key rewrapped: err %v", err)
		}
	}
}

func TestRewrapMovesToNewContext(t *testing.T) {
	t.Parallel()
	k, _, _ := createKey(t)
	ctx := context.Background()
	from := sampleEC()
	to := maps.Clone(from)
	to["type"] = "branch:version:1"
	to["version"] = "1"

	w := wrapNew(t, k, from)
	orig, err := k.Unwrap(ctx, w, from)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := k.Rewrap(ctx, w, from, to)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	got, err := k.Unwrap(ctx, moved, to)
	if err != nil {
		t.Fatalf("Unwrap under the new context: %v", err)
	}
	if !got.Equal(orig) {
		t.Fatal("Rewrap changed the key")
	}
	if _, err := k.Unwrap(ctx, moved, from); !errors.Is(err, localroot.ErrUnwrap) {
		t.Fatalf("rewrapped key unwraps under the old context: err %v", err)
	}
	if bytes.Contains(moved, orig.InsecureBytes()) {
		t.Fatal("rewrapped bytes contain the plaintext key")
	}
	// Rewrap checks its source context.
	if _, err := k.Rewrap(ctx, w, to, from); !errors.Is(err, localroot.ErrUnwrap) {
		t.Fatalf("Rewrap from the wrong context: err %v, want ErrUnwrap", err)
	}
	if _, err := k.Rewrap(ctx, w[:len(w)-1], from, to); !errors.Is(err, localroot.ErrUnwrap) {
		t.Fatalf("Rewrap of truncated bytes: err %v, want ErrUnwrap", err)
	}
}

// keyForms are encodings in which key bytes could leak into a string.
func keyForms(raw []byte) map[string]string {
	return map[string]string{
		"raw":       string(raw),
		"hex":       hex.EncodeToString(raw),
		"HEX":       strings.ToUpper(hex.EncodeToString(raw)),
		"quoted":    strings.Trim(fmt.Sprintf("%q", raw), `"`),
		"base64":    base64.StdEncoding.EncodeToString(raw),
		"base64url": base64.RawURLEncoding.EncodeToString(raw),
		"decimal":   strings.Trim(fmt.Sprint(raw), "[]"),
	}
}

func checkNoKey(t *testing.T, what, out string, raw []byte) {
	t.Helper()
	for name, form := range keyForms(raw) {
		if strings.Contains(out, form) {
			t.Errorf("%s leaks the key (%s): %q", what, name, out)
		}
	}
	// No 6-byte run of the key in hex either.
	h := hex.EncodeToString(raw)
	for i := 0; i+12 <= len(h); i += 2 {
		if strings.Contains(strings.ToLower(out), h[i:i+12]) {
			t.Errorf("%s holds key bytes %d.. in hex: %q", what, i/2, out)
			return
		}
	}
}

func TestIDStableDistinctAndOpaque(t *testing.T) {
	t.Parallel()
	k, path, raw := createKey(t)
	if k.ID() == "" {
		t.Fatal("empty ID")
	}
	for range 3 {
		l, err := localroot.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if l.ID() != k.ID() {
			t.Fatalf("ID changed across Load: %q then %q", k.ID(), l.ID())
		}
	}
	other, _, _ := createKey(t)
	if other.ID() == k.ID() {
		t.Fatalf("two keys share the ID %q", k.ID())
	}
	if g := localroot.Generate(); g.ID() == k.ID() || g.ID() == other.ID() {
		t.Fatalf("generated key shares an ID: %q", g.ID())
	}
	checkNoKey(t, "ID", k.ID(), raw)
}

func TestFormatNeverShowsKeyBytes(t *testing.T) {
	t.Parallel()
	k, _, raw := createKey(t)
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"}
	for _, v := range verbs {
		out := fmt.Sprintf(v, k)
		checkNoKey(t, "fmt "+v, out, raw)
		if v != "%T" && !strings.Contains(out, k.ID()) {
			t.Errorf("fmt %s = %q, want it to name the key by ID %q", v, out, k.ID())
		}
		// Nested in other values, and dereferenced.
		checkNoKey(t, "fmt "+v+" in a slice", fmt.Sprintf(v, []any{k}), raw)
		checkNoKey(t, "fmt "+v+" in a struct", fmt.Sprintf(v, struct{ K *localroot.Key }{k}), raw)
		checkNoKey(t, "fmt "+v+" of *k", fmt.Sprintf(v, *k), raw)
		checkNoKey(t, "fmt "+v+" in a map", fmt.Sprintf(v, map[string]*localroot.Key{"k": k}), raw)
	}
	checkNoKey(t, "Println", fmt.Sprintln(k, *k), raw)
	checkNoKey(t, "error", fmt.Errorf("wrapping %v: %w", k, errors.New("x")).Error(), raw)
}
