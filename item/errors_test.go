package item

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// TestConfigIsCopied changes the caller's configuration after New: the
// encryptor must keep the validated one (a partition key made
// ENCRYPT_AND_SIGN or an attribute made DO_NOTHING afterwards would bypass
// Validate, and a map shared with the caller would race).
func TestConfigIsCopied(t *testing.T) {
	t.Parallel()
	v := variants[0]
	cfg := smallConfig(v)
	cfg.Keyring = newKeyring(t, testBranchKey())
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Actions["pk"] = EncryptAndSign
	cfg.AllowedUnsigned[0] = "secret"
	e.Config().Actions["secret"] = DoNothing
	stored := mustEncrypt(t, e, smallItem(v, "p1"))
	if _, ok := stored["pk"].(attr.S); !ok {
		t.Errorf("partition key stored as %T: the caller's change after New took effect", stored["pk"])
	}
	if _, ok := stored["secret"].(attr.B); !ok {
		t.Errorf("secret stored as %T, want it encrypted", stored["secret"])
	}
}

// keylessKeyring claims success without setting any key, on both paths.
type keylessKeyring struct{}

func (keylessKeyring) OnEncrypt(_ context.Context, m *materials.Encryption) error {
	m.EDKs = append(m.EDKs, materials.EDK{ProviderID: "none", Ciphertext: []byte{0}})
	m.SigningKeys = append(m.SigningKeys, secret.Bytes{})
	return nil
}

func (keylessKeyring) OnDecrypt(context.Context, *materials.Decryption, []materials.EDK) error {
	return nil
}

// TestDecryptRefusesKeylessMaterials forges an item with keys derived from
// an empty data key — what anyone can compute — and decrypts it through a
// keyring that reports success without setting keys: Decrypt must refuse.
func TestDecryptRefusesKeylessMaterials(t *testing.T) {
	t.Parallel()
	v := variants[0]
	cfg := smallConfig(v)
	cfg.Keyring = keylessKeyring{}
	e := newEncryptor(t, cfg)
	forged := forge(t, e, smallItem(v, "p1"), func([]field) {}, func(b []byte) []byte { return b })
	assertDecryptFails(t, e, forged)
}

// downSource is a key store that cannot be reached.
type downSource struct{ hierarchy.Static }

func (downSource) ActiveKey(context.Context, string) (hierarchy.BranchKey, error) {
	return hierarchy.BranchKey{}, errors.New("dial tcp: connection refused")
}

func (downSource) KeyVersion(context.Context, string, string) (hierarchy.BranchKey, error) {
	return hierarchy.BranchKey{}, errors.New("dial tcp: connection refused")
}

// TestKeysUnavailable: an unreachable key store is an outage (retry
// later), not a decryption failure, on both paths; an unknown key version
// stays the opaque ErrDecrypt.
func TestKeysUnavailable(t *testing.T) {
	t.Parallel()
	v := variants[0]
	cfg := smallConfig(v)
	cfg.Keyring = newKeyring(t, testBranchKey())
	stored := mustEncrypt(t, newEncryptor(t, cfg), smallItem(v, "p1"))

	kr, err := hierarchy.New(testBranchKey().ID, downSource{}, hierarchy.NewCache(hierarchy.DefaultTTL, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keyring = kr
	down := newEncryptor(t, cfg)
	_, err = down.Decrypt(context.Background(), stored)
	if !errors.Is(err, materials.ErrUnavailable) || errors.Is(err, ErrDecrypt) {
		t.Errorf("Decrypt with the key store down: %v, want ErrUnavailable and not ErrDecrypt", err)
	}
	if _, err := down.Encrypt(context.Background(), smallItem(v, "p2")); !errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("Encrypt with the key store down: %v, want ErrUnavailable", err)
	}

	other := testBranchKey()
	other.Version = "00000000-0000-4000-8000-000000000000"
	cfg.Keyring = newKeyring(t, other) // knows the id, not the item's version
	if _, err := newEncryptor(t, cfg).Decrypt(context.Background(), stored); !errors.Is(err, ErrDecrypt) || errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("Decrypt of an unknown version: %v, want only ErrDecrypt", err)
	}
}

// TestEncryptInputErrors: every error about the item is ErrInvalidItem, so
// a service can answer 400 for it and 500 for anything else.
func TestEncryptInputErrors(t *testing.T) {
	t.Parallel()
	v := variants[1]
	cfg := smallConfig(v)
	cfg.Keyring = newKeyring(t, testBranchKey())
	e := newEncryptor(t, cfg)
	for name, it := range map[string]attr.Item{
		"no partition key":     without(smallItem(v, "p"), "pk"),
		"no sort key":          without(smallItem(v, "p"), "sk"),
		"no context attribute": without(smallItem(v, "p"), "ctx"),
		"unknown attribute":    with(smallItem(v, "p"), "surprise", attr.S("x")),
		"reserved name":        with(smallItem(v, "p"), "aws_dbe_head", attr.B{}),
		"nil value":            with(smallItem(v, "p"), "note", nil),
		"bad number":           with(smallItem(v, "p"), "n", attr.N("1e999")),
		"duplicate set entry":  with(smallItem(v, "p"), "secret", attr.SS{"a", "a"}),
	} {
		_, err := e.Encrypt(context.Background(), it)
		if !errors.Is(err, ErrInvalidItem) || !strings.HasPrefix(err.Error(), "item: invalid item: ") {
			t.Errorf("%s: %v, want ErrInvalidItem", name, err)
		}
	}
	cfg.Keyring = failingKeyring{errors.New("boom")}
	if _, err := newEncryptor(t, cfg).Encrypt(context.Background(), smallItem(v, "p")); errors.Is(err, ErrInvalidItem) || err == nil {
		t.Errorf("keyring failure reported as %v, want an error that is not ErrInvalidItem", err)
	}
}
