package hierarchy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/materials"
)

// TestRefusesMaterialsWithoutSuite: materials built without SuiteByID must
// be refused, not panic or derive keys of length zero.
func TestRefusesMaterialsWithoutSuite(t *testing.T) {
	t.Parallel()
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{branchKey("b", testVersionA)}}
	k, err := hierarchy.New("b", src, hierarchy.NewCache(hierarchy.DefaultTTL, 4, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.OnEncrypt(context.Background(), &materials.Encryption{}); !errors.Is(err, materials.ErrNoSuite) {
		t.Errorf("OnEncrypt: %v, want ErrNoSuite", err)
	}
	if err := k.OnDecrypt(context.Background(), &materials.Decryption{}, nil); !errors.Is(err, materials.ErrNoSuite) {
		t.Errorf("OnDecrypt: %v, want ErrNoSuite", err)
	}
}
