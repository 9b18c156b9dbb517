package conformance

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// ClientName identifies sealstore in the manifests it writes.
const ClientName = "sealstore/sealstore"

// WriteOptions configures Write.
type WriteOptions struct {
	Keys *Keys
	// Config is a vector table config object; empty means the partition
	// key SIGN_ONLY and every other attribute ENCRYPT_AND_SIGN.
	Config []byte
	// Suite, if non-zero, overrides the config's algorithm suite; if both
	// are unset sealstore's default (0x6700) is used.
	Suite materials.SuiteID
	// ClientVersion is written in the manifest's client member.
	ClientVersion string
}

// Write encrypts the records of a records file ({"Records":[item...]}, items
// in the vectors' shorthand JSON) with the hierarchical keyring on
// static-branch-key-1 and returns a decrypt manifest of positive tests.
func Write(ctx context.Context, records []byte, opts WriteOptions) ([]byte, error) {
	items, err := parseRecords(records)
	if err != nil {
		return nil, err
	}
	tc, err := writeConfig(opts, items)
	if err != nil {
		return nil, err
	}
	enc, err := (Case{config: tc}).encryptor(opts.Keys)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	tests, err := encryptAll(ctx, enc, tc, items)
	if err != nil {
		return nil, err
	}
	return marshalManifest(tests, opts.ClientVersion)
}

func parseRecords(data []byte) ([]attr.Item, error) {
	var doc struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("records file: %w", err)
	}
	if len(doc.Records) == 0 {
		return nil, fmt.Errorf("records file: no \"Records\"")
	}
	items := make([]attr.Item, 0, len(doc.Records))
	for i, r := range doc.Records {
		it, err := attr.ParseItemJSON(r, true)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		items = append(items, it)
	}
	return items, nil
}

func writeConfig(opts WriteOptions, items []attr.Item) (tableConfig, error) {
	var tc tableConfig
	if len(opts.Config) > 0 {
		if err := decodeStrict(opts.Config, &tc); err != nil {
			return tc, fmt.Errorf("config: %w", err)
		}
	} else {
		tc.AttributeActionsOnEncrypt = defaultActions(items)
	}
	if tc.Key != nil || tc.Search != nil {
		return tc, fmt.Errorf("config: \"key\" and \"search\" are not supported by write")
	}
	suite := opts.Suite
	if suite == 0 && tc.AlgorithmSuiteID == "" {
		suite = materials.SuiteSymSig
	}
	if suite != 0 {
		s, err := materials.SuiteByID(suite)
		if err != nil {
			return tc, err
		}
		tc.AlgorithmSuiteID = s.Name()
	}
	return tc, nil
}

func defaultActions(items []attr.Item) map[string]string {
	actions := map[string]string{DefaultPartitionKey: item.SignOnly.String()}
	for _, it := range items {
		for name := range it {
			if name != DefaultPartitionKey {
				actions[name] = item.EncryptAndSign.String()
			}
		}
	}
	return actions
}

func encryptAll(ctx context.Context, enc *item.Encryptor, tc tableConfig, items []attr.Item) (map[string]json.RawMessage, error) {
	config, err := json.Marshal(tc)
	if err != nil {
		return nil, err
	}
	tests := make(map[string]json.RawMessage, len(items))
	for i, it := range items {
		ct, err := enc.Encrypt(ctx, it)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		doc := decryptTestDoc{Type: "positive-decrypt", Config: config,
			Description: fmt.Sprintf("sealstore record %d, %s", i, tc.AlgorithmSuiteID)}
		if doc.Encrypted, err = attr.MarshalItemJSON(ct); err != nil {
			return nil, err
		}
		if doc.Plaintext, err = attr.MarshalItemJSON(it); err != nil {
			return nil, err
		}
		if tests[fmt.Sprintf("sealstore-%d", i+1)], err = json.Marshal(doc); err != nil {
			return nil, err
		}
	}
	return tests, nil
}

func marshalManifest(tests map[string]json.RawMessage, version string) ([]byte, error) {
	var m decryptManifest
	m.Manifest.Type, m.Manifest.Version = DecryptManifestType, DecryptManifestVersion
	m.Client.Name, m.Client.Version = ClientName, or(version, "dev")
	m.Keys = "file://keys.json"
	m.Tests = tests
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}
