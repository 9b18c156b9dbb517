package records

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/store"
)

// Limits of one page and one batch.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	MaxBatchGet     = 100
	MaxBatchPut     = 25
	batchWorkers    = 8
)

// Query asks for a page of records: all of them, or (with Filters) those
// whose searchable attributes equal the given strings.
type Query struct {
	Filters map[string]string
	Cursor  string
	Limit   int
}

// Page is a page of records and the cursor of the next ("" after the
// last). A page of a search may hold fewer records than asked, even none,
// with a cursor: beacons collide by design, and the candidates that do not
// match are dropped.
type Page struct {
	Records []Record
	Cursor  string
	// Retired counts the records left out because their key version was
	// retired (reading one of them says so).
	Retired int
}

// ListRecords lists the records of collection coll, or searches them by
// beacon when q has filters: it queries the index of one filtered
// attribute, decrypts the candidates and keeps only exact matches of every
// filter.
func (s *Service) ListRecords(ctx context.Context, coll string, q Query) (Page, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return Page{}, err
	}
	limit, names, err := c.checkQuery(q)
	if err != nil {
		return Page{}, err
	}
	aead, beacons, err := s.keysFor(ctx, c)
	if err != nil {
		return Page{}, err
	}
	bind := queryBinding(c, names, q.Filters)
	cursor, err := openCursor(aead, q.Cursor, bind)
	if err != nil {
		return Page{}, err
	}
	var page store.Page
	if len(names) == 0 {
		page, err = s.db.Scan(ctx, c.table, cursor, limit)
	} else {
		var h string
		if h, err = beacons[names[0]].Hash([]byte(q.Filters[names[0]])); err != nil {
			return Page{}, err
		}
		page, err = s.db.Query(ctx, c.table, beaconIndex(names[0]), h, cursor, limit)
	}
	if err != nil {
		return Page{}, fmt.Errorf("records: list: %w", err)
	}
	out, err := s.openPage(ctx, c, page, q.Filters)
	if err == nil && page.Next != nil {
		out.Cursor, err = sealCursor(aead, page.Next, bind)
	}
	if err != nil {
		return Page{}, err
	}
	return out, nil
}

// checkQuery returns q's page size and its filtered attributes, sorted,
// or what is wrong with q.
func (c *collection) checkQuery(q Query) (int, []string, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 1 || limit > MaxPageSize:
		return 0, nil, &InvalidError{Field: "query.limit", Reason: fmt.Sprintf("must be 1 to %d", MaxPageSize)}
	}
	names := sortedKeys(q.Filters)
	for _, name := range names {
		if _, ok := c.info.Schema.Searchable[name]; !ok {
			return 0, nil, &InvalidError{Field: "query." + name, Reason: "is not a searchable attribute of this collection (searchable: " + strings.Join(sortedKeys(c.info.Schema.Searchable), ", ") + ")"}
		}
	}
	return limit, names, nil
}

// queryBinding is what a listing's cursor is bound to: the collection
// and the query, so that it can be used for nothing else.
func queryBinding(c *collection, names []string, filters map[string]string) string {
	var bind strings.Builder
	bind.WriteString(c.info.Name)
	for _, name := range names {
		fmt.Fprintf(&bind, "\x00%d:%s\x00%d:%s", len(name), name, len(filters[name]), filters[name])
	}
	return bind.String()
}

// openPage decrypts the stored items of a listing's page and keeps the
// records matching every filter; records under a retired version are
// counted, not returned. Each item must be the record at the key it is
// stored under, as for a read: an item copied under another record's key
// is a decryption failure, never that record twice and the other not at
// all.
func (s *Service) openPage(ctx context.Context, c *collection, page store.Page, filters map[string]string) (Page, error) {
	out := Page{Records: []Record{}}
	seen := map[Key]bool{}
	for i, stored := range page.Items {
		key, err := c.keyOfStored(stored)
		if page.Keys != nil {
			if len(page.Keys) != len(page.Items) {
				return Page{}, fmt.Errorf("records: the store's page has %d keys for %d items", len(page.Keys), len(page.Items))
			}
			key, err = c.storageKey(page.Keys[i])
		}
		if err != nil {
			return Page{}, err
		}
		if len(filters) > 0 {
			k := c.keyFrom(key)
			if seen[k] {
				continue
			}
			seen[k] = true
			// An index may lag behind the table (DynamoDB's global
			// secondary indexes do): read the record itself, which may
			// since have changed or gone, and filter that.
			stored, err = s.db.Get(ctx, c.table, key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return Page{}, fmt.Errorf("records: get: %w", err)
			}
		}
		r, err := c.decryptAt(ctx, stored, key)
		var retired *RetiredError
		if errors.As(err, &retired) {
			out.Retired++
			continue
		}
		if err != nil {
			return Page{}, err
		}
		if matchesFilters(r.Doc, filters) {
			out.Records = append(out.Records, r)
		}
	}
	return out, nil
}

func matchesFilters(doc attr.Item, filters map[string]string) bool {
	for name, want := range filters {
		if got, ok := doc[name].(attr.S); !ok || string(got) != want {
			return false
		}
	}
	return true
}

// sealCursor encrypts a store cursor (which holds the last key read, in
// clear) for a client, bound to bind.
func sealCursor(aead cipher.AEAD, raw []byte, bind string) (string, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(raw)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, raw, []byte(bind))), nil
}

// openCursor reverses sealCursor; "" is the start. Anything else that does
// not open is a bad cursor.
func openCursor(aead cipher.AEAD, s, bind string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	bad := &InvalidError{Field: "query.cursor", Reason: "is not a cursor returned by this query"}
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, bad
	}
	raw, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(bind))
	if err != nil {
		return nil, bad
	}
	return raw, nil
}

// Result is the outcome of one entry of a batch: a record (batch get), an
// entity tag (batch put), or an error.
type Result struct {
	Key    Key
	Record Record
	ETag   string
	Err    error
}

// PutRequest is one record of a batch put.
type PutRequest struct {
	Key  Key
	Doc  attr.Item
	Cond Precondition
}

// BatchGet reads up to MaxBatchGet records; each has its own result.
func (s *Service) BatchGet(ctx context.Context, coll string, keys []Key) ([]Result, error) {
	if len(keys) == 0 || len(keys) > MaxBatchGet {
		return nil, &InvalidError{Field: "body.keys", Reason: fmt.Sprintf("must hold 1 to %d keys", MaxBatchGet)}
	}
	if _, err := s.collection(ctx, coll); err != nil {
		return nil, err
	}
	out := make([]Result, len(keys))
	parallel(len(keys), func(i int) {
		r, err := s.GetRecord(ctx, coll, keys[i])
		out[i] = Result{Key: keys[i], Record: r, ETag: r.ETag, Err: err}
	})
	return out, nil
}

// BatchPut writes up to MaxBatchPut records, each on its own: some may be
// stored while others fail.
func (s *Service) BatchPut(ctx context.Context, coll string, reqs []PutRequest) ([]Result, error) {
	if len(reqs) == 0 || len(reqs) > MaxBatchPut {
		return nil, &InvalidError{Field: "body.records", Reason: fmt.Sprintf("must hold 1 to %d records", MaxBatchPut)}
	}
	if _, err := s.collection(ctx, coll); err != nil {
		return nil, err
	}
	out := make([]Result, len(reqs))
	parallel(len(reqs), func(i int) {
		etag, err := s.PutRecord(ctx, coll, reqs[i].Key, reqs[i].Doc, reqs[i].Cond)
		out[i] = Result{Key: reqs[i].Key, ETag: etag, Err: err}
	})
	return out, nil
}

// parallel runs f(0..n-1) on up to batchWorkers goroutines.
func parallel(n int, f func(i int)) { parallelN(n, batchWorkers, f) }

// parallelN runs f(0..n-1) on up to workers goroutines.
func parallelN(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(n, workers); w++ {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// BeaconAdvice is what the stored beacons say about one searchable
// attribute's beacon length.
type BeaconAdvice struct {
	Attribute string `json:"attribute"`
	Length    int    `json:"length" doc:"Configured beacon length, in bits."`
	Records   int    `json:"records" doc:"Records holding a beacon for the attribute."`
	Distinct  int    `json:"distinctBeacons" doc:"Distinct beacon values stored: a lower bound of the attribute's distinct values (different values can share a beacon)."`
	// MinLength..MaxLength is the recommended range: 2^N > sqrt(X) and
	// 2^N < X/2 for X distinct values; 0, 0 when no length fits.
	MinLength int `json:"recommendedMinLength" doc:"Shortest recommended length (2^N > sqrt(X)); 0 when no length fits X."`
	MaxLength int `json:"recommendedMaxLength" doc:"Longest recommended length (2^N < X/2); 0 when no length fits X."`
	// Saturated is set when the distinct beacons fill half the beacon
	// space or more: the true count is likely higher than Distinct.
	Saturated bool   `json:"saturated" doc:"The beacons fill half or more of the 2^length possible values, so the true number of distinct values is probably higher."`
	Advice    string `json:"advice"`
}

// Beacons reports, for each searchable attribute of coll, how many
// distinct beacons are stored and the beacon lengths recommended for that
// many distinct values. It reads every record of the collection (the
// stored beacons only: nothing is decrypted).
func (s *Service) Beacons(ctx context.Context, coll string) ([]BeaconAdvice, error) {
	c, err := s.collection(ctx, coll)
	if err != nil {
		return nil, err
	}
	names := sortedKeys(c.info.Schema.Searchable)
	seen := make(map[string]map[string]struct{}, len(names))
	counts := map[string]int{}
	for _, n := range names {
		seen[n] = map[string]struct{}{}
	}
	var cursor []byte
	for {
		page, err := s.db.Scan(ctx, c.table, cursor, MaxPageSize)
		if err != nil {
			return nil, fmt.Errorf("records: scan: %w", err)
		}
		for _, it := range page.Items {
			for _, n := range names {
				if b, ok := it[beacon.AttributeName(n)].(attr.S); ok {
					seen[n][string(b)] = struct{}{}
					counts[n]++
				}
			}
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	out := make([]BeaconAdvice, 0, len(names))
	for _, n := range names {
		a := BeaconAdvice{Attribute: n, Length: c.info.Schema.Searchable[n], Records: counts[n], Distinct: len(seen[n])}
		a.MinLength, a.MaxLength = beacon.AdviseLength(a.Distinct)
		a.Saturated = a.Length < 62 && uint64(a.Distinct)*2 >= uint64(1)<<a.Length
		switch {
		case a.MinLength == 0:
			a.Advice = "too few distinct values for a beacon to hide them; keep the attribute unsearchable or accept that equal values are linkable"
		case a.Length < a.MinLength:
			a.Advice = "shorter than recommended: searches fetch many false candidates"
		case a.Length > a.MaxLength:
			a.Advice = "longer than recommended: a beacon may identify its value"
		default:
			a.Advice = "within the recommended range"
		}
		out = append(out, a)
	}
	return out, nil
}
