package records

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/store"
)

// collectionsTable lists the collections and their branch key ids.
var collectionsTable = store.Table{Name: "sealstore_collections", PartitionKey: "name"}

// catalog keeps the list of collections.
type catalog struct {
	db   Backend
	keys Keys
}

func (c catalog) init(ctx context.Context) error {
	if err := c.db.CreateTable(ctx, collectionsTable); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// ensure returns the branch key id of collection name, creating the
// collection and its branch key the first time. Two servers starting at
// once agree: the collection record is written only if absent, and the
// loser reads the winner's.
func (c catalog) ensure(ctx context.Context, name, table string) (string, error) {
	key := attr.Item{"name": attr.S(name)}
	it, err := c.db.Get(ctx, collectionsTable, key)
	if err == nil {
		return branchKeyOf(it)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("records: read collection %s: %w", name, err)
	}
	id := keystore.NewID()
	if _, err := c.keys.Create(ctx, id); err != nil {
		return "", fmt.Errorf("records: collection %s: %w", name, err)
	}
	rec := attr.Item{
		"name":          attr.S(name),
		"table":         attr.S(table),
		"branch_key_id": attr.S(id),
		"created":       attr.S(time.Now().UTC().Format(time.RFC3339)),
	}
	err = c.db.Put(ctx, collectionsTable, rec, store.Cond{Absent: true})
	if errors.Is(err, store.ErrConflict) {
		return c.ensure(ctx, name, table)
	}
	if err != nil {
		return "", fmt.Errorf("records: create collection %s: %w", name, err)
	}
	return id, nil
}

func branchKeyOf(it attr.Item) (string, error) {
	id, ok := it["branch_key_id"].(attr.S)
	if !ok || id == "" {
		return "", errors.New("records: collection record has no branch key id")
	}
	return string(id), nil
}
