package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/tokens"
	"github.com/sealstore/sealstore/store"
)

// metaTable holds the service's own records: for now, that the bootstrap
// token was handed out.
var metaTable = store.Table{Name: "sealstore_meta", PartitionKey: "name"}

// bootstrap creates an admin token and prints it, once per data directory:
// a marker written after the token is printed says it is done. A server
// calls it only once its addresses are bound; a start that fails before
// (a port taken) or is killed before the marker leaves no marker, and the
// next start replaces the token no one saw. A directory that already has other tokens
// (made offline) needs none. Revoking every token later does not bring a
// new one: that is the offline 'sealstore tokens create'.
func bootstrap(ctx context.Context, db store.Store, ts *tokens.Store, out io.Writer) error {
	if err := db.CreateTable(ctx, metaTable); err != nil {
		return err
	}
	marker := attr.Item{"name": attr.S("bootstrap")}
	_, err := db.Get(ctx, metaTable, marker)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	list, err := ts.List(ctx)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(list, func(t tokens.Token) bool { return t.Name != BootstrapName }) {
		return db.Put(ctx, metaTable, marker, store.Cond{Absent: true})
	}
	if err := ts.Revoke(ctx, BootstrapName); err != nil && !errors.Is(err, tokens.ErrNotFound) {
		return err
	}
	scopes := []tokens.Scope{{Collection: tokens.AnyCollection, Action: tokens.Admin}}
	_, secret, err := ts.Create(ctx, BootstrapName, scopes)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bootstrap admin token (shown once; store it now): %s\n", secret)
	marker["created"] = attr.S(time.Now().UTC().Format(time.RFC3339))
	return db.Put(ctx, metaTable, marker, store.Cond{Absent: true})
}
