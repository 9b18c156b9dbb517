package kmssdk_test

import (
	"errors"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/keyring/awskms"
	"github.com/sealstore/sealstore/keyring/keyringtest"
	"github.com/sealstore/sealstore/materials"
)

func emulatorKMS(env emutest.Env, endpoint string) *kms.Client {
	cfg := aws.Config{
		Region:      env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, ""),
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1 // an unreachable endpoint fails at once
	})
}

func emulatorKeyring(t *testing.T, env emutest.Env, endpoint, keyARN string) *awskms.Keyring {
	t.Helper()
	c := newClient(t, emulatorKMS(env, endpoint), "unused-grant-token")
	k, err := awskms.New(keyARN, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestEmulator runs the AWS KMS keyring over the adapter against
// local-kms, for both suites: a round trip, a wrong key and a changed
// context fail closed (not as an outage), and tampered EDKs are refused.
func TestEmulator(t *testing.T) {
	t.Parallel()
	env := emutest.KMS(t)
	k := emulatorKeyring(t, env, env.KMSEndpoint, env.KMSKeyARN)
	other := emulatorKeyring(t, env, env.KMSEndpoint, env.KMSOtherKeyARN)
	for _, id := range keyringtest.SuiteIDs() {
		s := keyringtest.Suite(t, id)
		enc := keyringtest.Encrypt(t, k, s, keyringtest.Context())
		keyringtest.MustDecrypt(t, k, enc, enc.EDKs, 0)
		d, err := keyringtest.Decrypt(other, s, keyringtest.Context(), enc.EDKs)
		keyringtest.MustFailClosed(t, d, err)
		for name, ec := range keyringtest.OtherContexts() {
			d, err := keyringtest.Decrypt(k, s, ec, enc.EDKs)
			keyringtest.MustFailClosed(t, d, err)
			if errors.Is(err, materials.ErrUnavailable) {
				t.Errorf("context %s: a refused ciphertext reads as an outage: %v", name, err)
			}
		}
		mustRejectTamperedBlob(t, k, enc)
	}
}

// mustRejectTamperedBlob flips every bit of the wrapped data key and of the
// last 32 bytes of KMS's ciphertext blob (its sealed part) and expects a
// refusal that is not an outage. local-kms, unlike KMS, does not
// authenticate the key reference at the start of its blobs (bytes 1 to 17
// decrypt after any change), so the whole-EDK tamper check of
// keyringtest runs against the in-process fake instead (package awskms).
func mustRejectTamperedBlob(t *testing.T, k *awskms.Keyring, enc *materials.Encryption) {
	t.Helper()
	e := enc.EDKs[0]
	wrapped := enc.Suite.WrappedDataKeyLen()
	var bits []int
	for i := range wrapped * 8 {
		bits = append(bits, i)
	}
	for i := (len(e.Ciphertext) - 32) * 8; i < len(e.Ciphertext)*8; i++ {
		bits = append(bits, i)
	}
	for _, i := range bits {
		bad := e
		bad.Ciphertext = keyringtest.FlipBit(e.Ciphertext, i)
		d, err := keyringtest.Decrypt(k, enc.Suite, enc.Context, []materials.EDK{bad})
		if err == nil {
			t.Fatalf("suite %#x: ciphertext bit %d flipped: decrypted", enc.Suite.ID, i)
		}
		keyringtest.MustFailClosed(t, d, err)
		if errors.Is(err, materials.ErrUnavailable) {
			t.Fatalf("bit %d: a tampered EDK reads as an outage: %v", i, err)
		}
	}
}

// TestEmulatorUnreachable checks that KMS out of reach is an outage on
// both paths.
func TestEmulatorUnreachable(t *testing.T) {
	t.Parallel()
	env := emutest.KMS(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	live := emulatorKeyring(t, env, env.KMSEndpoint, env.KMSKeyARN)
	down := emulatorKeyring(t, env, dead, env.KMSKeyARN)
	s := keyringtest.Suite(t, materials.SuiteSymSig)
	enc := keyringtest.Encrypt(t, live, s, keyringtest.Context())
	m := &materials.Encryption{Suite: s, Context: keyringtest.Context()}
	if err := keyringtest.MustFailEncrypt(t, down, m); !errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("OnEncrypt with KMS down: %v, want ErrUnavailable", err)
	}
	if _, err := keyringtest.Decrypt(down, s, keyringtest.Context(), enc.EDKs); !errors.Is(err, materials.ErrUnavailable) {
		t.Errorf("OnDecrypt with KMS down: %v, want ErrUnavailable", err)
	}
}
