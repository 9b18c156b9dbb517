package main

// The source tables of the import tests, on dynalite and local-kms,
// written with the AWS SDK exactly as the reference system writes them.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/records"
)

// sourceTable is a DynamoDB table on dynalite, and local-kms.
type sourceTable struct {
	e     emutest.Env
	db    *dynamodb.Client
	kms   *kms.Client
	table string
}

// newSourceTable creates a table named name (after a prefix of its own)
// keyed by the string attribute key.
func newSourceTable(t *testing.T, e emutest.Env, name, key string) *sourceTable {
	t.Helper()
	cfg := aws.Config{Region: e.Region, Credentials: credentials.NewStaticCredentialsProvider(e.AccessKeyID, e.SecretAccessKey, "")}
	s := &sourceTable{e: e, table: emutest.Prefix(t) + name,
		db:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDBEndpoint) }),
		kms: kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(e.KMSEndpoint) })}
	_, err := s.db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: aws.String(s.table), BillingMode: types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		out, err := s.db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s is not active after a minute: %v", s.table, err)
		}
	}
}

// referenceArgs are the import flags that name s as a reference table.
func (s *sourceTable) referenceArgs() []string {
	return []string{"--source-table", s.table, "--source-region", s.e.Region, "--source-dynamodb-endpoint", s.e.DynamoDBEndpoint,
		"--source-kms-endpoint", s.e.KMSEndpoint, "--source-kms-key-id", s.e.KMSKeyARN}
}

// encrypt is the reference's encrypt_data and SecureItem: GenerateDataKey
// (AES_256) under keyARN, AES-GCM with a random 12-byte nonce and no
// associated data; it returns the item the reference puts.
func (s *sourceTable) encrypt(t *testing.T, keyARN, id, plaintext string) map[string]types.AttributeValue {
	t.Helper()
	dk, err := s.kms.GenerateDataKey(t.Context(), &kms.GenerateDataKeyInput{KeyId: aws.String(keyARN), KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil {
		t.Error(err)
		return nil
	}
	block, err := aes.NewCipher(dk.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	rand.Read(nonce)
	return map[string]types.AttributeValue{
		"item_id":         &types.AttributeValueMemberS{Value: id},
		"sensitive_field": &types.AttributeValueMemberB{Value: gcm.Seal(nil, nonce, []byte(plaintext), nil)},
		"encrypted_key":   &types.AttributeValueMemberB{Value: dk.CiphertextBlob},
		"nonce":           &types.AttributeValueMemberB{Value: nonce},
	}
}

// put writes an item (PutItem, as SecureItem.save does).
func (s *sourceTable) put(t *testing.T, it map[string]types.AttributeValue) {
	t.Helper()
	if _, err := s.db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		t.Error(err)
	}
}

// fill puts n items of the reference layout, each with its own secret,
// and returns the secrets by id.
func (s *sourceTable) fill(t *testing.T, n int) map[string]string {
	t.Helper()
	secrets := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("ref-%04d", i)
		secrets[id] = newSecret(id, 30+i%100)
	}
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				s.put(t, s.encrypt(t, s.e.KMSKeyARN, id, secrets[id]))
			}
		})
	}
	for id := range secrets {
		ids <- id
	}
	close(ids)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return secrets
}

// count is how many items s holds.
func (s *sourceTable) count(t *testing.T) int {
	t.Helper()
	out, err := s.db.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(s.table), Select: types.SelectCount})
	if err != nil {
		t.Fatal(err)
	}
	if out.LastEvaluatedKey != nil {
		t.Fatal("count: more than a page")
	}
	return int(out.Count)
}

// importJob reads the collection's import job.
func (k *keysTarget) importJob(t *testing.T, coll string) records.ImportJob {
	t.Helper()
	var job records.ImportJob
	if st := k.api(t, k.admin, http.MethodGet, collPath(coll)+"/imports", nil, &job); st != http.StatusOK {
		t.Fatalf("GET %s/imports: %d", collPath(coll), st)
	}
	return job
}

// runImport runs "sealstore import ARGS..." with k.env().
func (k *keysTarget) runImport(t *testing.T, args ...string) keysRun {
	t.Helper()
	return k.runCommand(t, k.env(), append([]string{"import"}, args...)...)
}

// importSummaryRE is the summary line of a followed import.
var importSummaryRE = regexp.MustCompile(`^import into (\S+): (\w+) — (\d+) source items?: (\d+) imported \((\d+) already there, identical\), (\d+) conflicts?, (\d+) failed; verify (clean|not clean): (\d+) match(?:es)?, (\d+) do(?:es)? not(; (\d+) source items? deleted, (\d+) kept)?; (\d+) KMS Decrypts?; resumed (\d+) times?$`)

// summaryOf parses the summary line among out's lines.
func summaryOf(t *testing.T, out string) map[string]string {
	t.Helper()
	names := []string{"", "coll", "state", "items", "imported", "recognised", "conflicts", "failed", "clean", "verified", "unverified", "", "deleted", "kept", "kms", "resumed"}
	for _, l := range lines(out) {
		if m := importSummaryRE.FindStringSubmatch(l); m != nil {
			got := map[string]string{}
			for i, n := range names {
				if n != "" {
					got[n] = m[i]
				}
			}
			return got
		}
	}
	t.Fatalf("no summary line in %q", out)
	return nil
}

// problemLines parses the problem lines of an import's stdout: key →
// phase and reason.
func problemLines(out string) map[string]string {
	got := map[string]string{}
	for _, l := range lines(out) {
		if f := strings.Split(l, "\t"); len(f) == 3 {
			got[f[2]] = f[0] + " " + f[1]
		}
	}
	return got
}

func refKey(id string) string {
	b, _ := json.Marshal(map[string]string{"item_id": id})
	return string(b)
}

// auditEntries returns every entry of the trail that q selects.
func (k *keysTarget) auditEntries(t *testing.T, q url.Values) []auditEntryJSON {
	t.Helper()
	var out []auditEntryJSON
	q.Set("limit", "1000")
	for {
		var page struct {
			Entries []auditEntryJSON `json:"entries"`
			Cursor  string           `json:"cursor"`
		}
		if st := k.api(t, k.admin, http.MethodGet, "/v1/audit?"+q.Encode(), nil, &page); st != http.StatusOK {
			t.Fatalf("GET /v1/audit: %d", st)
		}
		out = append(out, page.Entries...)
		if page.Cursor == "" {
			return out
		}
		q.Set("cursor", page.Cursor)
	}
}

type auditEntryJSON struct {
	Token, Action, Collection, Record, Outcome, Detail, ETag string
}

// metric returns the value of the metric line that starts with name.
func (k *keysTarget) metric(t *testing.T, name string) float64 {
	t.Helper()
	r := k.p.do(t.Context(), http.MethodGet, "/metrics", k.admin, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", r.status)
	}
	for _, l := range strings.Split(string(r.body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// canaryForms are the ways a canary can show: itself, in base64 and in
// hex.
func canaryForms(canary string) []string {
	out := []string{canary, fmt.Sprintf("%x", canary), fmt.Sprintf("%X", canary)}
	for j := range 3 {
		part := []byte(canary[j:])
		part = part[:len(part)/3*3]
		out = append(out, base64.RawStdEncoding.EncodeToString(part), base64.RawURLEncoding.EncodeToString(part))
	}
	return out
}

func containsAny(data []byte, forms []string) bool {
	for _, f := range forms {
		if bytes.Contains(data, []byte(f)) {
			return true
		}
	}
	return false
}
