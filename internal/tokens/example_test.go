package tokens_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/store/bolt"
)

// A token is shown once; the store keeps its hash, and a Set built from the
// stored tokens recognises it and its scopes.
func Example() {
	dir, _ := os.MkdirTemp("", "tokens-example")
	defer os.RemoveAll(dir)
	db, err := bolt.Open(filepath.Join(dir, "db"), time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	ts := tokens.New(db, "tokens")
	if err := ts.Init(ctx); err != nil {
		log.Fatal(err)
	}
	scopes, _ := tokens.ParseScopes("items:read")
	_, secret, err := ts.Create(ctx, "reader", scopes)
	if err != nil {
		log.Fatal(err)
	}
	list, _ := ts.List(ctx)
	set := tokens.NewSet(list)
	tok, ok := set.Verify(secret)
	fmt.Println(ok, tok.Name, tok.Allows("items", tokens.Read), tok.Allows("items", tokens.Write))
	_, ok = set.Verify("sst_not-a-token")
	fmt.Println(ok)
	// Output:
	// true reader true false
	// false
}
