package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/materials"
)

// Defaults of the DB-ESDK test vector runner (JsonConfig.dfy).
const (
	DefaultTable        = "GazelleVectorTable"
	DefaultPartitionKey = "RecNum"
)

// tableConfig is a test vector table config object. Unknown members are
// rejected, as the upstream runner does.
type tableConfig struct {
	LogicalTableName               string            `json:"logicalTableName,omitempty"`
	PartitionKeyName               string            `json:"partitionKeyName,omitempty"`
	SortKeyName                    string            `json:"sortKeyName,omitempty"`
	AttributeActionsOnEncrypt      map[string]string `json:"attributeActionsOnEncrypt,omitempty"`
	AllowedUnsignedAttributes      []string          `json:"allowedUnsignedAttributes,omitempty"`
	AllowedUnsignedAttributePrefix string            `json:"allowedUnsignedAttributePrefix,omitempty"`
	AlgorithmSuiteID               string            `json:"algorithmSuiteId,omitempty"`
	PlaintextOverride              string            `json:"plaintextOverride,omitempty"`
	Key                            json.RawMessage   `json:"key,omitempty"`
	Search                         json.RawMessage   `json:"search,omitempty"`
}

func decodeStrict(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// itemConfig turns a vector config into an item.Config without a keyring.
func (tc tableConfig) itemConfig() (item.Config, error) {
	cfg := item.Config{
		TableName: or(tc.LogicalTableName, DefaultTable), PartitionKey: or(tc.PartitionKeyName, DefaultPartitionKey),
		SortKey: tc.SortKeyName, Actions: map[string]item.Action{},
		AllowedUnsigned: tc.AllowedUnsignedAttributes, AllowedUnsignedPrefix: tc.AllowedUnsignedAttributePrefix,
	}
	for name, s := range tc.AttributeActionsOnEncrypt {
		a, err := item.ParseAction(s)
		if err != nil {
			return cfg, err
		}
		cfg.Actions[name] = a
	}
	if tc.AlgorithmSuiteID != "" {
		s, err := materials.SuiteByName(tc.AlgorithmSuiteID)
		if err != nil {
			return cfg, err
		}
		cfg.Suite = s.ID
	}
	if tc.PlaintextOverride != "" {
		return cfg, fmt.Errorf("plaintextOverride %q is not supported (sealstore never reads or writes plaintext items)", tc.PlaintextOverride)
	}
	return cfg, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
