package ddbenc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
)

// configBreaks each break one rule of the customers table's config, and
// name it.
var configBreaks = []struct {
	name   string
	change func(tables map[string]ddbenc.TableConfig)
	want   string
}{
	{"bad table name", func(ts map[string]ddbenc.TableConfig) { ts["a b"] = ts["customers"] }, "not a DynamoDB table name"},
	{"no partition key", func(ts map[string]ddbenc.TableConfig) { c := ts["customers"]; c.PartitionKey = ""; ts["customers"] = c }, "partition key"},
	{"no keyring", func(ts map[string]ddbenc.TableConfig) { c := ts["customers"]; c.Keyring = nil; ts["customers"] = c }, "keyring"},
	{"encrypted key", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Actions = map[string]item.Action{"id": item.EncryptAndSign}
		c.Search = nil
		ts["customers"] = c
	}, "key attribute"},
	{"shared logical name", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.LogicalTableName = "customers"
		ts["customers_restored"] = c
	}, "share the logical table name"},
	{"search with plaintext policy", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Plaintext = ddbenc.ForbidPlaintextWriteAllowPlaintextRead
		ts["customers"] = c
	}, "cannot be configured together"},
	{"unknown policy", func(ts map[string]ddbenc.TableConfig) { c := ts["customers"]; c.Plaintext = 9; ts["customers"] = c }, "unknown plaintext policy"},
	{"no beacons", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key}
		ts["customers"] = c
	}, "at least one standard beacon"},
	{"beacon on a signed attribute", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key, Beacons: []ddbenc.StandardBeacon{{Name: "country", Length: 8}}}
		ts["customers"] = c
	}, "must be on an ENCRYPT_AND_SIGN attribute"},
	{"beacon on an unconfigured attribute", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key, Beacons: []ddbenc.StandardBeacon{{Name: "zip", Length: 8}}}
		ts["customers"] = c
	}, "must be on an ENCRYPT_AND_SIGN attribute"},
	{"duplicate beacon", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key, Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 8}, {Name: "email", Length: 9}}}
		ts["customers"] = c
	}, "two standard beacons"},
	{"beacon length 0", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key, Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 0}}}
		ts["customers"] = c
	}, "length"},
	{"beacon length 64", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: c.Search.Key, Beacons: []ddbenc.StandardBeacon{{Name: "email", Length: 64}}}
		ts["customers"] = c
	}, "length"},
	{"zero beacon key", func(ts map[string]ddbenc.TableConfig) {
		c := ts["customers"]
		c.Search = &ddbenc.Search{Key: beacon.Key{}, Beacons: c.Search.Beacons}
		ts["customers"] = c
	}, "zero Key"},
}

// TestConfigRules checks the DB-ESDK rules a config must meet.
func TestConfigRules(t *testing.T) {
	t.Parallel()
	kr := rawKeyring(t)
	for _, tc := range configBreaks {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tables := map[string]ddbenc.TableConfig{"customers": customersConfig(t, kr)}
			tc.change(tables)
			cfg := ddbenc.Config{Tables: tables}
			err := cfg.Validate()
			if !errors.Is(err, ddbenc.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrConfig saying %q", err, tc.want)
			}
			if _, err2 := ddbenc.New(newMemDB(), cfg); err2 == nil {
				t.Error("New accepted what Validate refused")
			}
		})
	}
	if _, err := ddbenc.New(nil, ddbenc.Config{}); err == nil {
		t.Error("New(nil): no error")
	}
}

// TestConfigCopied checks that changing a config after New changes
// nothing: the client keeps its own copy.
func TestConfigCopied(t *testing.T) {
	t.Parallel()
	cfg := customersConfig(t, rawKeyring(t))
	db := newMemDB()
	db.table("customers", "id")
	c, err := ddbenc.New(db, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{"customers": cfg}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Actions["email"] = item.SignOnly
	cfg.AllowedUnsignedPrefix = ""
	f := &fixture{db: db, client: c}
	if err := putAndCheckEncrypted(t, f); err != nil {
		t.Fatal(err)
	}
}

func putAndCheckEncrypted(t *testing.T, f *fixture) error {
	t.Helper()
	if _, err := f.client.PutItem(t.Context(), putInput(customer("c", "e@x"))); err != nil {
		return err
	}
	if holds(f.db.raw("customers", key("c")), "e@x") {
		t.Error("a change to the caller's Actions after New reached the client")
	}
	return nil
}
