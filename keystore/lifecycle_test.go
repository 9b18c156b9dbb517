package keystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
)

func TestRotateActiveVersionDestroy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	v1 := f.create(t, "bk")
	got, _, err := f.ks.ActiveVersion(ctx, "bk")
	if err != nil || got != v1 {
		t.Fatalf("ActiveVersion = %q, %v; want %q", got, err, v1)
	}
	old, err := f.ks.ActiveKey(ctx, "bk")
	if err != nil {
		t.Fatal(err)
	}
	v2 := keystore.NewID()
	if _, err := f.ks.Rotate(ctx, "bk", v2, v1); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	active, err := f.ks.ActiveKey(ctx, "bk")
	if err != nil || active.Version != v2 || active.Key.Equal(old.Key) {
		t.Fatalf("after Rotate: active %s, %v; want a new key, version %s", active.Version, err, v2)
	}
	if got, _, _ := f.ks.ActiveVersion(ctx, "bk"); got != v2 {
		t.Fatalf("ActiveVersion after Rotate = %s, want %s", got, v2)
	}
	// The old version still unwraps, to the same key.
	if k, err := f.ks.KeyVersion(ctx, "bk", v1); err != nil || !k.Key.Equal(old.Key) {
		t.Fatalf("old version after Rotate: %v", err)
	}
	// A rotation from a stale active version loses, and leaves nothing.
	v3 := keystore.NewID()
	if _, err := f.ks.Rotate(ctx, "bk", v3, v1); !errors.Is(err, keystore.ErrActiveChanged) {
		t.Fatalf("Rotate from a stale version: %v, want ErrActiveChanged", err)
	}
	if _, err := f.ks.KeyVersion(ctx, "bk", v3); !errors.Is(err, hierarchy.ErrNotFound) {
		t.Fatalf("the losing rotation's version: %v, want ErrNotFound", err)
	}
	if _, err := f.ks.Rotate(ctx, "bk", "not-a-uuid", v2); err == nil {
		t.Fatal("Rotate accepted a malformed version")
	}
	// Destroy removes every item of the branch key and no other.
	f.create(t, "other")
	if err := f.ks.Destroy(ctx, "bk", []string{v1, v2, v3}); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	for _, typ := range []string{"branch:ACTIVE", "beacon:ACTIVE", "branch:version:" + v1, "branch:version:" + v2} {
		if _, err := f.db.Get(ctx, table, attr.Item{"branch-key-id": attr.S("bk"), "type": attr.S(typ)}); err == nil {
			t.Errorf("%s is still stored after Destroy", typ)
		}
	}
	if _, err := f.ks.ActiveKey(ctx, "other"); err != nil {
		t.Fatalf("another branch key after Destroy: %v", err)
	}
	if _, _, err := f.ks.ActiveVersion(ctx, "bk"); !errors.Is(err, hierarchy.ErrNotFound) {
		t.Fatalf("ActiveVersion after Destroy: %v", err)
	}
}
