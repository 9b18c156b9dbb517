package server_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/internal/readerconfig"
	"github.com/sealstore/sealstore/internal/server"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/store/dynamo"
)

// readerCollections are the collections the reader-config test reads:
// one with a sign-and-bind attribute (the keys then must be
// SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT), a plain one and a searchable
// one; one with a sort key under suite 0x6701, its keys SIGN_ONLY.
var readerCollections = []struct {
	name, schema, sortKey string
	searchable            bool
	docs                  map[string]map[string]string // by id (and "/sort"): string attributes
}{
	{name: "people", searchable: true,
		schema: `{"partitionKey":"id","attributes":{"country":"sign","tier":"sign-and-bind","note":"plain"},"searchable":{"email":16}}`,
		docs: map[string]map[string]string{
			"p1": {"email": "ann@example.com", "country": "NZ", "tier": "gold", "note": "free text", "nick": "an"},
			"p2": {"email": "bob@example.com", "country": "FR", "tier": "blue", "note": "more"},
		}},
	{name: "orders", sortKey: "n",
		schema: `{"partitionKey":"customer","sortKey":"n","attributes":{"total":"sign"},"suite":"0x6701"}`,
		docs: map[string]map[string]string{
			"c1/001": {"total": "12.50", "card": "4111-1"},
			"c1/002": {"total": "3.00", "card": "4111-2"},
		}},
}

// TestReaderConfigReadsTheCollection renders each collection's reader
// configuration in every language, configures ddbenc from each rendering
// alone (parsed back from the code), and reads the records the service
// wrote straight from DynamoDB with it, searches them, and writes a
// record the service then reads and finds.
func TestReaderConfigReadsTheCollection(t *testing.T) {
	dir := t.TempDir()
	b := dynamoOnly(t, dir)
	s := startServer(t, opts{dataDir: dir, backend: &b, noHTTP: true, seed: true})
	admin := s.tokens[tokAdmin]
	for _, c := range readerCollections {
		s.mustCollection(c.name, c.schema)
		for key, doc := range c.docs {
			id, sort, _ := strings.Cut(key, "/")
			path := recPath(c.name, id)
			if sort != "" {
				path = recPath(c.name, id, sort)
			}
			s.mustPut(admin, path, string(mustJSON(t, doc)))
		}
		var rc readerconfig.Config
		mustDecode(t, "reader-config", s.do(http.MethodGet, collPath(c.name, "/reader-config"), admin, nil, nil), &rc)
		checkKeyActions(t, rc)
		for _, lang := range readerconfig.Languages {
			t.Run(c.name+"/"+lang, func(t *testing.T) {
				code, err := readerconfig.Render(lang, rc)
				if err != nil {
					t.Fatal(err)
				}
				p := parseRendered(t, lang, code)
				p.same(t, rc)
				if p.table != b.TablePrefix+"col_"+c.name || p.logical != "col_"+c.name {
					t.Fatalf("rendered tables %q (logical %q); want %q, %q", p.table, p.logical, b.TablePrefix+"col_"+c.name, "col_"+c.name)
				}
				client := p.client(t, b)
				readBack(t, client, p, c.docs)
				if c.searchable {
					searchBack(t, client, p, "ann@example.com", "p1")
				}
				writeThrough(t, s, client, p, c.name, lang, c.docs)
			})
		}
	}
}

// checkKeyActions checks the key attributes' actions: sign-and-bind
// keys when any attribute is, else SIGN_ONLY.
func checkKeyActions(t *testing.T, rc readerconfig.Config) {
	t.Helper()
	want := readerconfig.SignOnly
	for _, a := range rc.Actions {
		if a == readerconfig.SignAndBind {
			want = readerconfig.SignAndBind
		}
	}
	for _, k := range []string{rc.PartitionKey, rc.SortKey} {
		if k != "" && rc.Actions[k] != want {
			t.Errorf("%s: key %q is %s; want %s", rc.Collection, k, rc.Actions[k], want)
		}
	}
}

// readBack reads every record the service wrote with the client.
func readBack(t *testing.T, client *ddbenc.Client, p rendered, docs map[string]map[string]string) {
	t.Helper()
	for key, doc := range docs {
		out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(p.table), Key: p.key(key), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("GetItem %s: %v", key, err)
		}
		for name, want := range doc {
			if got := plainValue(out.Item[name]); got != want {
				t.Errorf("record %s: %s = %q; want %q", key, name, got, want)
			}
		}
	}
}

// searchBack queries the beacon index for email and wants id alone.
func searchBack(t *testing.T, client *ddbenc.Client, p rendered, email, id string) {
	t.Helper()
	out, err := client.Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(p.table), IndexName: aws.String(p.index["email"]),
		KeyConditionExpression:    aws.String("email = :e"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: email}},
	})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if len(out.Items) != 1 || plainValue(out.Items[0][p.pk]) != id {
		t.Fatalf("Query email = %s: %d items; want %s alone", email, len(out.Items), id)
	}
}

// writeThrough writes a record with the client and reads (and, if the
// collection is searchable, finds) it through the service.
func writeThrough(t *testing.T, s *srv, client *ddbenc.Client, p rendered, coll, lang string, docs map[string]map[string]string) {
	t.Helper()
	doc := map[string]string{}
	for _, d := range docs {
		for name := range d {
			doc[name] = name + " by " + lang
		}
	}
	if _, ok := doc["email"]; ok {
		doc["email"] = lang + "@example.com"
	}
	it := map[string]types.AttributeValue{p.pk: &types.AttributeValueMemberS{Value: "w-" + lang}}
	path := recPath(coll, "w-"+lang)
	if p.sk != "" {
		it[p.sk] = &types.AttributeValueMemberS{Value: "9"}
		path = recPath(coll, "w-"+lang, "9")
	}
	for name, v := range doc {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
	if _, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(p.table), Item: it}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	got, _ := s.mustGetDoc(s.tokens[tokAdmin], path)
	for name, want := range doc {
		if got[name] != want {
			t.Errorf("the service read the client's record's %s as %v; want %q", name, got[name], want)
		}
	}
	if p.index["email"] == "" {
		return
	}
	listed, _ := s.listAll(s.tokens[tokAdmin], coll, url.Values{"email": {doc["email"]}}, 10)
	if len(listed) != 1 {
		t.Errorf("the service's search for the client's record found %d records; want 1", len(listed))
	}
}

func plainValue(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	}
	return fmt.Sprintf("%T", v)
}

// rendered is what a rendering configures, parsed back from its code.
type rendered struct {
	table, logical, pk, sk, suite   string
	actions                         map[string]string
	unsigned                        []string
	ksName, ksTable, kmsARN, branch string
	beacons                         map[string]int
	index                           map[string]string
}

// same checks that p configures what rc says, exactly.
func (p rendered) same(t *testing.T, rc readerconfig.Config) {
	t.Helper()
	got := readerconfig.Config{Collection: rc.Collection, TableName: p.table, LogicalTableName: p.logical, PartitionKey: p.pk,
		SortKey: p.sk, Actions: p.actions, AllowedUnsigned: p.unsigned, Suite: p.suite, BranchKeyID: p.branch,
		Beacons: []readerconfig.Beacon{}, KeyStore: readerconfig.KeyStore{Name: p.ksName, Table: p.ksTable, KMSKeyARN: p.kmsARN}}
	if got.AllowedUnsigned == nil {
		got.AllowedUnsigned = []string{}
	}
	for _, name := range slices.Sorted(maps.Keys(p.beacons)) {
		got.Beacons = append(got.Beacons, readerconfig.Beacon{Name: name, Length: p.beacons[name], Index: p.index[name]})
	}
	if !reflect.DeepEqual(got, rc) {
		t.Fatalf("the rendering configures\n%+v\nwhere the server says\n%+v", got, rc)
	}
}

// key is the key of a record named "id" or "id/sort".
func (p rendered) key(s string) map[string]types.AttributeValue {
	id, sort, _ := strings.Cut(s, "/")
	k := map[string]types.AttributeValue{p.pk: &types.AttributeValueMemberS{Value: id}}
	if p.sk != "" {
		k[p.sk] = &types.AttributeValueMemberS{Value: sort}
	}
	return k
}

// client is ddbenc configured from p alone, on b's DynamoDB and KMS.
func (p rendered) client(t *testing.T, b server.Backend) *ddbenc.Client {
	t.Helper()
	ctx := context.Background()
	ddb := rawDynamo(t, b)
	root, err := kmsroot.New(rawKMS(t, b), p.kmsARN)
	if err != nil {
		t.Fatal(err)
	}
	keys := keystore.New(p.ksName, p.ksTable, dynamo.New(ddb, ""), root)
	kr, err := hierarchy.New(p.branch, keys, hierarchy.NewCache(hierarchy.DefaultTTL, 10, nil))
	if err != nil {
		t.Fatal(err)
	}
	tc := ddbenc.TableConfig{LogicalTableName: p.logical, PartitionKey: p.pk, SortKey: p.sk, Actions: map[string]item.Action{},
		AllowedUnsigned: p.unsigned, Keyring: kr, Suite: map[string]materials.SuiteID{
			readerconfig.SuiteSymSig: materials.SuiteSymSig, readerconfig.SuiteECDSA: materials.SuiteECDSA}[p.suite]}
	for name, a := range p.actions {
		if tc.Actions[name], err = item.ParseAction(a); err != nil {
			t.Fatal(err)
		}
	}
	// Attributes the schema does not list are ENCRYPT_AND_SIGN, as the
	// rendering's comment says: a writer lists those it writes.
	for _, name := range []string{"nick", "card"} {
		if _, ok := tc.Actions[name]; !ok {
			tc.Actions[name] = item.EncryptAndSign
		}
	}
	if len(p.beacons) > 0 {
		raw, err := keys.BeaconKey(ctx, p.branch)
		if err != nil {
			t.Fatal(err)
		}
		bk, err := beacon.NewKey(raw.InsecureBytes())
		if err != nil {
			t.Fatal(err)
		}
		tc.Search = &ddbenc.Search{Key: bk}
		for name, n := range p.beacons {
			tc.Search.Beacons = append(tc.Search.Beacons, ddbenc.StandardBeacon{Name: name, Length: n})
		}
	}
	client, err := ddbenc.New(ddb, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{p.table: tc}})
	if err != nil {
		t.Fatalf("ddbenc.New from the rendering: %v", err)
	}
	return client
}

// q matches one quoted string literal of any of the four languages.
const q = `("(?:[^"\\]|\\.)*")`

// renderedSyntax is, per language, a pattern for each value a rendering
// holds; the first group is a quoted string unless the field says.
var renderedSyntax = map[string]map[string]string{
	"go": {
		"table": `ddbenc\.TableConfig\{\n\t` + q + `: \{`, "logical": `LogicalTableName: +` + q, "pk": `PartitionKey: +` + q,
		"sk": `SortKey: +` + q, "action": `\n\t\t\t` + q + `: item\.(\w+),`, "unsigned": `AllowedUnsigned: \[\]string\{([^\n]*)\}`,
		"suite": `Suite: +materials\.(\w+),`, "ksName": `keystore\.New\(` + q, "ksTable": `keystore\.New\("[^"]*", ` + q,
		"kmsARN": `kmsroot\.New\(kmsClient, ` + q, "branch": `hierarchy\.New\(` + q,
		"beacon": `\{Name: ` + q + `, Length: (\d+)\}, // queried through index ` + q,
	},
	"java": {
		"table": `tableConfigs\.put\(` + q, "logical": `\.logicalTableName\(` + q, "pk": `\.partitionKeyName\(` + q,
		"sk": `\.sortKeyName\(` + q, "action": `actions\.put\(` + q + `, CryptoAction\.(\w+)\);`,
		"unsigned": `\.allowedUnsignedAttributes\(Arrays\.asList\(([^\n]*)\)\)`, "suite": `DBEAlgorithmSuiteId\.(\w+)\)`,
		"ksName": `\.logicalKeyStoreName\(` + q, "ksTable": `\.ddbTableName\(` + q, "kmsARN": `\.kmsKeyArn\(` + q,
		"branch": `\.branchKeyId\(` + q, "beaconKey": `\.keyId\(` + q,
		"beacon": `StandardBeacon\.builder\(\)\.name\(` + q + `\)\.length\((\d+)\)\.build\(\)\); // index ` + q,
	},
	"dotnet": {
		"table": `\[` + q + `\] = new DynamoDbTableEncryptionConfig`, "logical": `LogicalTableName = ` + q, "pk": `PartitionKeyName = ` + q,
		"sk": `SortKeyName = ` + q, "action": `\[` + q + `\] = CryptoAction\.(\w+),`,
		"unsigned": `AllowedUnsignedAttributes = new List<string> \{ ([^\n]*) \},`, "suite": `AlgorithmSuiteId = DBEAlgorithmSuiteId\.(\w+),`,
		"ksName": `LogicalKeyStoreName = ` + q, "ksTable": `DdbTableName = ` + q, "kmsARN": `KmsKeyArn = ` + q,
		"branch": `BranchKeyId = ` + q, "beaconKey": `new SingleKeyStore \{ KeyId = ` + q,
		"beacon": `new StandardBeacon \{ Name = ` + q + `, Length = (\d+) \}, // index ` + q,
	},
	"rust": {
		"table": `HashMap::from\(\[\(` + q + `\.to_string\(\), table_config\)\]\)`, "logical": `\.logical_table_name\(` + q,
		"pk": `\.partition_key_name\(` + q, "sk": `\.sort_key_name\(` + q, "action": `\(` + q + `\.to_string\(\), CryptoAction::(\w+)\)`,
		"unsigned": `\.allowed_unsigned_attributes\(vec!\[([^\n]*)\]\)`, "suite": `DbeAlgorithmSuiteId::(\w+)\)`,
		"ksName": `\.logical_key_store_name\(` + q, "ksTable": `\.ddb_table_name\(` + q, "kmsARN": `KmsConfiguration::KmsKeyArn\(` + q,
		"branch": `\.branch_key_id\(` + q, "beaconKey": `\.key_id\(` + q,
		"beacon": `StandardBeacon::builder\(\)\.name\(` + q + `\.to_string\(\)\)\.length\((\d+)\)\.build\(\)\?, // index ` + q,
	},
}

// suiteNames are the languages' names of the two suites.
var suiteNames = map[string]string{
	"SuiteSymSig": readerconfig.SuiteSymSig, "SuiteECDSA": readerconfig.SuiteECDSA,
	readerconfig.SuiteSymSig: readerconfig.SuiteSymSig, readerconfig.SuiteECDSA: readerconfig.SuiteECDSA,
	"AlgAes256GcmHkdfSha512CommitKeySymsigHmacSha384":          readerconfig.SuiteSymSig,
	"AlgAes256GcmHkdfSha512CommitKeyEcdsaP384SymsigHmacSha384": readerconfig.SuiteECDSA,
}

// parseRendered parses a rendering back into the values it configures.
func parseRendered(t *testing.T, lang, code string) rendered {
	t.Helper()
	syn := renderedSyntax[lang]
	all := func(field string) [][]string {
		return regexp.MustCompile(syn[field]).FindAllStringSubmatch(code, -1)
	}
	one := func(field string, required bool) string {
		m := all(field)
		if len(m) != 1 {
			if !required && len(m) == 0 {
				return ""
			}
			t.Fatalf("%s rendering: %d matches of %s; want 1:\n%s", lang, len(m), field, code)
		}
		return unquote(t, m[0][1])
	}
	p := rendered{table: one("table", true), logical: one("logical", true), pk: one("pk", true), sk: one("sk", false),
		ksName: one("ksName", true), ksTable: one("ksTable", true), kmsARN: one("kmsARN", true), branch: one("branch", true),
		actions: map[string]string{}, beacons: map[string]int{}, index: map[string]string{}}
	p.suite = suiteNames[regexp.MustCompile(syn["suite"]).FindStringSubmatch(code)[1]]
	for _, m := range all("action") {
		p.actions[unquote(t, m[1])] = upperSnake(m[2])
	}
	if m := all("unsigned"); len(m) == 1 {
		for _, s := range regexp.MustCompile(q).FindAllString(m[0][1], -1) {
			p.unsigned = append(p.unsigned, unquote(t, s))
		}
	}
	for _, m := range all("beacon") {
		n, _ := strconv.Atoi(m[2])
		p.beacons[unquote(t, m[1])] = n
		p.index[unquote(t, m[1])] = unquote(t, m[3])
	}
	if len(p.beacons) > 0 && syn["beaconKey"] != "" {
		if k := one("beaconKey", true); k != p.branch {
			t.Fatalf("%s rendering: beacon key %q is not the branch key %q", lang, k, p.branch)
		}
	}
	return p
}

func unquote(t *testing.T, s string) string {
	t.Helper()
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("%s is not a string literal: %v", s, err)
	}
	return u
}

// upperSnake turns SignOnly (or SIGN_ONLY) into SIGN_ONLY.
func upperSnake(s string) string {
	if strings.ToUpper(s) == s {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
