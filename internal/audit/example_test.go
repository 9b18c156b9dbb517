package audit_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store/bolt"
)

// A log over the embedded store records who did what to which record;
// Verify checks every chain of it.
func Example() {
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "db"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	keys := keystore.New("example", "keys", db, localroot.Generate())
	if err := keys.Init(ctx); err != nil {
		log.Fatal(err)
	}

	l, err := audit.Open(ctx, db, keys, audit.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := l.RecordID(ctx, "people", "p1")
	if err != nil {
		log.Fatal(err)
	}
	for _, action := range []string{"record.put", "record.get"} {
		e := audit.Entry{Token: "alice", Action: action, Collection: "people", Record: rec, Outcome: "ok"}
		if err := l.Append(ctx, e); err != nil {
			log.Fatal(err)
		}
	}
	l.Close()

	entries, _, err := l.List(ctx, audit.Filter{Record: rec}, "", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Seq, e.Token, e.Action, e.Outcome)
	}
	report, err := audit.Verify(ctx, db, keys, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report.Chains, report.Entries, len(report.Problems))
	// Output:
	// 0 alice record.put ok
	// 1 alice record.get ok
	// 1 2 0
}
