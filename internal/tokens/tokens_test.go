package tokens_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

const tableName = "sealstore_tokens"

var table = store.Table{Name: tableName, PartitionKey: "name"}

var secretRE = regexp.MustCompile(`^sst_[A-Za-z0-9_-]{43}$`)

type fixture struct {
	db     *bolt.Store
	dbPath string
	ts     *tokens.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	db, err := bolt.Open(path, time.Second)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ts := tokens.New(db, tableName)
	if err := ts.Init(context.Background()); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return &fixture{db: db, dbPath: path, ts: ts}
}

func (f *fixture) create(t *testing.T, name, scopes string) (tokens.Token, string) {
	t.Helper()
	ss, err := tokens.ParseScopes(scopes)
	if err != nil {
		t.Fatalf("ParseScopes(%q): %v", scopes, err)
	}
	tok, secret, err := f.ts.Create(context.Background(), name, ss)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return tok, secret
}

func (f *fixture) set(t *testing.T) *tokens.Set {
	t.Helper()
	list, err := f.ts.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return tokens.NewSet(list)
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want []tokens.Scope
	}{
		{"items:read", []tokens.Scope{{"items", tokens.Read}}},
		{"items:write", []tokens.Scope{{"items", tokens.Write}}},
		{"*:admin", []tokens.Scope{{tokens.AnyCollection, tokens.Admin}}},
		{"a:read,b:write", []tokens.Scope{{"a", tokens.Read}, {"b", tokens.Write}}},
		{"a:read, b:write ,*:read", []tokens.Scope{{"a", tokens.Read}, {"b", tokens.Write}, {"*", tokens.Read}}},
		{"A.b_c-9:admin", []tokens.Scope{{"A.b_c-9", tokens.Admin}}},
		{strings.Repeat("x", 64) + ":read", []tokens.Scope{{strings.Repeat("x", 64), tokens.Read}}},
		{"*:metrics", []tokens.Scope{{tokens.AnyCollection, tokens.Metrics}}},
	}
	for _, c := range good {
		got, err := tokens.ParseScopes(c.in)
		if err != nil {
			t.Errorf("ParseScopes(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseScopes(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	bad := []string{
		"", " ", "items", "items:", "items:delete", "items:Read", "items:READ", ":read", "x y:read",
		"a:read,", ",a:read", "a:read,,b:write", "a:read:write", "**:read", "a*:read",
		"it/ems:read", strings.Repeat("x", 65) + ":read", "ü:read", "a:read;b:write",
		"metrics:metrics", "items:metrics", "*:METRICS", // metrics are no collection's
	}
	for _, in := range bad {
		got, err := tokens.ParseScopes(in)
		if err == nil {
			t.Errorf("ParseScopes(%q) = %v, want an error", in, got)
		}
		if got != nil {
			t.Errorf("ParseScopes(%q) returned scopes %v with its error", in, got)
		}
	}
}

func TestScopeString(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"items:read", "*:admin", "a.b:write"} {
		ss, err := tokens.ParseScopes(in)
		if err != nil {
			t.Fatal(err)
		}
		if ss[0].String() != in {
			t.Errorf("String() = %q, want %q", ss[0].String(), in)
		}
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	type q struct {
		c string
		a tokens.Action
	}
	cases := []struct {
		scopes string
		allow  []q
		deny   []q
	}{
		{"items:read", []q{{"items", tokens.Read}}, []q{{"items", tokens.Write}, {"items", tokens.Admin}, {"other", tokens.Read}, {"*", tokens.Read}}},
		{"items:write", []q{{"items", tokens.Write}}, []q{{"items", tokens.Read}, {"items", tokens.Admin}, {"other", tokens.Write}}},
		{"items:admin", []q{{"items", tokens.Read}, {"items", tokens.Write}, {"items", tokens.Admin}}, []q{{"other", tokens.Read}, {"other", tokens.Admin}, {"Items", tokens.Read}}},
		{"*:read", []q{{"items", tokens.Read}, {"other", tokens.Read}, {"*", tokens.Read}}, []q{{"items", tokens.Write}, {"items", tokens.Admin}}},
		{"*:admin", []q{{"items", tokens.Read}, {"x", tokens.Write}, {"y", tokens.Admin}, {"*", tokens.Admin}}, nil},
		{"a:read,b:write", []q{{"a", tokens.Read}, {"b", tokens.Write}}, []q{{"a", tokens.Write}, {"b", tokens.Read}, {"c", tokens.Read}}},
		{"a:read,*:write", []q{{"a", tokens.Read}, {"a", tokens.Write}, {"z", tokens.Write}}, []q{{"z", tokens.Read}, {"a", tokens.Admin}}},
		// A scraper's scope reads metrics and nothing else; *:admin implies
		// it, a collection's admin does not.
		{"*:metrics", []q{{"*", tokens.Metrics}}, []q{{"*", tokens.Read}, {"items", tokens.Read}, {"metrics", tokens.Read}, {"x", tokens.Write}, {"*", tokens.Admin}}},
		{"*:admin", []q{{"*", tokens.Metrics}}, nil},
		{"items:admin", nil, []q{{"*", tokens.Metrics}}},
		{"*:read,*:write", nil, []q{{"*", tokens.Metrics}}},
	}
	for _, c := range cases {
		ss, err := tokens.ParseScopes(c.scopes)
		if err != nil {
			t.Fatal(err)
		}
		tok := tokens.Token{Name: "t", Scopes: ss}
		for _, x := range c.allow {
			if !tok.Allows(x.c, x.a) {
				t.Errorf("%s: Allows(%s, %s) = false, want true", c.scopes, x.c, x.a)
			}
		}
		for _, x := range c.deny {
			if tok.Allows(x.c, x.a) {
				t.Errorf("%s: Allows(%s, %s) = true, want false", c.scopes, x.c, x.a)
			}
		}
	}
	if (tokens.Token{}).Allows("items", tokens.Read) {
		t.Error("a token without scopes allows items:read")
	}
}

func TestCreateSecretFormatAndStoredHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	tok, secret := f.create(t, "ci-deploy", "items:read,items:write")
	if !secretRE.MatchString(secret) {
		t.Fatalf("secret %q does not match %s", secret, secretRE)
	}
	if tok.Name != "ci-deploy" {
		t.Errorf("token name %q", tok.Name)
	}
	if tok.Created.IsZero() || tok.Created.Location() != time.UTC || !tok.Created.Equal(tok.Created.Truncate(time.Second)) {
		t.Errorf("Created = %v, want a UTC time in whole seconds", tok.Created)
	}
	if d := time.Since(tok.Created); d < -time.Second || d > time.Minute {
		t.Errorf("Created = %v is not now", tok.Created)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, "sst_"))
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret body does not decode to 32 bytes: %d, %v", len(raw), err)
	}
	sum := sha256.Sum256([]byte(secret))

	// Other tokens, so the scan sees more than one item.
	_, secret2 := f.create(t, "b", "*:admin")
	if secret2 == secret {
		t.Fatal("two tokens got the same secret")
	}

	var items []attr.Item
	var cursor []byte
	for {
		p, err := f.db.Scan(ctx, table, cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, p.Items...)
		if p.Next == nil {
			break
		}
		cursor = p.Next
	}
	if len(items) != 2 {
		t.Fatalf("%d stored items, want 2", len(items))
	}
	var dump bytes.Buffer
	var stored attr.Item
	for _, it := range items {
		if it["name"] == attr.S("ci-deploy") {
			stored = it
		}
		b, err := attr.MarshalTyped(attr.M(it))
		if err != nil {
			t.Fatal(err)
		}
		dump.Write(b)
		js, err := attr.MarshalItemJSON(it)
		if err != nil {
			t.Fatal(err)
		}
		dump.Write(js)
		fmt.Fprintf(&dump, "%v %#v", it, it)
	}
	if stored == nil {
		t.Fatal("token not stored under its name")
	}
	if h, ok := stored["sha256"].(attr.B); !ok || !bytes.Equal(h, sum[:]) {
		t.Errorf("stored sha256 = %x, want SHA-256 of the secret %x", stored["sha256"], sum)
	}
	wantAttrs := []string{"created", "name", "scopes", "sha256"}
	var gotAttrs []string
	for k := range stored {
		gotAttrs = append(gotAttrs, k)
	}
	slices.Sort(gotAttrs)
	if !slices.Equal(gotAttrs, wantAttrs) {
		t.Errorf("stored attributes %v, want exactly %v", gotAttrs, wantAttrs)
	}

	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, secret2} {
		body, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "sst_"))
		forms := map[string]string{
			"secret":          s,
			"secret body":     strings.TrimPrefix(s, "sst_"),
			"hex":             hex.EncodeToString(body),
			"HEX":             strings.ToUpper(hex.EncodeToString(body)),
			"base64":          base64.StdEncoding.EncodeToString(body),
			"base64 raw":      base64.RawStdEncoding.EncodeToString(body),
			"raw bytes":       string(body),
			"secret as hex":   hex.EncodeToString([]byte(s)),
			"secret base64ed": base64.StdEncoding.EncodeToString([]byte(s)),
		}
		for name, form := range forms {
			if bytes.Contains(dump.Bytes(), []byte(form)) {
				t.Errorf("stored items contain the secret (%s)", name)
			}
			if bytes.Contains(file, []byte(form)) {
				t.Errorf("database file contains the secret (%s)", name)
			}
		}
	}
	// The hash itself is in the file: the search above could have found
	// things.
	if !bytes.Contains(file, sum[:]) {
		t.Error("database file does not hold the token's hash")
	}
}

func TestCreateDuplicateName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, first := f.create(t, "dup", "items:read")
	ss, _ := tokens.ParseScopes("*:admin")
	tok, secret, err := f.ts.Create(ctx, "dup", ss)
	if !errors.Is(err, tokens.ErrExists) {
		t.Fatalf("second Create: err %v, want ErrExists", err)
	}
	if secret != "" || tok.Name != "" {
		t.Errorf("failed Create returned token %q and a secret", tok.Name)
	}
	// The first token is unchanged: still works, still read-only.
	got, ok := f.set(t).Verify(first)
	if !ok || got.Allows("items", tokens.Admin) {
		t.Fatalf("first token after a refused duplicate: ok %v, scopes %v", ok, got.Scopes)
	}
}

func TestCreateRefusesInvalidInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ss, _ := tokens.ParseScopes("items:read")
	for _, name := range []string{"a b", "a/b", "a:b", "ü", "a\x00", "*", strings.Repeat("n", 65), "tab\t", "new\nline"} {
		if _, secret, err := f.ts.Create(ctx, name, ss); err == nil || secret != "" {
			t.Errorf("Create(%q) succeeded", name)
		}
	}
	for _, scopes := range [][]tokens.Scope{nil, {}} {
		if _, _, err := f.ts.Create(ctx, "noscope", scopes); err == nil {
			t.Errorf("Create with scopes %v succeeded", scopes)
		}
	}
	list, err := f.ts.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("refused Creates stored %d tokens", len(list))
	}
	// Longest valid name and a random name both work.
	if _, _, err := f.ts.Create(ctx, strings.Repeat("n", 64), ss); err != nil {
		t.Errorf("64-character name: %v", err)
	}
	tok, _, err := f.ts.Create(ctx, "", ss)
	if err != nil {
		t.Fatalf("Create with an empty name: %v", err)
	}
	if !regexp.MustCompile(`^token-[0-9a-f]{8}$`).MatchString(tok.Name) {
		t.Errorf("random name %q", tok.Name)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, sa := f.create(t, "alpha", "items:read")
	_, sb := f.create(t, "beta", "*:admin")
	_, sc := f.create(t, "gamma", "x:write,y:read")
	set := f.set(t)
	if set.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", set.Len())
	}
	for name, s := range map[string]string{"alpha": sa, "beta": sb, "gamma": sc} {
		got, ok := set.Verify(s)
		if !ok || got.Name != name {
			t.Errorf("Verify(secret of %s) = %q, %v", name, got.Name, ok)
		}
	}
	got, _ := set.Verify(sc)
	if want := []tokens.Scope{{"x", tokens.Write}, {"y", tokens.Read}}; !reflect.DeepEqual(got.Scopes, want) {
		t.Errorf("verified scopes %v, want %v", got.Scopes, want)
	}

	// A fresh secret, well formed but unknown.
	other := newFixture(t)
	_, unknown := other.create(t, "alpha", "items:read")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	refused := map[string]string{
		"empty":                    "",
		"unknown":                  unknown,
		"last char changed":        flip(sa, len(sa)-1),
		"first body char changed":  flip(sa, 4),
		"short":                    sa[:len(sa)-1],
		"long":                     sa + "A",
		"doubled":                  sa + sa,
		"prefix-less":              strings.TrimPrefix(sa, "sst_"),
		"other prefix, same len":   "xxx_" + strings.TrimPrefix(sa, "sst_"),
		"upper-case prefix":        "SST_" + strings.TrimPrefix(sa, "sst_"),
		"prefix only":              "sst_",
		"leading space":            " " + sa[:len(sa)-1],
		"bearer included":          "Bearer " + sa,
		"hash of the secret (hex)": hex.EncodeToString(func() []byte { h := sha256.Sum256([]byte(sa)); return h[:] }()),
	}
	for name, s := range refused {
		if tok, ok := set.Verify(s); ok || tok.Name != "" {
			t.Errorf("Verify(%s) accepted as %q", name, tok.Name)
		}
	}
	if _, ok := tokens.NewSet(nil).Verify(sa); ok {
		t.Error("an empty set verified a token")
	}
}

func TestSetIsSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	list, err := f.ts.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, s := f.create(t, "later", "items:read")
	set := tokens.NewSet(list)
	if _, ok := set.Verify(s); ok {
		t.Error("a set verified a token created after its List")
	}
	// NewSet copies its input.
	full, _ := f.ts.List(context.Background())
	set = tokens.NewSet(full)
	full[0] = tokens.Token{}
	if _, ok := set.Verify(s); !ok {
		t.Error("changing the slice given to NewSet changed the set")
	}
}

func TestSetWithout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, keep := f.create(t, "keep", "items:read")
	_, gone := f.create(t, "gone", "items:read")
	set := f.set(t)
	less := set.Without("gone")
	if _, ok := less.Verify(gone); ok {
		t.Error("Without(gone) still verifies gone")
	}
	if _, ok := less.Verify(keep); !ok || less.Len() != set.Len()-1 {
		t.Errorf("Without(gone) lost another token: %d of %d left", less.Len(), set.Len())
	}
	if _, ok := set.Verify(gone); !ok {
		t.Error("Without changed the set it was called on")
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	_, keep := f.create(t, "keep", "items:read")
	_, gone := f.create(t, "gone", "*:admin")
	if _, ok := f.set(t).Verify(gone); !ok {
		t.Fatal("token does not verify before revocation")
	}
	if err := f.ts.Revoke(ctx, "gone"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	set := f.set(t)
	if _, ok := set.Verify(gone); ok {
		t.Error("revoked token verifies after reload")
	}
	if tok, ok := set.Verify(keep); !ok || tok.Name != "keep" {
		t.Error("revoking one token affected another")
	}
	if set.Len() != 1 {
		t.Errorf("Len() = %d after revocation, want 1", set.Len())
	}
	for _, name := range []string{"gone", "never"} {
		if err := f.ts.Revoke(ctx, name); !errors.Is(err, tokens.ErrNotFound) {
			t.Errorf("Revoke(%q): %v, want ErrNotFound", name, err)
		}
	}
	if err := f.ts.Revoke(ctx, ""); err == nil {
		t.Error("Revoke(\"\") succeeded")
	}
	// The name can be used again, with a new secret.
	_, again := f.create(t, "gone", "items:read")
	set = f.set(t)
	if _, ok := set.Verify(gone); ok {
		t.Error("old secret verifies for a re-created name")
	}
	if _, ok := set.Verify(again); !ok {
		t.Error("re-created token does not verify")
	}
}

func TestListSortedAndRoundTrips(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	created := map[string]tokens.Token{}
	// More than one page of the store's default Scan limit, in unsorted
	// order.
	var names []string
	for i := range 150 {
		names = append(names, fmt.Sprintf("t-%03d", (i*37)%150))
	}
	names = append(names, "Zed", "alpha", "_x", "-y", ".z")
	for i, n := range names {
		scopes := "items:read"
		if i%2 == 1 {
			scopes = "*:admin,items:write"
		}
		tok, _ := f.create(t, n, scopes)
		created[n] = tok
	}
	list, err := f.ts.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != len(names) {
		t.Fatalf("List returned %d tokens, want %d", len(list), len(names))
	}
	got := make([]string, len(list))
	for i, tok := range list {
		got[i] = tok.Name
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List order %v, want %v", got[:10], want[:10])
	}
	for _, tok := range list {
		c := created[tok.Name]
		if !reflect.DeepEqual(tok.Scopes, c.Scopes) {
			t.Errorf("%s: listed scopes %v, created %v", tok.Name, tok.Scopes, c.Scopes)
		}
		if !tok.Created.Equal(c.Created) {
			t.Errorf("%s: listed Created %v, created %v", tok.Name, tok.Created, c.Created)
		}
	}
}

func TestListRefusesMalformedItems(t *testing.T) {
	t.Parallel()
	for name, it := range map[string]attr.Item{
		"short hash": {"name": attr.S("bad"), "sha256": attr.B{1, 2, 3}, "scopes": attr.SS{"items:read"}, "created": attr.S("2024-01-01T00:00:00Z")},
		"no hash":    {"name": attr.S("bad"), "scopes": attr.SS{"items:read"}},
		"bad scope":  {"name": attr.S("bad"), "sha256": attr.B(make([]byte, 32)), "scopes": attr.SS{"items:delete"}},
		"no scopes":  {"name": attr.S("bad"), "sha256": attr.B(make([]byte, 32))},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if err := f.db.Put(context.Background(), table, it, store.Cond{}); err != nil {
				t.Fatal(err)
			}
			if list, err := f.ts.List(context.Background()); err == nil {
				t.Fatalf("List of a malformed item = %v, want an error", list)
			}
		})
	}
}

// A name qualified by a collection (name@collection) names only a token
// whose every scope is on that collection, whoever creates it: so every
// admin of the collection administers every token of the namespace.
func TestQualifiedNames(t *testing.T) {
	t.Parallel()
	ts := newFixture(t).ts
	ctx := context.Background()
	for _, c := range []struct {
		name, scopes string
		ok           bool
	}{
		{"app@customers", "customers:read", true},
		{"app1@customers", "customers:read,customers:admin", true},
		{"app@customers", "customers:read,orders:read", false},
		{"app2@customers", "*:read", false},
		{"app3@customers", "*:metrics", false},
		{"@customers", "customers:read", false},
		{"app@", "customers:read", false},
		{"a@b@customers", "customers:read", false},
		{"app@cust omers", "customers:read", false},
	} {
		ss, err := tokens.ParseScopes(c.scopes)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ts.Create(ctx, c.name, ss)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, tokens.ErrInvalid) {
			t.Errorf("Create(%q, %s): %v; want ok=%v (or ErrInvalid)", c.name, c.scopes, err, c.ok)
		}
	}
	if err := ts.Revoke(ctx, "app@customers"); err != nil {
		t.Errorf("Revoke(app@customers): %v", err)
	}
}
