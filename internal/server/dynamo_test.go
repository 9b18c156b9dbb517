package server_test

// Tests of the DynamoDB + KMS backend that look under the API: the raw
// tables, the KMS call count, outages of either service, and a tampered
// key store. They need the emulators (./scripts/test starts them) and run
// in the default pass of this package; the SEALSTORE_TEST_SERVER_STORE=
// dynamodb pass runs every other test of the package on DynamoDB.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/faultproxy"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/internal/syncbuf"
	"github.com/sealstore/sealstore/internal/tokens"
)

// startDynamo starts a server on DynamoDB tables of its own and returns it,
// its backend and the bootstrap token 'init' printed.
func startDynamo(t *testing.T) (*srv, server.Backend, string) {
	t.Helper()
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	s := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true})
	return s, b, s.tokens["bootstrap"]
}

// dynamoOnly returns a DynamoDB backend with its own tables, or skips t in
// the DynamoDB pass (where it already ran once) or without emulators.
func dynamoOnly(t *testing.T, dataDir string) server.Backend {
	t.Helper()
	if os.Getenv(serverStoreVar) != "" {
		t.Skip("runs once, in the default pass of this package")
	}
	return dynamoBackend(t, dataDir)
}

func rawDynamo(t testing.TB, b server.Backend) *dynamodb.Client {
	env := emutest.Both(t)
	cfg := aws.Config{Region: env.Region, Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, "")}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(b.DynamoDBEndpoint) })
}

func rawKMS(t testing.TB, b server.Backend) *kms.Client {
	env := emutest.Both(t)
	cfg := aws.Config{Region: env.Region, Credentials: credentials.NewStaticCredentialsProvider(env.AccessKeyID, env.SecretAccessKey, "")}
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(b.KMSEndpoint) })
}

// rawItems returns every item of every table with b's prefix, by table,
// read with the SDK directly (not through sealstore's adapter).
func rawItems(t testing.TB, b server.Backend) map[string][]map[string]types.AttributeValue {
	t.Helper()
	db := rawDynamo(t, b)
	out := map[string][]map[string]types.AttributeValue{}
	var start *string
	for {
		lt, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{ExclusiveStartTableName: start})
		if err != nil {
			t.Fatalf("ListTables: %v", err)
		}
		for _, name := range lt.TableNames {
			if !strings.HasPrefix(name, b.TablePrefix) {
				continue
			}
			p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
			out[name] = []map[string]types.AttributeValue{}
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatalf("Scan %s: %v", name, err)
				}
				out[name] = append(out[name], page.Items...)
			}
		}
		if lt.LastEvaluatedTableName == nil {
			return out
		}
		start = lt.LastEvaluatedTableName
	}
}

// rawTables returns, by table, every attribute name and value byte of the
// tables with b's prefix.
func rawTables(t testing.TB, b server.Backend) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, items := range rawItems(t, b) {
		var buf bytes.Buffer
		for _, it := range items {
			dumpItem(&buf, it)
		}
		out[name] = buf.Bytes()
	}
	return out
}

func dumpItem(buf *bytes.Buffer, it map[string]types.AttributeValue) {
	for name, v := range it {
		buf.WriteString(name + "\n")
		dumpValue(buf, v)
	}
}

func dumpValue(buf *bytes.Buffer, v types.AttributeValue) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		buf.WriteString(v.Value)
	case *types.AttributeValueMemberN:
		buf.WriteString(v.Value)
	case *types.AttributeValueMemberB:
		buf.Write(v.Value)
	case *types.AttributeValueMemberSS:
		buf.WriteString(strings.Join(v.Value, "\n"))
	case *types.AttributeValueMemberNS:
		buf.WriteString(strings.Join(v.Value, "\n"))
	case *types.AttributeValueMemberBS:
		buf.Write(bytes.Join(v.Value, []byte("\n")))
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			dumpValue(buf, e)
		}
	case *types.AttributeValueMemberM:
		dumpItem(buf, v.Value)
	}
	buf.WriteString("\n")
}

// kmsCalls reads sealstore_kms_calls_total from /metrics, summed.
func kmsCallsFrom(t testing.TB, s *srv, tok string) int {
	t.Helper()
	r := s.do(http.MethodGet, "/metrics", tok, nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %s", r)
	}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^sealstore_kms_calls_total\{[^}]*\} (\d+)$`).FindAllStringSubmatch(string(r.body), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

// TestDynamoRawTables: after canary secrets are stored, the DynamoDB items
// table holds only the DB-ESDK layout (the id, aws_dbe_head, aws_dbe_foot
// and the secret as binary ciphertext), and the key store holds branch keys
// only wrapped: the plaintext keys, unwrapped here with KMS, appear in no
// table. (TestCanaries, in the DynamoDB pass, checks every table for the
// canaries in every encoding.)
func TestDynamoRawTables(t *testing.T) {
	t.Parallel()
	s, b, tok := startDynamo(t)
	canaries := []string{}
	for i := range 5 {
		c := "cnry-raw-" + randHex(12)
		canaries = append(canaries, c)
		s.mustStore(tok, fmt.Sprintf("item-%d", i), c)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	tables := rawItems(t, b)
	itemsTable := b.TablePrefix + "secure_items"
	items := tables[itemsTable]
	if len(items) != len(canaries) {
		t.Fatalf("%s holds %d items, want %d (tables: %v)", itemsTable, len(items), len(canaries), slices.Collect(mapsKeys(tables)))
	}
	for _, it := range items {
		var names []string
		for name, v := range it {
			names = append(names, name)
			_, isS := v.(*types.AttributeValueMemberS)
			_, isB := v.(*types.AttributeValueMemberB)
			if (name == "item_id") != isS || (name != "item_id" && !isB) {
				t.Errorf("%s: attribute %s is %T", itemsTable, name, v)
			}
		}
		slices.Sort(names)
		if strings.Join(names, ",") != "aws_dbe_foot,aws_dbe_head,item_id,secret" {
			t.Errorf("%s: item attributes %v; want item_id, secret, aws_dbe_head, aws_dbe_foot", itemsTable, names)
		}
	}
	all := rawTables(t, b)
	var blob []byte
	for _, data := range all {
		blob = append(blob, data...)
	}
	for _, c := range canaries {
		if f := findForms(blob, c); len(f) != 0 {
			t.Errorf("a table holds canary %s as %v", c, f)
		}
	}
	// Every branch key and beacon key: stored wrapped (enc is binary),
	// and its plaintext, as KMS unwraps it, is nowhere in any table.
	keys := tables[b.TablePrefix+server.KeyStoreTable]
	if len(keys) < 3 {
		t.Fatalf("key store holds %d items; want ACTIVE, a version and a beacon key", len(keys))
	}
	for _, it := range keys {
		enc, ok := it["enc"].(*types.AttributeValueMemberB)
		if !ok {
			t.Fatalf("key store item without binary enc: %v", it)
		}
		ec := map[string]string{"tablename": server.KeyStoreName}
		for name, v := range it {
			switch v := v.(type) {
			case *types.AttributeValueMemberS:
				ec[name] = v.Value
			case *types.AttributeValueMemberN:
				ec[name] = v.Value
			}
		}
		out, err := rawKMS(t, b).Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: enc.Value, EncryptionContext: ec, KeyId: aws.String(b.KMSKeyID)})
		if err != nil {
			t.Fatalf("KMS Decrypt of %s %s under the MPL encryption context: %v", ec["branch-key-id"], ec["type"], err)
		}
		if len(out.Plaintext) != 32 {
			t.Fatalf("unwrapped key is %d bytes", len(out.Plaintext))
		}
		for _, form := range [][]byte{out.Plaintext, []byte(hex.EncodeToString(out.Plaintext)), []byte(base64.StdEncoding.EncodeToString(out.Plaintext))} {
			if bytes.Contains(blob, form) {
				t.Errorf("the plaintext of branch key %s %s is stored", ec["branch-key-id"], ec["type"])
			}
		}
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// load runs n requests from 16 goroutines and returns how many did not get
// 200, logging the first failure.
func load(s *srv, n int, req func(i int) (*http.Request, error)) int64 {
	var next, bad atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, err := req(i)
				if err == nil {
					var res *http.Response
					if res, err = s.client.Do(r); err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %d", res.StatusCode)
						}
					}
				}
				if err != nil {
					bad.Add(1)
					once.Do(func() { s.t.Logf("request %d: %v", i, err) })
				}
			}
		}()
	}
	wg.Wait()
	return bad.Load()
}

func postReq(s *srv, tok string) func(int) (*http.Request, error) {
	return func(i int) (*http.Request, error) {
		body := fmt.Sprintf(`{"id":"k-%d","secret":"v-%d"}`, i%500, i)
		r, err := http.NewRequest(http.MethodPost, s.url("/items/"), strings.NewReader(body))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r, err
	}
}

func getReq(s *srv, tok string) func(int) (*http.Request, error) {
	return func(i int) (*http.Request, error) {
		r, err := http.NewRequest(http.MethodGet, s.url(fmt.Sprintf("/items/k-%d", i%500)), nil)
		if err == nil {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r, err
	}
}

// TestKMSCallEconomy: 10,000 writes and reads against one collection make
// at most 2 + (TTL expiries) KMS calls — the collection's branch key once
// per TTL, and the audit key once per process; the reference makes one
// per request, 10,000 — and a short TTL does make the server call again.
func TestKMSCallEconomy(t *testing.T) {
	t.Parallel()
	s, b, tok := startDynamo(t)
	dir := s.dataDir
	if n := kmsCallsFrom(t, s, tok); n != 0 {
		t.Fatalf("%d KMS calls before any request; want 0", n)
	}
	start := time.Now()
	if bad := load(s, 5000, postReq(s, tok)) + load(s, 5000, getReq(s, tok)); bad != 0 {
		t.Fatalf("%d of 10,000 requests failed", bad)
	}
	elapsed := time.Since(start)
	expiries := int(elapsed / (5 * time.Minute))
	calls := kmsCallsFrom(t, s, tok)
	t.Logf("10,000 requests in %v: %d KMS calls", elapsed.Round(time.Millisecond), calls)
	if calls < 2 || calls > 2+expiries {
		t.Fatalf("10,000 writes and reads made %d KMS calls; want 2 (branch key, audit key) + %d TTL expiries at most (and at least the two)", calls, expiries)
	}

	// With a 1 s TTL the key is fetched again after each expiry, and still
	// only then.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	const ttl = time.Second
	s2 := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true, keyCacheTTL: ttl})
	// Read for at least 3.5 s and until the branch key has been fetched
	// three times (each fetch itself takes time on a loaded machine), at
	// most 30 s; the upper bound below follows the time taken.
	start = time.Now()
	rounds := 0
	for {
		if bad := load(s2, 200, getReq(s2, tok)); bad != 0 {
			t.Fatalf("%d requests failed", bad)
		}
		rounds++
		if e := time.Since(start); e >= 3500*time.Millisecond && (e > 30*time.Second || kmsCallsFrom(t, s2, tok) >= 4) {
			break
		}
	}
	elapsed = time.Since(start)
	calls = kmsCallsFrom(t, s2, tok)
	maxCalls := 2 + int(elapsed/ttl) // the audit key once, the branch key per TTL
	t.Logf("%d requests in %v with a %v TTL: %d KMS calls", rounds*200, elapsed.Round(time.Millisecond), ttl, calls)
	if calls < 4 || calls > maxCalls {
		t.Fatalf("%v of reads with a %v TTL made %d KMS calls; want 4 to %d", elapsed.Round(time.Millisecond), ttl, calls, maxCalls)
	}
}

// wantUnavailable checks a 503 problem with Retry-After.
func wantUnavailable(t *testing.T, what string, r resp) {
	t.Helper()
	checkProblem(t, what, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
}

// wantRawAbsent checks, under the API, that no item with id was written.
func wantRawAbsent(t *testing.T, b server.Backend, id string) {
	t.Helper()
	out, err := rawDynamo(t, b).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(b.TablePrefix + "secure_items"), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"item_id": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		t.Fatalf("raw GetItem: %v", err)
	}
	if out.Item != nil {
		t.Fatalf("item %s was written", id)
	}
}

func proxyFor(t *testing.T, endpoint string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestKMSOutage: with KMS unreachable and a cold cache, writes and reads
// answer 503 with Retry-After and nothing is written; with a warm cache
// requests go on until the TTL ends, then 503; when KMS is back the same
// server recovers.
func TestKMSOutage(t *testing.T) {
	t.Parallel()
	s, b, tok := startDynamo(t)
	dir := s.dataDir
	s.mustStore(tok, "before", "stored before the outage")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	proxy := proxyFor(t, b.KMSEndpoint)
	viaProxy := b
	viaProxy.KMSEndpoint = proxy.URL()
	proxy.Down()
	// The warm-cache requests below must all fit in the TTL, on the
	// emulators, on a loaded 2-core machine: 10 s leaves room.
	const ttl = 10 * time.Second
	cold := startServer(t, opts{dataDir: dir, backend: &viaProxy, noHTTP: true, keyCacheTTL: ttl})
	wantUnavailable(t, "POST, KMS down, cold cache", cold.post(tok, "during", "must not be written"))
	wantUnavailable(t, "GET, KMS down, cold cache", cold.get(tok, "before"))
	wantRawAbsent(t, b, "during")

	proxy.Up()
	cold.mustStore(tok, "after", "written once KMS is back")
	cold.mustRead(tok, "before", "stored before the outage") // cache now warm

	proxy.Down()
	warmUntil := time.Now().Add(ttl)
	cold.mustStore(tok, "warm", "written from the warm cache")
	cold.mustRead(tok, "before", "stored before the outage")
	if time.Now().After(warmUntil) {
		t.Fatal("the warm-cache requests took longer than the TTL; the test proves nothing")
	}
	time.Sleep(time.Until(warmUntil) + 200*time.Millisecond)
	wantUnavailable(t, "POST, KMS down, TTL over", cold.post(tok, "expired", "must not be written"))
	wantUnavailable(t, "GET, KMS down, TTL over", cold.get(tok, "before"))
	wantRawAbsent(t, b, "expired")

	proxy.Up()
	cold.mustRead(tok, "warm", "written from the warm cache")
	cold.mustStore(tok, "expired", "now it may be written")
}

// TestDynamoDBOutage: with DynamoDB unreachable, reads and writes answer
// 503 with Retry-After (and /readyz says not ready); the same server
// recovers when it is back.
func TestDynamoDBOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	proxy := proxyFor(t, b.DynamoDBEndpoint)
	viaProxy := b
	viaProxy.DynamoDBEndpoint = proxy.URL()
	s := startServer(t, opts{dataDir: dir, backend: &viaProxy, noHTTP: true, seed: true})
	tok := s.tokens[tokAdmin]
	s.mustStore(tok, "before", "stored before the outage")

	proxy.Down()
	wantUnavailable(t, "POST, DynamoDB down", s.post(tok, "during", "must not be written"))
	wantUnavailable(t, "GET, DynamoDB down", s.get(tok, "before"))
	wantUnavailable(t, "GET /readyz, DynamoDB down", s.do(http.MethodGet, "/readyz", tok, nil, nil))

	proxy.Up()
	s.mustRead(tok, "before", "stored before the outage")
	s.mustStore(tok, "during", "written once DynamoDB is back")
	if r := s.do(http.MethodGet, "/readyz", tok, nil, nil); r.status != http.StatusOK {
		t.Fatalf("GET /readyz after recovery: %s", r)
	}
}

// TestTamperedKeyStore: a branch key whose encryption context was altered
// in the key store (its create-time edited) fails closed: reads and writes
// answer one generic 500 — not 503, never a write — and the response does
// not say why.
func TestTamperedKeyStore(t *testing.T) {
	t.Parallel()
	s, b, tok := startDynamo(t)
	dir := s.dataDir
	s.mustStore(tok, "x", "stored under the real key")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	db := rawDynamo(t, b)
	keysTable := b.TablePrefix + server.KeyStoreTable
	edited := 0
	for _, it := range rawItems(t, b)[keysTable] {
		typ := it["type"].(*types.AttributeValueMemberS).Value
		if !strings.HasPrefix(typ, "branch:") {
			continue
		}
		it["create-time"] = &types.AttributeValueMemberS{Value: "2001-01-01T00:00:00Z"}
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(keysTable), Item: it}); err != nil {
			t.Fatal(err)
		}
		edited++
	}
	if edited < 2 {
		t.Fatalf("edited %d branch key items; want the ACTIVE item and its version", edited)
	}
	s2 := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true})
	for what, r := range map[string]resp{
		"GET":  s2.get(tok, "x"),
		"POST": s2.post(tok, "y", "must not be written"),
	} {
		p := checkProblem(t, what+" with a tampered branch key", r, http.StatusInternalServerError)
		if strings.Contains(strings.ToLower(string(r.body)), "kms") || strings.Contains(strings.ToLower(string(r.body)), "context") {
			t.Errorf("%s: the error says why: %s (%+v)", what, r.body, p)
		}
	}
	wantRawAbsent(t, b, "y")
}

// TestInitDynamoDB: init creates the tables once and prints the bootstrap
// token once; a server refuses tables that init never made.
func TestInitDynamoDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	var first, second syncbuf.Buffer
	cfg := server.Config{DataDir: dir, Backend: b}
	if err := server.Init(context.Background(), cfg, &first); err != nil {
		t.Fatal(err)
	}
	if err := server.Init(context.Background(), cfg, &second); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if n := countTokens(first.String()); n != 1 {
		t.Errorf("first init printed %d tokens; want 1:\n%s", n, first.String())
	}
	if strings.Contains(second.String(), "sst_") {
		t.Errorf("second init printed a token:\n%s", second.String())
	}
	var names []string
	for name := range rawItems(t, b) {
		names = append(names, strings.TrimPrefix(name, b.TablePrefix))
	}
	slices.Sort(names)
	want := []string{"sealstore_audit", "sealstore_audit_chains", "sealstore_collections", "sealstore_import_items", "sealstore_imports", "sealstore_jobs", "sealstore_keys", "sealstore_meta", "sealstore_tokens", "secure_items"}
	if !slices.Equal(names, want) {
		t.Errorf("tables %v; want %v", names, want)
	}
	prefixesMu.Lock()
	inited[dir] = true
	prefixesMu.Unlock()
	s := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true})
	tok := bootstrapLine.FindStringSubmatch(first.String())
	if tok == nil {
		t.Fatal("no token line")
	}
	wantAdmin(t, s, "init's bootstrap token", tok[1])

	fresh := b
	fresh.TablePrefix = emutest.Prefix(t)
	err := server.Run(context.Background(), server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Backend: fresh, Out: io.Discard, Log: io.Discard}, nil)
	if err == nil || !strings.Contains(err.Error(), "sealstore init") {
		t.Fatalf("serve on tables init never made: %v; want an error naming 'sealstore init'", err)
	}
}

// TestTokenRefreshDynamoDB: on DynamoDB a token created or revoked by the
// token commands while servers run takes effect without a signal, at the
// next refresh.
func TestTokenRefreshDynamoDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	s := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true, tokenRefresh: 200 * time.Millisecond})
	var secret string
	err := server.WithTokens(context.Background(), dir, b, func(ctx context.Context, ts *tokens.Store) error {
		var err error
		_, secret, err = ts.Create(ctx, "late", []tokens.Scope{{Collection: "items", Action: tokens.Write}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new token works", func() bool { return s.post(secret, "x", "y").status == http.StatusOK })
	err = server.WithTokens(context.Background(), dir, b, func(ctx context.Context, ts *tokens.Store) error {
		return ts.Revoke(ctx, "late")
	})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the revoked token is refused", func() bool { return s.post(secret, "x", "y").status == http.StatusUnauthorized })
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}
