package server_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/server"
)

// Someone with the database file copies record a's item over record b's
// key. GET b refused it already; listings and searches must too: the
// generic decryption failure, counted, never a twice and b not at all.
func TestV1ListingRefusesAMovedItem(t *testing.T) {
	t.Parallel()
	if backendFor(t, t.TempDir()).Kind == server.KindDynamoDB {
		t.Skip("on DynamoDB an item is stored under its own key attributes: it cannot be put under another record's key")
	}
	s := startServer(t, opts{seed: true, noHTTP: true})
	adm := s.tokens[tokAdmin]
	s.mustCollection("moved", `{"partitionKey":"id","attributes":{"email":"encrypt"},"searchable":{"email":32}}`)
	s.mustPut(adm, recPath("moved", "a"), `{"email":"a@x"}`)
	s.mustPut(adm, recPath("moved", "b"), `{"email":"b@x"}`)
	s.stopIdle(t)

	db, err := bbolt.Open(filepath.Join(s.dataDir, datadir.DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("t/col_moved"))
		var ka, kb []byte
		_ = b.ForEach(func(k, v []byte) error {
			val, err := attr.UnmarshalTyped(v)
			if err != nil {
				return err
			}
			switch val.(attr.M)["id"] {
			case attr.S("a"):
				ka = append([]byte(nil), k...)
			case attr.S("b"):
				kb = append([]byte(nil), k...)
			}
			return nil
		})
		if ka == nil || kb == nil {
			t.Fatalf("records a and b not found in the bucket")
		}
		return b.Put(kb, append([]byte(nil), b.Get(ka)...))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, opts{dataDir: s.dataDir, noHTTP: true})
	for what, path := range map[string]string{
		"GET b":          recPath("moved", "b"),
		"list":           listPath("moved", nil),
		"search for b@x": listPath("moved", map[string][]string{"email": {"b@x"}}),
	} {
		r := s2.do(http.MethodGet, path, adm, nil, nil)
		checkProblem(t, what, r, http.StatusInternalServerError)
		if strings.Contains(string(r.body), "a@x") {
			t.Errorf("%s: the moved record's plaintext reached the client: %s", what, r.body)
		}
	}
	// a itself, at its own key, still reads.
	if r := s2.do(http.MethodGet, recPath("moved", "a"), adm, nil, nil); r.status != http.StatusOK {
		t.Errorf("GET a: %d %s", r.status, r.body)
	}
	m := s2.do(http.MethodGet, "/metrics", adm, nil, nil)
	if n := metricSum(t, m.body, "sealstore_decrypt_failures_total", `reason="record"`); n < 3 {
		t.Errorf(`sealstore_decrypt_failures_total{reason="record"} = %v; want the 3 refusals counted`, n)
	}
}
