package item

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
)

// maxItemSize is DynamoDB's item size limit.
const maxItemSize = 400 * 1024

// richItem holds every attribute type, nesting of lists, maps and sets,
// empty values, numbers that normalize, names whose UTF-8 and UTF-16 orders
// differ, an attribute allowed unsigned by prefix and a beacon.
func richItem(pk string) attr.Item {
	return attr.Item{
		"pk": attr.S(pk), "sk": attr.N("1700000000.50"),
		"s": attr.S(canary), "n": attr.N("-12.500"), "n_big": attr.N("9.9999999999999999999999999999999999999E+125"),
		"n_small": attr.N("1E-130"), "b": attr.B{0, 1, 2, 0xff},
		"bool_t": attr.Bool(true), "bool_f": attr.Bool(false), "null": attr.Null{},
		"ss": attr.SS{"b", "a", "", "\U0001F600", "\uFF61"}, "ns": attr.NS{"3", "1.50", "-2", "1E+3"},
		"bs":      attr.BS{{2}, {1}, {}},
		"l":       attr.L{attr.S("x"), attr.N("1"), attr.Null{}, attr.Bool(false), attr.L{}, attr.M{}},
		"m":       attr.M{"k": attr.S("v"), "nested": attr.M{"deeper": attr.L{attr.B{}}}},
		"empty_s": attr.S(""), "empty_b": attr.B{}, "empty_l": attr.L{}, "empty_m": attr.M{},
		"lists_of_maps_of_sets": attr.L{
			attr.M{"ss": attr.SS{canary}, "ns": attr.NS{"1", "2.5"}, "bs": attr.BS{{9}}},
			attr.M{"inner": attr.L{attr.M{"deep": attr.L{attr.SS{"y", "x"}}}}},
		},
		"deep":        nestL(attr.MaxDepth-2, attr.S("bottom")),
		"名前":          attr.S("値"),
		"emoji😀":      attr.S("🙂"),
		"\uFF61half":  attr.N("1"),
		"Ωmega":       attr.M{"\U0001F600": attr.S("astral key"), "\uFF61": attr.S("BMP key")},
		"u_unsigned":  attr.S("allowed unsigned by prefix"),
		"aws_dbe_b_s": attr.B{0x01, 0x02},
	}
}

// nestL wraps leaf in n lists.
func nestL(n int, leaf attr.Value) attr.Value {
	v := leaf
	for range n {
		v = attr.L{v}
	}
	return v
}

// mix assigns an action to each attribute that is neither a key, nor
// unsigned by prefix, nor a beacon, by its position in name order.
type mix struct {
	name   string
	action func(i int) Action
}

var mixes = []mix{
	{"encrypt-all", func(int) Action { return EncryptAndSign }},
	{"sign-all", func(int) Action { return SignOnly }},
	{"mixed-v1", func(i int) Action { return []Action{EncryptAndSign, SignOnly, DoNothing}[i%3] }},
	{"mixed-v2", func(i int) Action {
		return []Action{EncryptAndSign, SignOnly, SignAndIncludeInEncryptionContext, DoNothing}[i%4]
	}},
	{"context-all", func(int) Action { return SignAndIncludeInEncryptionContext }},
}

// configFor configures it by m: DO_NOTHING attributes allowed unsigned by
// name, "u_" ones by prefix, keys as the format version requires.
func configFor(it attr.Item, suite materials.SuiteID, sortKey bool, m mix) Config {
	actions := map[string]Action{}
	var unsigned []string
	i := 0
	for _, name := range slices.Sorted(maps.Keys(it)) {
		if name == "pk" || name == "sk" || strings.HasPrefix(name, "u_") || strings.HasPrefix(name, BeaconPrefix) {
			continue
		}
		a := m.action(i)
		i++
		actions[name] = a
		if a == DoNothing {
			unsigned = append(unsigned, name)
		}
	}
	key := SignOnly
	if slices.Contains(slices.Collect(maps.Values(actions)), SignAndIncludeInEncryptionContext) {
		key = SignAndIncludeInEncryptionContext
	}
	cfg := Config{TableName: "roundtrip_table", PartitionKey: "pk", Actions: actions,
		AllowedUnsigned: unsigned, AllowedUnsignedPrefix: "u_", Suite: suite}
	actions["pk"] = key
	if sortKey {
		actions["sk"] = key
		cfg.SortKey = "sk"
	}
	return cfg
}

// roundTrip encrypts it, checks the stored form, decrypts and checks the
// result equals it; neither Encrypt nor Decrypt may modify its input.
func roundTrip(t *testing.T, e *Encryptor, it attr.Item) attr.Item {
	t.Helper()
	before := cloneItem(it)
	stored := mustEncrypt(t, e, it)
	assertUnchanged(t, "Encrypt's input", before, it)
	checkStored(t, e.Config(), it, stored)
	storedBefore := cloneItem(stored)
	assertSameItem(t, withoutReserved(it), mustDecrypt(t, e, stored))
	assertUnchanged(t, "Decrypt's input", storedBefore, stored)
	return stored
}

// withoutReserved is what Decrypt gives back for it: every aws_dbe_
// attribute (beacons) dropped, as the SDK's RemoveBeacons does.
func withoutReserved(it attr.Item) attr.Item {
	out := attr.Item{}
	for name, v := range it {
		if !strings.HasPrefix(name, ReservedPrefix) {
			out[name] = v
		}
	}
	return out
}

// checkStored checks the stored form: encrypted attributes are binary
// (type id, ciphertext, GCM tag) that does not hold the plaintext, the rest
// are stored unchanged, and the header has the expected version, suite and
// one legend byte per signed attribute.
func checkStored(t *testing.T, cfg Config, it, stored attr.Item) {
	t.Helper()
	if len(stored) != len(it)+2 {
		t.Errorf("stored item has %d attributes, want %d", len(stored), len(it)+2)
	}
	signed, version := 0, byte(1)
	for name, v := range it {
		a, ok := cfg.Actions[name]
		if !ok {
			a = DoNothing
		}
		if a == EncryptAndSign {
			checkCiphertext(t, name, v, stored[name])
		} else if !reflect.DeepEqual(stored[name], v) {
			t.Errorf("%v attribute %q stored as %#v, want it unchanged", a, name, stored[name])
		}
		if a != DoNothing {
			signed++
		}
		if a == SignAndIncludeInEncryptionContext {
			version = 2
		}
	}
	h := headerOf(t, stored)
	if h.Version != version || h.Suite.ID != cfg.suiteID() || len(h.Legend) != signed {
		t.Errorf("header: version %d, suite %#x, %d legend bytes; want %d, %#x, %d",
			h.Version, h.Suite.ID, len(h.Legend), version, cfg.suiteID(), signed)
	}
	for _, name := range []string{HeaderAttr, FooterAttr} {
		if b, ok := stored[name].(attr.B); !ok || bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s is %T or holds the canary", name, stored[name])
		}
	}
}

func checkCiphertext(t *testing.T, name string, plain, stored attr.Value) {
	t.Helper()
	b, ok := stored.(attr.B)
	if !ok {
		t.Errorf("encrypted attribute %q stored as %T, want attr.B", name, stored)
		return
	}
	data, err := attr.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 2+len(data)+16 || binary.BigEndian.Uint16(b) != plain.TypeID() {
		t.Errorf("encrypted attribute %q: %d bytes starting %x, want %d starting with type id %04x",
			name, len(b), b[:min(2, len(b))], 2+len(data)+16, plain.TypeID())
	}
	if bytes.Contains(b, []byte(canary)) || (len(data) >= 8 && bytes.Contains(b, data)) {
		t.Errorf("encrypted attribute %q holds its plaintext", name)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, suite := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		for _, sortKey := range []bool{true, false} {
			for _, m := range mixes {
				t.Run(fmt.Sprintf("%#x/sortkey=%v/%s", suite, sortKey, m.name), func(t *testing.T) {
					t.Parallel()
					it := richItem("pk-1")
					if !sortKey {
						delete(it, "sk")
					}
					roundTrip(t, newEncryptor(t, configFor(it, suite, sortKey, m)), it)
				})
			}
		}
	}
}

// itemSize is DynamoDB's size of an item, counting a number as its digits
// and nested values as their serialization (a slight overestimate).
func itemSize(t *testing.T, it attr.Item) int {
	t.Helper()
	n := 0
	for name, v := range it {
		b, err := attr.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		n += len(name) + len(b)
	}
	return n
}

func TestRoundTripLargeItems(t *testing.T) {
	t.Parallel()
	big := make([]byte, 390_000)
	rand.Read(big)
	oneBinary := attr.Item{"pk": attr.S("big"), "blob": attr.B(big)}
	many := attr.Item{"pk": attr.S("many")}
	for i := range 1500 {
		many[fmt.Sprintf("attr_%04d", i)] = attr.S(strings.Repeat(string(rune('a'+i%26)), 200))
	}
	for _, suite := range []materials.SuiteID{materials.SuiteSymSig, materials.SuiteECDSA} {
		for _, c := range []struct {
			name string
			it   attr.Item
			m    mix
		}{
			{"390KB-binary", oneBinary, mixes[0]},
			{"1500-attributes-v1", many, mixes[2]},
			{"1500-attributes-v2", many, mixes[3]},
		} {
			t.Run(fmt.Sprintf("%#x/%s", suite, c.name), func(t *testing.T) {
				t.Parallel()
				stored := roundTrip(t, newEncryptor(t, configFor(c.it, suite, false, c.m)), c.it)
				if n := itemSize(t, stored); n > maxItemSize {
					t.Errorf("stored item is %d bytes, over DynamoDB's %d", n, maxItemSize)
				}
			})
		}
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	t.Parallel()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e := newEncryptor(t, smallConfig(v))
			it := smallItem(v, "p1")
			a, b := mustEncrypt(t, e, it), mustEncrypt(t, e, it)
			ha, hb := headerOf(t, a), headerOf(t, b)
			if ha.MessageID == hb.MessageID || bytes.Equal(ha.EDKs[0].Ciphertext, hb.EDKs[0].Ciphertext) {
				t.Error("two encryptions share a message id or wrapped data key")
			}
			for _, name := range []string{"secret", "n", FooterAttr} {
				if bytes.Equal(a[name].(attr.B), b[name].(attr.B)) {
					t.Errorf("two encryptions give the same %s", name)
				}
			}
			assertSameItem(t, it, mustDecrypt(t, e, a))
			assertSameItem(t, it, mustDecrypt(t, e, b))
		})
	}
}

// TestDecryptReadsBothSuites checks that the configured suite only chooses
// how items are written.
func TestDecryptReadsBothSuites(t *testing.T) {
	t.Parallel()
	v1 := variants[0]
	sym := newEncryptor(t, smallConfig(v1))
	cfg := smallConfig(v1)
	cfg.Suite = materials.SuiteECDSA
	ecdsa := newEncryptor(t, cfg)
	it := smallItem(v1, "p1")
	assertSameItem(t, it, mustDecrypt(t, sym, mustEncrypt(t, ecdsa, it)))
	assertSameItem(t, it, mustDecrypt(t, ecdsa, mustEncrypt(t, sym, it)))
}

func TestActionNames(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{EncryptAndSign, SignOnly, SignAndIncludeInEncryptionContext, DoNothing} {
		if got, err := ParseAction(a.String()); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), got, err)
		}
	}
	if got, err := ParseAction("CONTEXT_AND_SIGN"); err != nil || got != SignAndIncludeInEncryptionContext {
		t.Errorf("ParseAction(CONTEXT_AND_SIGN) = %v, %v", got, err)
	}
	if _, err := ParseAction("ENCRYPT"); err == nil {
		t.Error("ParseAction accepted an unknown name")
	}
}

// rejectedByEncrypt checks that Encrypt refuses it with a plain error (not
// ErrDecrypt) that names the problem and echoes no plaintext.
func rejectedByEncrypt(t *testing.T, e *Encryptor, it attr.Item, want string) error {
	t.Helper()
	out, err := e.Encrypt(context.Background(), it)
	if err == nil || out != nil {
		t.Fatalf("Encrypt returned an item: %v, error %v; want an error and no item", out != nil, err)
	}
	if errors.Is(err, ErrDecrypt) || Reason(err) != "" {
		t.Errorf("Encrypt error %q is a decryption failure", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Encrypt error %q does not mention %q", err, want)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("Encrypt error %q echoes the plaintext", err)
	}
	return err
}

func badInputConfig() Config {
	return Config{TableName: "bad_input", PartitionKey: "pk", SortKey: "sk",
		Actions: map[string]Action{"pk": SignOnly, "sk": SignOnly, "secret": EncryptAndSign,
			"sig": SignOnly, "list": EncryptAndSign, "note": DoNothing},
		AllowedUnsigned: []string{"note"}}
}

func TestEncryptBadInput(t *testing.T) {
	t.Parallel()
	e := newEncryptor(t, badInputConfig())
	base := attr.Item{"pk": attr.S("p"), "sk": attr.N("1"), "secret": attr.S(canary),
		"sig": attr.S("x"), "list": attr.L{attr.S("a")}, "note": attr.S("n")}
	mustEncrypt(t, e, base)
	for _, c := range []struct {
		name string
		it   attr.Item
		want string // what the error must name
	}{
		{"missing partition key", without(base, "pk"), `"pk"`},
		{"missing sort key", without(base, "sk"), `"sk"`},
		{"attribute without action", with(base, "surprise", attr.S("x")), `"surprise"`},
		{"named aws_dbe_head", with(base, HeaderAttr, attr.B{1}), HeaderAttr},
		{"named aws_dbe_foot", with(base, FooterAttr, attr.B{1}), FooterAttr},
		{"reserved prefix", with(base, "aws_dbe_mine", attr.S("x")), "aws_dbe_mine"},
		{"nil partition key", with(base, "pk", nil), `"pk"`},
		{"nil encrypted value", with(base, "secret", nil), `"secret"`},
		{"nil signed value", with(base, "sig", nil), `"sig"`},
		{"nil unsigned value", with(base, "note", nil), `"note"`},
		{"nil list entry", with(base, "list", attr.L{nil}), `"list"`},
		{"invalid number", with(base, "secret", attr.N("12abc")), `"secret"`},
		{"number out of range", with(base, "sig", attr.N("1e200")), `"sig"`},
		{"number too precise", with(base, "sk", attr.N("1.23456789012345678901234567890123456789")), `"sk"`},
		{"invalid number in set", with(base, "secret", attr.NS{"1", "x"}), `"secret"`},
		{"duplicate strings", with(base, "secret", attr.SS{"a", "a"}), `"secret"`},
		{"duplicate numbers after normalization", with(base, "secret", attr.NS{"1", "1.0"}), `"secret"`},
		{"duplicate binaries", with(base, "sig", attr.BS{{1}, {1}}), `"sig"`},
		{"invalid UTF-8", with(base, "secret", attr.S("\xff")), `"secret"`},
		{"empty map key", with(base, "secret", attr.M{"": attr.S("x")}), `"secret"`},
		{"nesting too deep", with(base, "list", nestL(attr.MaxDepth+8, attr.S("x"))), `"list"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rejectedByEncrypt(t, e, c.it, c.want)
		})
	}
}

// TestEncryptErrorsDoNotEchoPlaintext: a value that fails validation is the
// plaintext the caller meant to encrypt; the error names the attribute and
// the problem, not the value (it reaches logs and HTTP responses).
func TestEncryptErrorsDoNotEchoPlaintext(t *testing.T) {
	t.Parallel()
	e := newEncryptor(t, badInputConfig())
	base := attr.Item{"pk": attr.S("p"), "sk": attr.N("1"), "sig": attr.S("x"), "list": attr.L{}}
	for _, c := range []struct {
		name string
		v    attr.Value
	}{
		{"number", attr.N(canary)},
		{"number set", attr.NS{"1", canary}},
		{"nested number", attr.L{attr.M{"k": attr.N(canary)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rejectedByEncrypt(t, e, with(base, "secret", c.v), `"secret"`)
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	kr := newKeyring(t, testBranchKey())
	valid := func() Config {
		return Config{TableName: "t", PartitionKey: "pk", SortKey: "sk", Keyring: kr,
			Actions: map[string]Action{"pk": SignOnly, "sk": SignOnly, "secret": EncryptAndSign,
				"note": DoNothing}, AllowedUnsigned: []string{"note"}}
	}
	if _, err := New(valid()); err != nil {
		t.Fatalf("New(valid config): %v", err)
	}
	for _, c := range []struct {
		name   string
		mutate func(c *Config)
	}{
		{"no table name", func(c *Config) { c.TableName = "" }},
		{"no partition key", func(c *Config) { c.PartitionKey = "" }},
		{"no keyring", func(c *Config) { c.Keyring = nil }},
		{"unknown suite", func(c *Config) { c.Suite = 0x6702 }},
		{"ESDK suite", func(c *Config) { c.Suite = 0x0578 }},
		{"partition key without action", func(c *Config) { delete(c.Actions, "pk") }},
		{"sort key without action", func(c *Config) { c.SortKey = "sk2" }},
		{"partition key ENCRYPT_AND_SIGN", func(c *Config) { c.Actions["pk"] = EncryptAndSign }},
		{"sort key ENCRYPT_AND_SIGN", func(c *Config) { c.Actions["sk"] = EncryptAndSign }},
		{"partition key DO_NOTHING", func(c *Config) {
			c.Actions["pk"] = DoNothing
			c.AllowedUnsigned = append(c.AllowedUnsigned, "pk")
		}},
		{"keys SIGN_ONLY with a context attribute", func(c *Config) { c.Actions["ctx"] = SignAndIncludeInEncryptionContext }},
		{"sort key SIGN_ONLY with a context attribute", func(c *Config) {
			c.Actions["pk"] = SignAndIncludeInEncryptionContext
		}},
		{"DO_NOTHING not allowed unsigned", func(c *Config) { c.Actions["loose"] = DoNothing }},
		{"signed attribute allowed unsigned by name", func(c *Config) { c.AllowedUnsigned = append(c.AllowedUnsigned, "secret") }},
		{"signed attribute allowed unsigned by prefix", func(c *Config) { c.AllowedUnsignedPrefix = "sec" }},
		{"key allowed unsigned by prefix", func(c *Config) { c.AllowedUnsignedPrefix = "p" }},
		{"unknown action", func(c *Config) { c.Actions["x"] = Action(99) }},
		{"zero action", func(c *Config) { c.Actions["x"] = 0 }},
		{"attribute named aws_dbe_head", func(c *Config) { c.Actions[HeaderAttr] = SignOnly }},
		{"reserved prefix", func(c *Config) { c.Actions["aws_dbe_x"] = EncryptAndSign }},
		{"empty attribute name", func(c *Config) { c.Actions[""] = SignOnly }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			c.mutate(&cfg)
			e, err := New(cfg)
			if err == nil || e != nil {
				t.Fatalf("New = %v, %v; want a configuration error", e, err)
			}
			if !errors.Is(err, ErrConfig) || errors.Is(err, ErrDecrypt) {
				t.Errorf("New error %q does not match ErrConfig alone", err)
			}
		})
	}
}

func TestEncryptKeyringFailure(t *testing.T) {
	t.Parallel()
	unreachable := errors.New("branch key store unreachable")
	noKey := hierarchy.BranchKey{ID: "absent", Version: testBranchKey().Version, Key: testBranchKey().Key}
	for _, c := range []struct {
		name string
		kr   materials.Keyring
		is   error // the error Encrypt's must match, if any
	}{
		{"keyring error", failingKeyring{unreachable}, unreachable},
		{"branch key not found", newKeyringFor(t, "missing-id", noKey), hierarchy.ErrNotFound},
		{"no data key", emptyKeyring{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := smallConfig(variants[0])
			cfg.Keyring = c.kr
			e := newEncryptor(t, cfg)
			out, err := e.Encrypt(context.Background(), smallItem(variants[0], "p1"))
			if err == nil || out != nil {
				t.Fatalf("Encrypt returned an item: %v, error %v; want an error and no item", out != nil, err)
			}
			if (c.is != nil && !errors.Is(err, c.is)) || errors.Is(err, ErrDecrypt) {
				t.Errorf("Encrypt error %q: want one matching %v and not ErrDecrypt", err, c.is)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("Encrypt error %q echoes the plaintext", err)
			}
		})
	}
}
