package conformance

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"

	"github.com/sealstore/sealstore/materials"
)

var update = flag.Bool("update", false, "rewrite sealstore's own vectors in testdata/sealstore")

// ownVectors is where sealstore keeps the manifests it wrote, with its own
// keys, records and configs. Every file there must stay decryptable
// forever: a format change that breaks one is a compatibility break.
const ownVectors = "../testdata/sealstore"

// ownManifests lists the manifests: every format version and suite.
var ownManifests = []struct {
	file, config string
	suite        materials.SuiteID
	seed         uint64
}{
	{"decrypt_sealstore_v1_6700.json", "config-v1.json", materials.SuiteSymSig, 1},
	{"decrypt_sealstore_v1_6701.json", "config-v1.json", materials.SuiteECDSA, 2},
	{"decrypt_sealstore_v2_6700.json", "config-v2.json", materials.SuiteSymSig, 3},
	{"decrypt_sealstore_v2_6701.json", "config-v2.json", materials.SuiteECDSA, 4},
}

// TestOwnVectorsDecrypt decrypts every manifest sealstore ever wrote.
func TestOwnVectorsDecrypt(t *testing.T) {
	keys, err := LoadKeys(filepath.Join(ownVectors, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ownManifests {
		t.Run(m.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(ownVectors, m.file))
			if err != nil {
				t.Fatal(err)
			}
			cases, err := ParseManifest(data)
			if err != nil || len(cases) != 3 {
				t.Fatalf("ParseManifest: %d cases, %v", len(cases), err)
			}
			for _, r := range Run(context.Background(), keys, cases) {
				if r.Outcome != Passed {
					t.Errorf("%s: %s", r.Case, r.Reason)
				}
			}
		})
	}
}

// TestOwnVectorsDeterministic re-encrypts the records with the fixed keys
// and a fixed random stream and expects the committed bytes exactly: any
// change to what sealstore writes shows up here. Run with -update to
// rewrite the files after a deliberate change (old files must be kept).
func TestOwnVectorsDeterministic(t *testing.T) {
	for _, m := range ownManifests {
		t.Run(m.file, func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, m.seed)
			got := writeOwn(t, m.config, m.suite)
			path := filepath.Join(ownVectors, m.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: sealstore no longer writes the committed bytes (run with -update only for a deliberate format change)", m.file)
			}
		})
	}
}

func writeOwn(t *testing.T, config string, suite materials.SuiteID) []byte {
	t.Helper()
	keys, err := LoadKeys(filepath.Join(ownVectors, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	records, err1 := os.ReadFile(filepath.Join(ownVectors, "records.json"))
	cfg, err2 := os.ReadFile(filepath.Join(ownVectors, config))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	out, err := Write(context.Background(), records, WriteOptions{Keys: keys, Config: cfg, Suite: suite, ClientVersion: "vectors-1"})
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", config, err))
	}
	return out
}
