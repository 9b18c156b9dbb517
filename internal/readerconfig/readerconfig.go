// Package readerconfig is a collection's reader configuration: what an
// official DB-ESDK client (Java, .NET, Rust) or package ddbenc needs to
// read the collection's records from its DynamoDB table, as data (Config,
// which GET /v1/collections/{name}/reader-config answers) and as code in
// each client's language (Render, which 'sealstore collections
// reader-config' prints).
package readerconfig

import (
	"fmt"
	"slices"
	"strings"
)

// Config is the reader configuration of one collection.
type Config struct {
	Collection       string            `json:"collection"`
	LogicalTableName string            `json:"logicalTableName" doc:"Bound into every item: the table name an official reader configures as logicalTableName."`
	TableName        string            `json:"tableName" doc:"The physical DynamoDB table (on the embedded default, the logical name)."`
	PartitionKey     string            `json:"partitionKey"`
	SortKey          string            `json:"sortKey,omitempty"`
	Actions          map[string]string `json:"attributeActionsOnEncrypt" doc:"DB-ESDK action per attribute, the key attributes included."`
	AllowedUnsigned  []string          `json:"allowedUnsignedAttributes" doc:"The DO_NOTHING attributes."`
	Suite            string            `json:"algorithmSuiteId" doc:"The suite new records are written with (readers accept both)."`
	BranchKeyID      string            `json:"branchKeyId" doc:"The collection's branch key id in the key store."`
	Beacons          []Beacon          `json:"standardBeacons"`
	KeyStore         KeyStore          `json:"keyStore"`
}

// Beacon is one standard beacon of a collection, over the encrypted
// attribute of the same name.
type Beacon struct {
	Name   string `json:"name"`
	Length int    `json:"length" doc:"Bits, 1 to 63."`
	Index  string `json:"index" doc:"The global secondary index on the beacon attribute aws_dbe_b_<name>, for queries."`
}

// KeyStore is where a deployment keeps its branch keys.
type KeyStore struct {
	Name      string `json:"name" doc:"The key store's logical name (bound into every wrapped key)."`
	Table     string `json:"table" doc:"The key store's DynamoDB table (on the embedded default, a bucket of the data directory's database)."`
	KMSKeyARN string `json:"kmsKeyArn,omitempty" doc:"The KMS key that wraps branch keys; absent on the embedded default, whose root key is a local file no official SDK can use."`
}

// The DB-ESDK's algorithm suite names.
const (
	SuiteSymSig = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384"
	SuiteECDSA  = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"
)

// The DB-ESDK's crypto actions.
const (
	EncryptAndSign = "ENCRYPT_AND_SIGN"
	SignOnly       = "SIGN_ONLY"
	SignAndBind    = "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT"
	DoNothing      = "DO_NOTHING"
)

// CacheTTLSeconds is how long the rendered keyrings and beacon key
// sources keep a key: five minutes, as the service's key cache does by
// default (hierarchy.DefaultTTL).
const CacheTTLSeconds = 300

// Languages are the languages Render writes, in the order help lists them.
var Languages = []string{"go", "java", "dotnet", "rust"}

// Render writes c as code in lang that configures that language's
// DB-ESDK client (ddbenc for "go") to read the collection.
func Render(lang string, c Config) (string, error) {
	var r renderer
	switch lang {
	case "go":
		r = goCode
	case "java":
		r = javaCode
	case "dotnet":
		r = dotnetCode
	case "rust":
		r = rustCode
	default:
		return "", fmt.Errorf("readerconfig: unknown language %q (want one of %s)", lang, strings.Join(Languages, ", "))
	}
	if err := c.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, line := range c.preamble() {
		fmt.Fprintf(&b, "%s %s\n", r.comment, line)
	}
	r.write(&b, c)
	return b.String(), nil
}

type renderer struct {
	comment string
	write   func(*strings.Builder, Config)
}

// check refuses a config no client can be configured from.
func (c Config) check() error {
	if c.TableName == "" || c.LogicalTableName == "" || c.PartitionKey == "" || c.BranchKeyID == "" {
		return fmt.Errorf("readerconfig: collection %q: the configuration lacks its table, key or branch key", c.Collection)
	}
	for name, a := range c.Actions {
		if !slices.Contains([]string{EncryptAndSign, SignOnly, SignAndBind, DoNothing}, a) {
			return fmt.Errorf("readerconfig: attribute %q: unknown action %q", name, a)
		}
	}
	if c.Suite != SuiteSymSig && c.Suite != SuiteECDSA {
		return fmt.Errorf("readerconfig: unknown algorithm suite %q", c.Suite)
	}
	return nil
}

// preamble is the comment every rendering starts with.
func (c Config) preamble() []string {
	lines := []string{
		fmt.Sprintf("Reader configuration of sealstore collection %q (sealstore collections reader-config).", c.Collection),
		"Attributes a record holds beyond these are ENCRYPT_AND_SIGN: a reader needs no action for them, a writer does.",
	}
	if c.KeyStore.KMSKeyARN == "" {
		lines = append(lines, "This deployment is the embedded default: its records and branch keys are in its data directory's",
			"database and its root key is a local file, which no official SDK reads. A DynamoDB + KMS deployment",
			"of the same collection is read with this configuration and its key store's KMS key.")
	}
	return lines
}

// attributes returns the names in c.Actions, sorted, keys first.
func (c Config) attributes() []string {
	names := make([]string, 0, len(c.Actions))
	for name := range c.Actions {
		if name != c.PartitionKey && name != c.SortKey {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	keys := []string{c.PartitionKey}
	if c.SortKey != "" {
		keys = append(keys, c.SortKey)
	}
	return append(keys, names...)
}

// kmsKeyARN is the ARN the rendering names, a placeholder when there is
// none.
func (c Config) kmsKeyARN() string {
	if c.KeyStore.KMSKeyARN == "" {
		return "KMS_KEY_ARN"
	}
	return c.KeyStore.KMSKeyARN
}
