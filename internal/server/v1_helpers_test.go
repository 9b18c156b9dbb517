package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/datadir"
	"github.com/sealstore/sealstore/internal/journal"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
	"github.com/sealstore/sealstore/store/dynamo"
)

// Media types of the /v1 API.
const (
	mergePatch  = "application/merge-patch+json"
	problemJSON = "application/problem+json"
)

// collPath is the path of collection c, plus any suffix.
func collPath(c string, suffix ...string) string {
	return "/v1/collections/" + escapePath(c) + strings.Join(suffix, "")
}

// recPath is the path of record id (and sort key, if given) of c.
func recPath(c, id string, sort ...string) string {
	p := collPath(c, "/records/", escapePath(id))
	for _, s := range sort {
		p += "/" + escapePath(s)
	}
	return p
}

// listPath is the list (or search) path of c with query q.
func listPath(c string, q url.Values) string {
	p := collPath(c, "/records")
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// mustCollection creates collection name with schema (JSON) as the admin
// and fails unless the answer is 201.
func (s *srv) mustCollection(name, schema string) {
	s.t.Helper()
	r := s.do(http.MethodPut, collPath(name), s.tokens[tokAdmin], []byte(schema), nil)
	if r.status != http.StatusCreated {
		s.t.Fatalf("PUT %s: %d %s; want 201", collPath(name), r.status, r.body)
	}
}

// putRecord sends PUT of body to the record at path with extra headers.
func (s *srv) putRecord(token, path, body string, hdr map[string]string) resp {
	s.t.Helper()
	return s.do(http.MethodPut, path, token, []byte(body), hdr)
}

// mustPut stores body at path with token and returns the entity tag.
func (s *srv) mustPut(token, path, body string) string {
	s.t.Helper()
	r := s.putRecord(token, path, body, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("PUT %s: %d %s; want 200", path, r.status, r.body)
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		s.t.Fatalf("PUT %s: no ETag header", path)
	}
	return etag
}

// patch sends a JSON merge patch to path.
func (s *srv) patch(token, path, body string, hdr map[string]string) resp {
	s.t.Helper()
	h := map[string]string{"Content-Type": mergePatch}
	for k, v := range hdr {
		h[k] = v
	}
	return s.do(http.MethodPatch, path, token, []byte(body), h)
}

// mustGetDoc reads the record at path and returns its body, decoded with
// exact numbers, and its ETag.
func (s *srv) mustGetDoc(token, path string) (map[string]any, string) {
	s.t.Helper()
	r := s.do(http.MethodGet, path, token, nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s; want 200", path, r.status, r.body)
	}
	return decodeDoc(s.t, "GET "+path, r.body), r.header.Get("ETag")
}

// decodeDoc decodes a JSON object keeping numbers as json.Number.
func decodeDoc(t testing.TB, what string, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: body %q is not a JSON object: %v", what, b, err)
	}
	return m
}

// mustDecode decodes r's JSON body into v.
func mustDecode(t testing.TB, what string, r resp, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: body %q: %v", what, r.body, err)
	}
}

// listedRecord is one record of a list or search page.
type listedRecord struct {
	ID     string         `json:"id"`
	Sort   string         `json:"sort"`
	ETag   string         `json:"etag"`
	Record map[string]any `json:"record"`
}

type listPage struct {
	Records []listedRecord `json:"records"`
	Cursor  string         `json:"cursor"`
}

// listAll walks every page of a list or search of c (query q, page size
// limit) and returns the records and the number of pages.
func (s *srv) listAll(token, c string, q url.Values, limit int) ([]listedRecord, int) {
	s.t.Helper()
	var out []listedRecord
	cursor := ""
	for pages := 1; ; pages++ {
		if pages > 1000 {
			s.t.Fatalf("list %s %v: more than 1000 pages", c, q)
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		r := s.do(http.MethodGet, listPath(c, qq), token, nil, nil)
		if r.status != http.StatusOK {
			s.t.Fatalf("GET %s: %d %s; want 200", listPath(c, qq), r.status, r.body)
		}
		var p listPage
		mustDecode(s.t, "list page", r, &p)
		if len(p.Records) > limit {
			s.t.Errorf("list %s: page of %d records; limit %d", c, len(p.Records), limit)
		}
		out = append(out, p.Records...)
		if p.Cursor == "" {
			return out, pages
		}
		cursor = p.Cursor
	}
}

// tryDo is a goroutine-safe request: no testing.T.
func (s *srv) tryDo(method, path, token string, body []byte, hdr map[string]string) (resp, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url(path), rd)
	if err != nil {
		return resp{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b, path: req.URL.Path}, err
}

// rawBackend is a stopped server's store, audit trail and root key,
// opened directly.
type rawBackend struct {
	db    store.Store
	trail audit.Backend
	// replace writes an audit item over the one at its key, as someone
	// able to write the trail's storage could.
	replace func(ctx context.Context, t store.Table, it attr.Item) error
	// remove deletes an audit item, as someone able to write the trail's
	// storage could.
	remove func(ctx context.Context, t store.Table, key attr.Item) error
	root   keystore.Root
}

// deleteChain removes a chain's batches, and with row its row in the
// chains table, from the trail.
func (b rawBackend) deleteChain(ctx context.Context, chain string, row bool) error {
	batches := audit.Tables()[0]
	for _, it := range scanAllCtx(ctx, b.trail, batches) {
		if it["chain"] == attr.S(chain) {
			if err := b.remove(ctx, batches, attr.Item{"chain": it["chain"], "seq": it["seq"]}); err != nil {
				return err
			}
		}
	}
	if row {
		return b.remove(ctx, audit.Tables()[1], attr.Item{"chain": attr.S(chain)})
	}
	return nil
}

// scanAllCtx returns every item of table tbl of db.
func scanAllCtx(ctx context.Context, db interface {
	Scan(context.Context, store.Table, []byte, int) (store.Page, error)
}, tbl store.Table) []attr.Item {
	var out []attr.Item
	var cursor []byte
	for {
		p, err := db.Scan(ctx, tbl, cursor, 0)
		if err != nil {
			return out
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out
		}
		cursor = p.Next
	}
}

// keys returns the deployment's key store.
func (b rawBackend) keys() *keystore.Store {
	return keystore.New(server.KeyStoreName, server.KeyStoreTable, b.db, b.root)
}

// withRaw opens the store and root key of the (stopped) server that ran
// on dataDir, calls fn, and closes them again, so that the data directory
// is free for the next user.
func withRaw(t testing.TB, dataDir string, fn func(ctx context.Context, b rawBackend)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	be := backendFor(t, dataDir)
	if be.Kind != server.KindDynamoDB {
		db, err := bolt.Open(filepath.Join(dataDir, datadir.DBFile), time.Second)
		if err != nil {
			t.Fatalf("open the data directory's database (is the server stopped?): %v", err)
		}
		defer db.Close()
		root, err := localroot.Load(filepath.Join(dataDir, datadir.RootFile))
		if err != nil {
			t.Fatalf("load the local root key: %v", err)
		}
		j, err := journal.Open(filepath.Join(dataDir, datadir.AuditDir), journal.Options{})
		if err != nil {
			t.Fatalf("open the audit journal: %v", err)
		}
		defer j.Close()
		trail := audit.Layered(j, db)
		for _, tbl := range audit.Tables() {
			if err := trail.CreateTable(ctx, tbl); err != nil {
				t.Fatal(err)
			}
		}
		fn(ctx, rawBackend{db: db, trail: trail, replace: j.InsecureReplace, remove: j.InsecureDelete, root: root})
		return
	}
	db, err := dynamo.Open(ctx, dynamo.Config{Region: be.Region, Endpoint: be.DynamoDBEndpoint, TablePrefix: be.TablePrefix})
	if err != nil {
		t.Fatalf("dynamo.Open: %v", err)
	}
	root, err := kmsroot.Open(ctx, kmsroot.Config{Region: be.Region, Endpoint: be.KMSEndpoint, KeyARN: be.KMSKeyID})
	if err != nil {
		t.Fatalf("kmsroot.Open: %v", err)
	}
	put := func(ctx context.Context, t store.Table, it attr.Item) error { return db.Put(ctx, t, it, store.Cond{}) }
	del := func(ctx context.Context, t store.Table, key attr.Item) error {
		return db.Delete(ctx, t, key, store.Cond{})
	}
	fn(ctx, rawBackend{db: db, trail: db, replace: put, remove: del, root: root})
}

// scanAll returns every item of table t.
func scanAll(ctx context.Context, t testing.TB, db interface {
	Scan(context.Context, store.Table, []byte, int) (store.Page, error)
}, tbl store.Table) []attr.Item {
	t.Helper()
	var out []attr.Item
	var cursor []byte
	for {
		p, err := db.Scan(ctx, tbl, cursor, 0)
		if err != nil {
			t.Fatalf("scan %s: %v", tbl.Name, err)
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out
		}
		cursor = p.Next
	}
}

// verifyConfig is the server.Config VerifyAudit needs for the deployment
// on dataDir.
func verifyConfig(t testing.TB, dataDir string) server.Config {
	t.Helper()
	return server.Config{DataDir: dataDir, Backend: backendFor(t, dataDir)}
}

// mustJSON marshals v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stopIdle closes the client's idle connections and stops the server,
// failing t if Run returns an error. (A connection the client dialed for
// a request that another connection served is never used; net/http's
// Shutdown waits up to 5 s for such connections, as long as the test
// server's drain timeout.)
func (s *srv) stopIdle(t testing.TB) {
	t.Helper()
	s.client.CloseIdleConnections()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
