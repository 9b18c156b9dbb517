package records

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/names"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/store"
)

// collectionsTable lists the collections: name, table, branch key id and,
// for /v1 collections, the schema and its version.
var collectionsTable = store.Table{Name: "sealstore_collections", PartitionKey: "name"}

// tablePrefix starts the logical (and, under the DynamoDB table prefix,
// physical) table name of every /v1 collection: the DB-ESDK binds it into
// every item, so a reader in another language configures the same name.
const tablePrefix = "col_"

// itemsSchema is the reference collection's fixed schema.
var itemsSchema = Schema{PartitionKey: itemsKey, Attributes: map[string]string{itemsSecret: ActionEncrypt}, Suite: SuiteSymSig}

// CollectionInfo describes a collection.
type CollectionInfo struct {
	Name    string    `json:"name" doc:"Collection name."`
	Table   string    `json:"table" doc:"Logical table name bound into every record (the DynamoDB table, under the deployment's table prefix)."`
	Schema  Schema    `json:"schema"`
	Version int       `json:"version" doc:"Schema version: 1 when created, +1 per change."`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// CheckCollectionName returns an *InvalidError unless name can name a
// collection: 1 to 64 letters, digits, '.', '_' or '-', starting with a
// letter or digit.
func CheckCollectionName(name string) error {
	if !names.Valid(name) || name[0] == '.' || name[0] == '_' || name[0] == '-' {
		return &InvalidError{Field: "path.name", Reason: "a collection name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	return nil
}

// catalog keeps the list of collections.
type catalog struct {
	db   store.Store
	keys Keys
	now  func() time.Time
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
	version, err := c.keys.Create(ctx, id)
	if err != nil {
		return "", fmt.Errorf("records: collection %s: %w", name, err)
	}
	keys, err := json.Marshal(firstVersion(version, c.now()))
	if err != nil {
		return "", err
	}
	rec := attr.Item{
		"keys":          attr.S(keys),
		"name":          attr.S(name),
		"table":         attr.S(table),
		"branch_key_id": attr.S(id),
		"created":       attr.S(c.now().UTC().Format(time.RFC3339)),
		"rev":           attr.S(newRev()),
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

// entry is a collection as recorded in the catalog.
type entry struct {
	info        CollectionInfo
	branchKeyID string
	keys        keyState
	// active is the key store's active version, as keyEntry read it.
	active string
	// rev changes with every write of the entry; cond is the condition
	// that the stored entry is still the one read.
	rev string
	// seq counts the entry's writes, so that of two copies read at
	// different times the newer one is kept.
	seq  int64
	cond store.Cond
}

// get reads collection name, or ErrNotFound.
func (c catalog) get(ctx context.Context, name string) (entry, error) {
	for range 2 {
		it, err := c.db.Get(ctx, collectionsTable, attr.Item{"name": attr.S(name)})
		if errors.Is(err, store.ErrNotFound) {
			return entry{}, ErrNotFound
		}
		if err != nil {
			return entry{}, fmt.Errorf("records: read collection: %w", err)
		}
		e, err := decodeEntry(it)
		if err != nil || e.rev != "" {
			return e, err
		}
		// Written before entries had revisions: give it one (under the
		// old condition) and read it again, so that every change from
		// now on is conditional on the whole entry.
		it["rev"] = attr.S(newRev())
		if err := c.db.Put(ctx, collectionsTable, it, e.cond); err != nil && !errors.Is(err, store.ErrConflict) {
			return entry{}, fmt.Errorf("records: write collection: %w", err)
		}
	}
	return entry{}, fmt.Errorf("records: collection %q: could not give it a revision", name)
}

// list returns every collection, sorted by name.
func (c catalog) list(ctx context.Context) ([]entry, error) {
	var out []entry
	var cursor []byte
	for {
		page, err := c.db.Scan(ctx, collectionsTable, cursor, 0)
		if err != nil {
			return nil, fmt.Errorf("records: list collections: %w", err)
		}
		for _, it := range page.Items {
			e, err := decodeEntry(it)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.info.Name, b.info.Name) })
	return out, nil
}

// put writes e: a new collection if create (only if absent), otherwise
// only if the stored entry is still the one e was read as (whatever
// changed: its schema or its keys).
func (c catalog) put(ctx context.Context, e entry, create bool) (entry, error) {
	schema, err := json.Marshal(e.info.Schema)
	if err != nil {
		return entry{}, err
	}
	keys, err := json.Marshal(e.keys)
	if err != nil {
		return entry{}, err
	}
	rev := newRev()
	rec := attr.Item{
		"name":          attr.S(e.info.Name),
		"table":         attr.S(e.info.Table),
		"branch_key_id": attr.S(e.branchKeyID),
		"created":       attr.S(e.info.Created.UTC().Format(time.RFC3339)),
		"updated":       attr.S(e.info.Updated.UTC().Format(time.RFC3339)),
		"schema":        attr.S(schema),
		"version":       attr.N(strconv.Itoa(e.info.Version)),
		"keys":          attr.S(keys),
		"rev":           attr.S(rev),
		"seq":           attr.N(strconv.FormatInt(e.seq+1, 10)),
	}
	if e.info.Name == ItemsCollection {
		delete(rec, "schema") // fixed: itemsSchema
		delete(rec, "version")
	}
	cond := e.cond
	if create {
		cond = store.Cond{Absent: true}
	}
	if err := c.db.Put(ctx, collectionsTable, rec, cond); err != nil {
		return entry{}, err
	}
	e.rev, e.cond, e.seq = rev, store.Cond{Attr: "rev", Equals: attr.S(rev)}, e.seq+1
	return e, nil
}

// newRev returns a fresh revision tag for a catalog entry.
func newRev() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func decodeEntry(it attr.Item) (entry, error) {
	name, _ := it["name"].(attr.S)
	table, _ := it["table"].(attr.S)
	id, err := branchKeyOf(it)
	if err != nil {
		return entry{}, err
	}
	e := entry{branchKeyID: id, info: CollectionInfo{Name: string(name), Table: string(table), Version: 1}}
	// Entries written before revisions were kept are still changed only
	// if unchanged: by their schema version, or (the reference collection
	// before schemas) by the one attribute they have that never changes.
	if n, ok := it["seq"].(attr.N); ok {
		e.seq, _ = strconv.ParseInt(string(n), 10, 64)
	}
	rev, hasRev := it["rev"].(attr.S)
	switch {
	case hasRev:
		e.rev = string(rev)
		e.cond = store.Cond{Attr: "rev", Equals: rev}
	case it["version"] != nil:
		e.cond = store.Cond{Attr: "version", Equals: it["version"]}
	default:
		e.cond = store.Cond{Attr: "branch_key_id", Equals: attr.S(id)}
	}
	if raw, ok := it["keys"].(attr.S); ok {
		if err := json.Unmarshal([]byte(raw), &e.keys); err != nil {
			return entry{}, fmt.Errorf("records: collection %q: stored key state: %w", name, err)
		}
	}
	if s, ok := it["created"].(attr.S); ok {
		e.info.Created, _ = time.Parse(time.RFC3339, string(s))
	}
	e.info.Updated = e.info.Created
	if s, ok := it["updated"].(attr.S); ok {
		e.info.Updated, _ = time.Parse(time.RFC3339, string(s))
	}
	raw, ok := it["schema"].(attr.S)
	if !ok {
		// The reference collection predates schemas.
		if name != ItemsCollection {
			return entry{}, fmt.Errorf("records: collection %q has no schema", name)
		}
		e.info.Schema = itemsSchema
		return e, nil
	}
	if err := json.Unmarshal([]byte(raw), &e.info.Schema); err != nil {
		return entry{}, fmt.Errorf("records: collection %q: stored schema: %w", name, err)
	}
	v, _ := it["version"].(attr.N)
	if e.info.Version, err = strconv.Atoi(string(v)); err != nil || e.info.Version < 1 {
		return entry{}, fmt.Errorf("records: collection %q: stored version is not a positive integer", name)
	}
	return e, nil
}

func branchKeyOf(it attr.Item) (string, error) {
	id, ok := it["branch_key_id"].(attr.S)
	if !ok || id == "" {
		return "", errors.New("records: collection record has no branch key id")
	}
	return string(id), nil
}

// sameSchema reports whether two normalized schemas are equal.
func sameSchema(a, b Schema) bool { return reflect.DeepEqual(a.normalize(), b.normalize()) }
