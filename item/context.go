package item

import (
	"encoding/base64"
	"encoding/binary"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/materials"
)

// Encryption context keys the DB-ESDK reserves.
const (
	ecTableName     = "aws-crypto-table-name"
	ecPartitionName = "aws-crypto-partition-name"
	ecSortName      = "aws-crypto-sort-name"
	ecAttrPrefix    = "aws-crypto-attr."
	ecLegend        = "aws-crypto-legend"
	ecPublicKey     = "aws-crypto-public-key"
)

// baseContext is the encryption context an item binds without storing it:
// the decryptor rebuilds it from the configuration and the item. Version 1
// binds the key attributes' typed values; version 2 binds every
// SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT attribute and a legend of their
// types. ctxAttrs must be sorted by name.
func (e *Encryptor) baseContext(version byte, it attr.Item, ctxAttrs []string) (materials.Context, error) {
	c := &e.cfg
	_, hasSort := it[c.SortKey]
	hasSort = hasSort && c.SortKey != ""
	ec := make(materials.Context, 4+len(ctxAttrs))
	ec[ecTableName], ec[ecPartitionName] = c.TableName, c.PartitionKey
	if hasSort {
		ec[ecSortName] = c.SortKey
	}
	if version == 1 {
		if err := e.addAttr(ec, it, c.PartitionKey, contextValueV1); err != nil {
			return nil, err
		}
		if hasSort {
			return ec, e.addAttr(ec, it, c.SortKey, contextValueV1)
		}
		return ec, nil
	}
	legend := make([]byte, 0, len(ctxAttrs))
	for _, name := range ctxAttrs {
		if err := e.addAttr(ec, it, name, contextValueV2); err != nil {
			return nil, err
		}
		legend = append(legend, legendType(it[name]))
	}
	ec[ecLegend] = string(legend)
	return ec, nil
}

func (e *Encryptor) addAttr(ec materials.Context, it attr.Item, name string, enc func(attr.Value) (string, error)) error {
	v, ok := it[name]
	if !ok {
		return invalid("attribute %q is missing", name)
	}
	s, err := enc(v)
	if err != nil {
		return invalid("attribute %q: %w", name, err)
	}
	key := e.attrs[name].ecKey
	if key == "" { // an attribute a stored legend names but the configuration does not
		key = ecAttrPrefix + name
	}
	ec[key] = s
	return nil
}

// contextValueV1 is base64 of the typed serialization, attr.MarshalTyped,
// built on the stack for a short value.
func contextValueV1(v attr.Value) (string, error) {
	var f field
	if err := f.setValue(v); err != nil {
		return "", err
	}
	var buf [64]byte
	typed := binary.BigEndian.AppendUint16(buf[:0], v.TypeID())
	typed = append(append(typed, f.data...), f.text...)
	return base64.StdEncoding.EncodeToString(typed), nil
}

func contextValueV2(v attr.Value) (string, error) {
	switch v := v.(type) {
	case attr.S:
		return string(v), nil
	case attr.N:
		return attr.NormalizeNumber(string(v))
	case attr.Null:
		return "null", nil
	case attr.Bool:
		if v {
			return "true", nil
		}
		return "false", nil
	}
	return contextValueV1(v)
}

func legendType(v attr.Value) byte {
	switch v.(type) {
	case attr.S:
		return 'S'
	case attr.N:
		return 'N'
	case attr.Null, attr.Bool:
		return 'L'
	}
	return 'B'
}
