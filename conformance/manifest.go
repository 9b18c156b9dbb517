// Package conformance runs the AWS Database Encryption SDK's cross-language
// test vectors against sealstore's item engine, in both directions: it
// decrypts other implementations' decrypt manifests, and writes manifests of
// items sealstore encrypted for other implementations to check.
package conformance

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/sealstore/sealstore/attr"
)

// Manifest type and version of a DB-ESDK decrypt manifest.
const (
	DecryptManifestType    = "aws-dbesdk-decrypt"
	DecryptManifestVersion = "1"
)

// decryptManifest is the JSON shape of a decrypt manifest.
type decryptManifest struct {
	Manifest struct {
		Type    string `json:"type"`
		Version string `json:"version"`
	} `json:"manifest"`
	Client struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"client"`
	Keys  string                     `json:"keys"`
	Tests map[string]json.RawMessage `json:"tests"`
}

type decryptTestDoc struct {
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Config      json.RawMessage `json:"config"`
	Encrypted   json.RawMessage `json:"encrypted"`
	Plaintext   json.RawMessage `json:"plaintext,omitempty"`
}

// ioTestFile is the shape of iotest.json; only DecryptTests are offline.
type ioTestFile struct {
	DecryptTests []struct {
		Config           json.RawMessage   `json:"Config"`
		EncryptedRecords []json.RawMessage `json:"EncryptedRecords"`
		PlainTextRecords []json.RawMessage `json:"PlainTextRecords"`
	} `json:"DecryptTests"`
	WriteTests json.RawMessage `json:"WriteTests"`
	IoTests    json.RawMessage `json:"IoTests"`
}

// Case is one decryption test: decrypt Encrypted under Config; a positive
// case must give back Plaintext, a negative one must fail.
type Case struct {
	Name        string
	Description string
	Positive    bool
	config      tableConfig
	Encrypted   attr.Item
	Plaintext   attr.Item
}

// ParseManifest parses a decrypt manifest or the DecryptTests of an
// iotest.json file into cases, in name order.
func ParseManifest(data []byte) ([]Case, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("manifest is not a JSON object: %w", err)
	}
	if _, ok := probe["DecryptTests"]; ok {
		return parseIOTests(data)
	}
	return parseDecryptManifest(data)
}

func parseDecryptManifest(data []byte) ([]Case, error) {
	var m decryptManifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("decrypt manifest: %w", err)
	}
	if m.Manifest.Type != DecryptManifestType || m.Manifest.Version != DecryptManifestVersion {
		return nil, fmt.Errorf("manifest type %q version %q: want %q version %q",
			m.Manifest.Type, m.Manifest.Version, DecryptManifestType, DecryptManifestVersion)
	}
	var cases []Case
	for name, raw := range m.Tests {
		var t decryptTestDoc
		if err := decodeStrict(raw, &t); err != nil {
			return nil, fmt.Errorf("test %q: %w", name, err)
		}
		c, err := parseDecryptTest(name, t)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

func parseDecryptTest(name string, t decryptTestDoc) (Case, error) {
	c := Case{Name: name, Description: t.Description}
	switch t.Type {
	case "positive-decrypt":
		c.Positive = true
	case "negative-decrypt":
	default:
		return c, fmt.Errorf("test %q: unknown type %q", name, t.Type)
	}
	if err := parseCaseBody(&c, t.Config, t.Encrypted, t.Plaintext); err != nil {
		return c, fmt.Errorf("test %q: %w", name, err)
	}
	return c, nil
}

func parseCaseBody(c *Case, config, encrypted, plaintext json.RawMessage) error {
	if err := decodeStrict(config, &c.config); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := c.config.itemConfig(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var err error
	if c.Encrypted, err = attr.ParseItemJSON(encrypted, false); err != nil {
		return fmt.Errorf("encrypted: %w", err)
	}
	if c.Positive {
		if len(plaintext) == 0 {
			return fmt.Errorf("positive test has no plaintext")
		}
		if c.Plaintext, err = attr.ParseItemJSON(plaintext, true); err != nil {
			return fmt.Errorf("plaintext: %w", err)
		}
	}
	return nil
}

func parseIOTests(data []byte) ([]Case, error) {
	var f ioTestFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, fmt.Errorf("iotest file: %w", err)
	}
	var cases []Case
	for i, t := range f.DecryptTests {
		if len(t.EncryptedRecords) != len(t.PlainTextRecords) {
			return nil, fmt.Errorf("DecryptTests[%d]: %d encrypted and %d plaintext records", i,
				len(t.EncryptedRecords), len(t.PlainTextRecords))
		}
		for j := range t.EncryptedRecords {
			c := Case{Name: fmt.Sprintf("DecryptTests[%d][%d]", i, j), Positive: true}
			if err := parseCaseBody(&c, t.Config, t.EncryptedRecords[j], t.PlainTextRecords[j]); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			cases = append(cases, c)
		}
	}
	return cases, nil
}
