package conformance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keyring/rawaes"
	"github.com/sealstore/sealstore/materials"
	"github.com/sealstore/sealstore/secret"
)

// DefaultBranchKey is the keys.json entry the DB-ESDK vectors use when a
// test config names no key.
const DefaultBranchKey = "static-branch-key-1"

// errSkip marks a test that cannot run offline (remote AWS KMS keys).
var errSkip = errors.New("skipped")

// Keys is a parsed MPL keys manifest.
type Keys struct {
	entries map[string]keyEntry
}

type keyEntry struct {
	Type             string `json:"type"`
	KeyID            string `json:"key-id"`
	BranchKeyVersion string `json:"branchKeyVersion"`
	BranchKey        string `json:"branchKey"`
	BeaconKey        string `json:"beaconKey"`
	Algorithm        string `json:"algorithm"`
	Bits             int    `json:"bits"`
	Encoding         string `json:"encoding"`
	Material         string `json:"material"`
	Encrypt          bool   `json:"encrypt"`
	Decrypt          bool   `json:"decrypt"`
}

// LoadKeys reads a keys manifest ({"manifest":{"type":"keys",...},"keys":{...}}).
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Manifest struct {
			Type string `json:"type"`
		} `json:"manifest"`
		Keys map[string]keyEntry `json:"keys"`
	}
	var probe struct {
		Manifest struct {
			Type string `json:"type"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if probe.Manifest.Type != "keys" {
		return nil, fmt.Errorf("%s: not a keys manifest (manifest type %q)", path, probe.Manifest.Type)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Keys) == 0 {
		return nil, fmt.Errorf("%s: not a keys manifest", path)
	}
	return &Keys{entries: doc.Keys}, nil
}

// branchKeyRing returns a hierarchical keyring on a static-branch-key entry.
func (k *Keys) branchKeyRing(name string) (materials.Keyring, error) {
	e, ok := k.entries[name]
	if !ok || e.Type != "static-branch-key" {
		return nil, fmt.Errorf("keys manifest has no static-branch-key %q", name)
	}
	key, err := base64.StdEncoding.DecodeString(e.BranchKey)
	if err != nil {
		return nil, fmt.Errorf("key %q: branchKey: %w", name, err)
	}
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: e.KeyID, Version: e.BranchKeyVersion, Key: secret.New(key)}}}
	return hierarchy.New(e.KeyID, src, hierarchy.NewCache(hierarchy.DefaultTTL, 16, nil))
}

// keyDescription is an MPL key description (key-description.md), the
// "key" member of a test config.
type keyDescription struct {
	Type                string `json:"type"`
	Key                 string `json:"key"`
	ProviderID          string `json:"provider-id"`
	EncryptionAlgorithm string `json:"encryption-algorithm"`
}

// keyring builds the keyring a test config asks for.
func (k *Keys) keyring(raw json.RawMessage) (materials.Keyring, error) {
	if len(raw) == 0 {
		return k.branchKeyRing(DefaultBranchKey)
	}
	var d keyDescription
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("key description: %w", err)
	}
	switch d.Type {
	case "static-branch-key", "aws-kms-hierarchy":
		return k.branchKeyRing(or(d.Key, DefaultBranchKey))
	case "raw":
		return k.rawKeyring(d)
	case "aws-kms", "aws-kms-mrk-aware", "aws-kms-mrk-aware-discovery", "aws-kms-rsa", "aws-kms-ecdh":
		return nil, fmt.Errorf("%w: key type %q needs a remote AWS KMS", errSkip, d.Type)
	}
	return nil, fmt.Errorf("unsupported key description type %q", d.Type)
}

func (k *Keys) rawKeyring(d keyDescription) (materials.Keyring, error) {
	e, ok := k.entries[d.Key]
	if !ok {
		return nil, fmt.Errorf("keys manifest has no key %q", d.Key)
	}
	if d.EncryptionAlgorithm != "aes" || e.Algorithm != "aes" || e.Encoding != "base64" {
		return nil, fmt.Errorf("raw key %q: only base64 AES keys are supported", d.Key)
	}
	material, err := base64.StdEncoding.DecodeString(e.Material)
	if err != nil {
		return nil, fmt.Errorf("raw key %q: %w", d.Key, err)
	}
	return rawaes.New(d.ProviderID, e.KeyID, material)
}
