package kmsroot_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
)

// emulated is local-kms, reached through the real SDK client.
type emulated struct {
	env   emutest.Env
	root  *kmsroot.Root // the test key
	other *kmsroot.Root // the other test key
}

func newEmulated(t *testing.T) *emulated {
	t.Helper()
	env := emutest.KMS(t)
	client := kmsroot.NewClient(emulatorConfig(env), env.KMSEndpoint)
	root, err := kmsroot.New(client, env.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	other, err := kmsroot.New(client, env.KMSOtherKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	return &emulated{env: env, root: root, other: other}
}

func emulatorConfig(env emutest.Env) aws.Config {
	return aws.Config{
		Region:      env.Region,
		Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, ""),
	}
}

func emuContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEmulatorRoundTripAndRewrap(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := emuContext(t)
	seen := observe(e.root)
	from := sampleEC()
	to := maps.Clone(from)
	to["type"], to["version"] = "branch:ACTIVE", from["type"]

	w, err := e.root.NewKey(ctx, from)
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	key, err := e.root.Unwrap(ctx, w, from)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if key.Len() != keystore.KeyLen {
		t.Fatalf("unwrapped %d bytes", key.Len())
	}
	if bytes.Contains(w, key.InsecureBytes()) {
		t.Fatal("the wrapped key holds the key in the clear")
	}
	w2, err := e.root.NewKey(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	if k2, err := e.root.Unwrap(ctx, w2, from); err != nil || k2.Equal(key) {
		t.Fatalf("a second NewKey: same key or %v", err)
	}

	moved, err := e.root.Rewrap(ctx, w, from, to)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	got, err := e.root.Unwrap(ctx, moved, to)
	if err != nil || !got.Equal(key) {
		t.Fatalf("Unwrap of the rewrapped key under the new context: equal %v, err %v", got.Equal(key), err)
	}
	k, err := e.root.Unwrap(ctx, moved, from)
	wantUnwrapErr(t, "rewrapped key under the old context", k, err)
	if _, err := e.root.Rewrap(ctx, w, to, from); !errors.Is(err, keystore.ErrUnwrap) {
		t.Errorf("Rewrap from the wrong context: %v, want ErrUnwrap", err)
	}

	count := map[string]int{}
	for _, o := range seen() {
		count[o.op]++
	}
	want := map[string]int{kmsroot.OpGenerateDataKeyWithoutPlaintext: 2, kmsroot.OpReEncrypt: 2, kmsroot.OpDecrypt: 4}
	if !maps.Equal(count, want) {
		t.Errorf("observed %v, want %v", count, want)
	}
}

// emulatorContextChanges are the encryption context changes the tests
// expect local-kms to catch. It authenticates the sorted keys and values
// concatenated without separators, so moving characters between a key and
// its value, or adding an empty key with an empty value, goes unnoticed
// there (real KMS notices); those cases run against the fake only.
func emulatorContextChanges(base map[string]string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for key := range base {
		changed, removed := maps.Clone(base), maps.Clone(base)
		changed[key] += "x"
		delete(removed, key)
		out["value of "+key+" changed"] = changed
		out[key+" removed"] = removed
	}
	added := maps.Clone(base)
	added["version"] = "branch:version:x"
	out["key added"] = added
	out["empty context"] = map[string]string{}
	return out
}

func TestEmulatorChangedContextIsErrUnwrap(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := emuContext(t)
	base := sampleEC()
	w, err := e.root.NewKey(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	for name, ec := range emulatorContextChanges(base) {
		k, err := e.root.Unwrap(ctx, w, ec)
		wantUnwrapErr(t, "Unwrap, "+name, k, err)
		if _, err := e.root.Rewrap(ctx, w, ec, base); !errors.Is(err, keystore.ErrUnwrap) {
			t.Errorf("Rewrap, %s: %v, want ErrUnwrap", name, err)
		}
		if _, err := e.root.Unwrap(ctx, w, base); err != nil {
			t.Fatalf("Unwrap under the original context after %s: %v", name, err)
		}
	}
	// A flipped bit in the wrapped key. A local-kms blob is the key ARN's
	// length (1 byte), the ARN, the backing key version (4 bytes), then the
	// AES-GCM nonce, ciphertext and tag; with the key pinned in the request
	// local-kms ignores the ARN in the blob, so bits flipped there go
	// unnoticed (and do no harm: the key is still the one wrapped under this
	// context, by the pinned key). Every other bit counts.
	if len(w) < 1+int(w[0]) {
		t.Fatalf("a %d-byte wrapped key is not a local-kms blob", len(w))
	}
	for i := range w {
		if 1 <= i && i < 1+int(w[0]) {
			continue
		}
		bad := bytes.Clone(w)
		bad[i] ^= 0x10
		k, err := e.root.Unwrap(ctx, bad, base)
		wantUnwrapErr(t, "Unwrap with a flipped bit", k, err)
	}
}

func TestEmulatorOtherKeysCiphertextIsErrUnwrap(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := emuContext(t)
	ec := sampleEC()
	w, err := e.other.NewKey(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.root.Unwrap(ctx, w, ec)
	wantUnwrapErr(t, "Unwrap of the other key's ciphertext", k, err)
	// local-kms ignores SourceKeyId and re-encrypts from whatever key the
	// blob names; the response's SourceKeyId gives it away.
	moved, err := e.root.Rewrap(ctx, w, ec, ec)
	if !errors.Is(err, keystore.ErrUnwrap) || moved != nil {
		t.Errorf("Rewrap of the other key's ciphertext: %d bytes, err %v; want ErrUnwrap", len(moved), err)
	}
	if _, err := e.other.Unwrap(ctx, w, ec); err != nil {
		t.Fatalf("the other key cannot unwrap its own key: %v", err)
	}
}

func TestEmulatorUnavailable(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := emuContext(t)
	ec := sampleEC()
	w, err := e.root.NewKey(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}

	// A key local-kms does not have.
	client := kmsroot.NewClient(emulatorConfig(e.env), e.env.KMSEndpoint)
	missing, err := kmsroot.New(client, "arn:aws:kms:"+e.env.Region+":111122223333:key/00000000-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	for op, call := range ops(missing, ctx, w) {
		err := call()
		if !errors.Is(err, materials.ErrUnavailable) || errors.Is(err, keystore.ErrUnwrap) {
			t.Errorf("%s under a missing key: %v, want ErrUnavailable", op, err)
		}
		if !errors.As(err, new(*types.NotFoundException)) {
			t.Errorf("%s under a missing key: %v, want NotFoundException in the chain", op, err)
		}
	}

	// Nothing listening (port 1 on loopback).
	down, err := kmsroot.New(kmsroot.NewClient(emulatorConfig(e.env), "http://127.0.0.1:1"), e.env.KMSKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	for op, call := range ops(down, ctx, w) {
		if err := call(); !errors.Is(err, materials.ErrUnavailable) || errors.Is(err, keystore.ErrUnwrap) {
			t.Errorf("%s with KMS down: %v, want ErrUnavailable", op, err)
		}
	}

	// A canceled request.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for op, call := range ops(e.root, canceled, w) {
		if err := call(); !errors.Is(err, materials.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s canceled: %v, want ErrUnavailable and context.Canceled", op, err)
		}
	}
}

func TestEmulatorErrorsHoldNoKeyOrCiphertext(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	ctx := emuContext(t)
	ec := sampleEC()
	w, err := e.root.NewKey(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.root.Unwrap(ctx, w, ec)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"key": key.InsecureBytes(), "ciphertext": w}
	for name, bad := range emulatorContextChanges(ec) {
		_, err := e.root.Unwrap(ctx, w, bad)
		checkNoLeak(t, "Unwrap, "+name, err, secrets)
	}
	other, err := e.other.NewKey(ctx, ec)
	if err != nil {
		t.Fatal(err)
	}
	secrets["other ciphertext"] = other
	_, err = e.root.Unwrap(ctx, other, ec)
	checkNoLeak(t, "Unwrap of the other key's ciphertext", err, secrets)
	_, err = e.root.Rewrap(ctx, other, ec, ec)
	checkNoLeak(t, "Rewrap of the other key's ciphertext", err, secrets)
	// local-kms quotes an oversized ciphertext in its error message; the
	// root key never sends one.
	huge := bytes.Repeat([]byte("CANARY"), 1100)
	secrets["canary"] = huge[:36]
	_, err = e.root.Unwrap(ctx, huge, ec)
	checkNoLeak(t, "Unwrap of an oversized ciphertext", err, secrets)
}

func TestEmulatorKeyStore(t *testing.T) {
	t.Parallel()
	e := newEmulated(t)
	f := newKSFixture(t, e.root)
	v := checkCreateAndLoad(t, f, "collection")
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} {
		if got := f.get(t, "collection", typ)["kms-arn"]; got != attr.S(e.env.KMSKeyARN) {
			t.Errorf("%s: kms-arn %v, want %q", typ, got, e.env.KMSKeyARN)
		}
	}

	// One encryption context attribute edited in every item.
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + v, "beacon:ACTIVE"} {
		it := f.get(t, "collection", typ)
		ts, err := time.Parse(time.RFC3339, string(it["create-time"].(attr.S)))
		if err != nil {
			t.Fatal(err)
		}
		it["create-time"] = attr.S(ts.Add(-time.Second).Format(time.RFC3339))
		f.put(t, it)
	}
	checkFailsClosed(t, "create-time edited", keyLoads(f.ks, "collection", v))

	// Items copied under another branch key id.
	va := checkCreateAndLoad(t, f, "a")
	for _, typ := range []string{"branch:ACTIVE", "branch:version:" + va, "beacon:ACTIVE"} {
		it := f.get(t, "a", typ)
		it["branch-key-id"] = attr.S("b")
		f.put(t, it)
	}
	checkFailsClosed(t, "items copied from a to b", keyLoads(f.ks, "b", va))

	// The beacon key's enc in the ACTIVE item.
	active, beacon := f.get(t, "a", "branch:ACTIVE"), f.get(t, "a", "beacon:ACTIVE")
	active["enc"] = beacon["enc"]
	f.put(t, active)
	checkFailsClosed(t, "the beacon's enc in the ACTIVE item", map[string]func(context.Context) (bool, error){
		"ActiveKey": func(ctx context.Context) (bool, error) {
			k, err := f.ks.ActiveKey(ctx, "a")
			return !k.Key.IsZero(), err
		},
	})

	// The same table read through the other key.
	checkFailsClosed(t, "reading through the other key", keyLoads(keystore.New(ksName, ksTable, f.db, e.other), "a", va))
}
