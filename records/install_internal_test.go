package records

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store/bolt"
)

// A catalog entry read before a change made here (a request that read it
// just before a shred) must not replace the newer one installed by the
// change: the shred is refused "at once" on this server.
func TestInstallKeepsTheNewerEntry(t *testing.T) {
	t.Parallel()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ks := keystore.New("test", "keys", db, localroot.Generate())
	if err := ks.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), db, ks, hierarchy.NewCache(0, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutCollection(t.Context(), "c", Schema{PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	stale, err := s.cat.get(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ShredKeys(t.Context(), "c", "c"); err != nil {
		t.Fatal(err)
	}
	c, err := s.install(stale, s.cached("c"))
	if err != nil {
		t.Fatal(err)
	}
	if c.gone == nil || s.cached("c").gone == nil {
		t.Fatal("an entry read before the shred replaced the shredded one")
	}
	if _, err := s.collection(t.Context(), "c"); err == nil {
		t.Fatal("the shredded collection is usable")
	}
}
