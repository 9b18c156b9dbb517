package secret_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/secret"
)

// canary is the start of every test key: output holding any rendering of
// it leaks key bytes.
const canary = "CANARY"

// verbs are fmt verbs and flags to print with: the valid ones for a byte
// slice, the bad ones (fmt then prints "%!verb(type=value)" by reflection),
// and flags that change what fmt writes.
var verbs = []string{
	"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%#x", "%d", "%o", "%O", "%b", "%c", "%U",
	"%e", "%f", "%g", "%t", "%p", "%T", "%w", "%10.3s", "%-40x", "%+q", "%#q", "%08d", "%!",
}

// leakForms are renderings of the canary bytes that output must not contain:
// raw, quoted, hex, base64 and the decimal, octal and Go-syntax forms fmt
// uses for byte slices and arrays.
func leakForms() map[string]string {
	b := []byte(canary)
	trim := func(s string) string { return strings.Trim(s, "[]{}") }
	return map[string]string{
		"raw":       canary,
		"hex":       hex.EncodeToString(b),
		"HEX":       strings.ToUpper(hex.EncodeToString(b)),
		"hex-space": fmt.Sprintf("% x", b),
		"HEX-space": fmt.Sprintf("% X", b),
		"base64":    base64.StdEncoding.EncodeToString(b),
		"base64url": base64.RawURLEncoding.EncodeToString(b),
		"decimal":   trim(fmt.Sprint(b)),
		"octal":     trim(fmt.Sprintf("%o", b)),
		"go-syntax": trim(strings.TrimPrefix(fmt.Sprintf("%#v", b), "[]byte")),
		"go-array":  trim(strings.TrimPrefix(fmt.Sprintf("%#v", [6]byte(b)), "[6]uint8")),
	}
}

// checkNoLeak fails t for every output that holds a leak form.
func checkNoLeak(t *testing.T, what string, out string) {
	t.Helper()
	for name, form := range leakForms() {
		if strings.Contains(out, form) {
			t.Errorf("%s leaks the key as %s: %q", what, name, out)
		}
	}
}

func newCanary() secret.Bytes { return secret.New([]byte(canary + "-key-material-0123456789")) }

// TestLeakForms checks the search itself: each form is found in what fmt
// prints for the bare bytes.
func TestLeakForms(t *testing.T) {
	t.Parallel()
	b := []byte(canary + "-key")
	forms := leakForms()
	for _, out := range []string{
		string(b), hex.EncodeToString(b), fmt.Sprint(b), fmt.Sprintf("%o", b), fmt.Sprintf("%#v", b),
		fmt.Sprintf("%#v", [10]byte(b)), fmt.Sprintf("% X", b), base64.StdEncoding.EncodeToString(b),
		fmt.Sprint(&b), // as "%s" prints a *[]byte field: "{%!s(*[]uint8=&[67 65 ...])}"
	} {
		found := false
		for _, f := range forms {
			found = found || strings.Contains(out, f)
		}
		if !found {
			t.Errorf("no leak form found in %q", out)
		}
	}
}

// TestFormatRedacts prints a Bytes itself, and through a pointer, with
// every verb: all print the redaction marker, except %T, %p and %w, which
// fmt handles without calling Format (%w then walks the value by
// reflection, and finds only a func).
func TestFormatRedacts(t *testing.T) {
	t.Parallel()
	k := newCanary()
	for _, verb := range verbs {
		for _, v := range []any{k, &k, secret.Bytes{}} {
			out := fmt.Sprintf(verb, v)
			checkNoLeak(t, fmt.Sprintf("Sprintf(%q, %T)", verb, v), out)
			if _, ok := v.(secret.Bytes); ok && !strings.ContainsAny(verb, "Tpw") && out != "[redacted]" {
				t.Errorf("Sprintf(%q, %T) = %q, want [redacted]", verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(k) + fmt.Sprintln(k) + k.String() + k.GoString(); got != "[redacted][redacted]\n[redacted][redacted]" {
		t.Errorf("Sprint, Sprintln, String and GoString = %q", got)
	}
}

type holder struct {
	k    secret.Bytes
	ks   []secret.Bytes
	m    map[string]secret.Bytes
	arr  [1]secret.Bytes
	a    any
	next *holder
}

type exported struct {
	K  secret.Bytes
	KS []secret.Bytes
	M  map[string]secret.Bytes
	h  holder
}

// nested returns values that hold k where fmt cannot call its methods
// (unexported fields, by value and by pointer, at several depths), and
// where it can (slices, maps, exported fields).
func nested(k secret.Bytes) map[string]any {
	h := holder{k: k, ks: []secret.Bytes{k}, m: map[string]secret.Bytes{"k": k}, arr: [1]secret.Bytes{k}, a: k}
	h.next = &holder{k: k, next: &holder{k: k}}
	e := exported{K: k, KS: []secret.Bytes{k}, M: map[string]secret.Bytes{"k": k}, h: h}
	return map[string]any{
		"unexported field":            struct{ k secret.Bytes }{k},
		"unexported field, pointer":   &struct{ k secret.Bytes }{k},
		"pointer in unexported field": struct{ p *secret.Bytes }{&k},
		"unexported struct pointer":   struct{ p *struct{ k secret.Bytes } }{&struct{ k secret.Bytes }{k}},
		"holder":                      h,
		"holder pointer":              &h,
		"holder in unexported field":  struct{ h *holder }{&h},
		"exported":                    e,
		"exported pointer":            &e,
		"slice":                       []secret.Bytes{k, k},
		"map":                         map[string]secret.Bytes{"k": k},
		"map key":                     map[any]int{struct{ k *secret.Bytes }{&k}: 1},
		"slice of structs":            []struct{ k secret.Bytes }{{k}},
		"map of structs":              map[string]struct{ k secret.Bytes }{"k": {k}},
		"array":                       [2]secret.Bytes{k, k},
	}
}

// TestNestedFormatNeverLeaks prints k inside other values with every verb
// (the bad ones make fmt print values it reaches by reflection).
func TestNestedFormatNeverLeaks(t *testing.T) {
	t.Parallel()
	for name, v := range nested(newCanary()) {
		for _, verb := range verbs {
			checkNoLeak(t, fmt.Sprintf("Sprintf(%q, %s)", verb, name), fmt.Sprintf(verb, v))
		}
		checkNoLeak(t, "Sprint "+name, fmt.Sprint(v, v))
		checkNoLeak(t, "Sprintln "+name, fmt.Sprintln(v))
	}
}

// TestLogAndJSONNeverLeak logs and marshals k, directly and nested, through
// slog's JSON and text handlers and encoding/json.
func TestLogAndJSONNeverLeak(t *testing.T) {
	t.Parallel()
	k := newCanary()
	var logs bytes.Buffer
	for _, h := range []slog.Handler{
		slog.NewJSONHandler(&logs, &slog.HandlerOptions{AddSource: true}),
		slog.NewTextHandler(&logs, nil),
	} {
		l := slog.New(h)
		l.Info("key", "k", k, "p", &k, slog.Group("g", "k", k))
		for name, v := range nested(k) {
			l.Info(name, "v", v)
		}
		l.With("k", k).Error("with", slog.Any("any", k))
	}
	if !strings.Contains(logs.String(), `"k":"[redacted]"`) || !strings.Contains(logs.String(), "k=[redacted]") {
		t.Errorf("handlers did not log the redaction marker:\n%s", logs.String())
	}
	checkNoLeak(t, "slog", logs.String())

	for name, v := range nested(k) {
		js, err := json.Marshal(v)
		if err != nil && !strings.Contains(name, "map key") {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		checkNoLeak(t, "json "+name, string(js))
	}
	js, err := json.Marshal(struct{ K secret.Bytes }{k})
	if err != nil || string(js) != `{"K":"[redacted]"}` {
		t.Errorf("json.Marshal = %s, %v", js, err)
	}
	text, err := k.MarshalText()
	if err != nil || string(text) != "[redacted]" {
		t.Errorf("MarshalText = %s, %v", text, err)
	}
}

func TestNewCopyRandom(t *testing.T) {
	t.Parallel()
	b := []byte{1, 2, 3}
	owned, copied := secret.New(b), secret.Copy(b)
	b[0] = 9
	if owned.InsecureBytes()[0] != 9 || copied.InsecureBytes()[0] != 1 {
		t.Error("New must take b as it is and Copy must copy it")
	}
	if owned.Len() != 3 || copied.Len() != 3 || owned.IsZero() || copied.IsZero() {
		t.Error("Len or IsZero wrong for a 3-byte key")
	}
	for name, z := range map[string]secret.Bytes{
		"zero value": {}, "New(nil)": secret.New(nil), "New(empty)": secret.New([]byte{}),
		"Copy(nil)": secret.Copy(nil), "Random(0)": secret.Random(0),
	} {
		if !z.IsZero() || z.Len() != 0 || z.InsecureBytes() != nil {
			t.Errorf("%s holds a key", name)
		}
		z.Zero() // must not panic
	}
	r1, r2 := secret.Random(32), secret.Random(32)
	if r1.Len() != 32 || r1.Equal(r2) || r1.Equal(secret.New(make([]byte, 32))) {
		t.Error("Random(32) is not 32 fresh random bytes")
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	a := secret.New([]byte{1, 2, 3})
	for _, tc := range []struct {
		x, y secret.Bytes
		want bool
	}{
		{a, a, true},
		{a, secret.Copy([]byte{1, 2, 3}), true},
		{a, secret.Copy([]byte{1, 2, 4}), false},
		{a, secret.Copy([]byte{1, 2}), false},
		{a, secret.Copy([]byte{1, 2, 3, 0}), false},
		{a, secret.Bytes{}, false},
		{secret.Bytes{}, a, false},
		{secret.Bytes{}, secret.New(nil), true},
	} {
		if got := tc.x.Equal(tc.y); got != tc.want {
			t.Errorf("%x Equal %x = %v, want %v", tc.x.InsecureBytes(), tc.y.InsecureBytes(), got, tc.want)
		}
	}
}

func TestZero(t *testing.T) {
	t.Parallel()
	a := secret.Copy([]byte{1, 2, 3})
	shared := a
	a.Zero()
	if !shared.Equal(secret.New(make([]byte, 3))) || shared.IsZero() || shared.Len() != 3 {
		t.Fatalf("Zero left %x in a copy", shared.InsecureBytes())
	}
}

func ExampleBytes() {
	key := secret.Copy([]byte("do not print me"))
	fmt.Printf("%v %x %#v\n", key, key, key)
	fmt.Println(key.Len(), key.Equal(secret.Copy([]byte("do not print me"))))
	// Output:
	// [redacted] [redacted] [redacted]
	// 15 true
}
