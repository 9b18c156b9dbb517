package hierarchy_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/keyringtest"
)

func TestStatic(t *testing.T) {
	t.Parallel()
	a1, a2, b := branchKey("a", testVersionA), branchKey("a", testVersionB), branchKey("b", testVersionA)
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{a1, a2, b}}
	ctx := context.Background()
	for id, want := range map[string]hierarchy.BranchKey{"a": a1, "b": b} {
		got, err := src.ActiveKey(ctx, id)
		if err != nil || got.Version != want.Version || !got.Key.Equal(want.Key) {
			t.Errorf("ActiveKey(%q) = %s, %v; want the first version listed", id, got.Version, err)
		}
	}
	for _, want := range src.Keys {
		got, err := src.KeyVersion(ctx, want.ID, want.Version)
		if err != nil || got.ID != want.ID || !got.Key.Equal(want.Key) {
			t.Errorf("KeyVersion(%q, %q): %v", want.ID, want.Version, err)
		}
	}
	if _, err := src.ActiveKey(ctx, "c"); !errors.Is(err, hierarchy.ErrNotFound) {
		t.Errorf("ActiveKey of an unknown id: %v, want ErrNotFound", err)
	}
	for _, q := range [][2]string{{"c", testVersionA}, {"b", testVersionB}, {"a", ""}} {
		if _, err := src.KeyVersion(ctx, q[0], q[1]); !errors.Is(err, hierarchy.ErrNotFound) {
			t.Errorf("KeyVersion(%q, %q): %v, want ErrNotFound", q[0], q[1], err)
		}
	}
}

func TestVersionRoundTrip(t *testing.T) {
	t.Parallel()
	want := []byte{0xe9, 0xce, 0x18, 0xa3, 0xed, 0xb5, 0x42, 0x72, 0x9f, 0x86, 0x1c, 0xac, 0xb7, 0x99, 0x7f, 0xf6}
	got, err := hierarchy.VersionBytes(testVersionA)
	if err != nil || !bytes.Equal(got[:], want) {
		t.Fatalf("VersionBytes(%s) = %x, %v; want %x", testVersionA, got, err, want)
	}
	if s := hierarchy.VersionString(want); s != testVersionA {
		t.Fatalf("VersionString = %s, want %s", s, testVersionA)
	}
	for range 100 {
		b := keyringtest.RandomBytes(16)
		s := hierarchy.VersionString(b)
		back, err := hierarchy.VersionBytes(s)
		if err != nil || !bytes.Equal(back[:], b) || s != strings.ToLower(s) {
			t.Fatalf("%x -> %s -> %x, %v", b, s, back, err)
		}
	}
}

func TestVersionBytesRejects(t *testing.T) {
	t.Parallel()
	bad := []string{
		"",
		"v1",
		testVersionA[:35],
		testVersionA + "0",
		"e9ce18a3edb542729f861cacb7997ff6",     // no dashes
		"e9ce18a3edb542729f861cacb7997ff60000", // 36 characters, no dashes
		"e9ce18a3-edb5-4272-9f86_1cacb7997ff6", // one dash replaced
		"e9ce18a-3edb5-4272-9f86-1cacb7997ff6", // dash misplaced
		"e9ce18a3-edb5-4272-9f86-1cacb7997fg6", // bad hex
		"e9ce18a3-edb5-4272-9f86-1cacb7997f 6",
		"e9ce18a3-edb5-4272--f86-1cacb7997ff6",
		"{9ce18a3-edb5-4272-9f86-1cacb7997ff}",
	}
	for _, i := range []int{8, 13, 18, 23} { // each dash replaced by hex
		bad = append(bad, testVersionA[:i]+"0"+testVersionA[i+1:])
	}
	for _, v := range bad {
		if b, err := hierarchy.VersionBytes(v); err == nil {
			t.Errorf("VersionBytes(%q) = %x, want an error", v, b)
		} else if !strings.Contains(err.Error(), v) {
			t.Errorf("VersionBytes(%q) error %q does not name the version", v, err)
		}
	}
}
