package ddbenc

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/beacon"
	"github.com/sealstore/sealstore/ddbenc/internal/expr"
	"github.com/sealstore/sealstore/item"
)

// VersionTag is the attribute every item of a table with beacons carries
// (beacon version 1), as the official SDKs write it.
const VersionTag = "aws_dbe_v_1"

// table is one configured table: its engine, beacons and policy.
type table struct {
	name      string // physical
	logical   string
	cfg       TableConfig
	enc       *item.Encryptor
	encrypted map[string]bool            // ENCRYPT_AND_SIGN attributes
	beacons   map[string]beacon.Standard // by attribute name
}

func newTable(name string, tc TableConfig) (*table, error) {
	if !validTableName.MatchString(name) {
		return nil, configErr(name, "not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)")
	}
	if tc.Plaintext < 0 || int(tc.Plaintext) >= len(policyNames) {
		return nil, configErr(name, "unknown plaintext policy %d", int(tc.Plaintext))
	}
	icfg := tc.itemConfig(name)
	enc, err := item.New(icfg)
	if err != nil {
		return nil, fmt.Errorf("%w: table %q: %w", ErrConfig, name, err)
	}
	beacons, err := tc.checkSearch(name)
	if err != nil {
		return nil, err
	}
	icfg = enc.Config() // a copy no caller can change
	tc.Actions, tc.AllowedUnsigned = icfg.Actions, icfg.AllowedUnsigned
	t := &table{name: name, logical: icfg.TableName, cfg: tc, enc: enc, encrypted: map[string]bool{}, beacons: beacons}
	for attrName, a := range tc.Actions {
		if a == item.EncryptAndSign {
			t.encrypted[attrName] = true
		}
	}
	return t, nil
}

// unsigned reports whether an attribute is outside the signature scope
// (allowed unsigned), and so the only kind UpdateItem may touch.
func (t *table) unsigned(name string) bool {
	if strings.HasPrefix(name, item.ReservedPrefix) {
		return false
	}
	if p := t.cfg.AllowedUnsignedPrefix; p != "" && strings.HasPrefix(name, p) {
		return true
	}
	for _, n := range t.cfg.AllowedUnsigned {
		if n == name {
			return true
		}
	}
	return false
}

// writeItem returns the stored form of an item to write: encrypted and
// signed, with its beacons, or (under a force-plaintext policy) as given.
func (t *table) writeItem(ctx context.Context, av map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	it, err := ddbav.FromItem(av)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", item.ErrInvalidItem, err)
	}
	for name := range it {
		if strings.HasPrefix(name, item.ReservedPrefix) {
			return nil, fmt.Errorf("%w: attribute %q: names starting %q are reserved by the item format", item.ErrInvalidItem, name, item.ReservedPrefix)
		}
	}
	if t.cfg.Plaintext.writesPlaintext() {
		return av, nil
	}
	stored, err := t.enc.Encrypt(ctx, it)
	if err != nil {
		return nil, err
	}
	if err := t.addBeacons(it, stored); err != nil {
		return nil, err
	}
	return mergeAV(av, stored)
}

// addBeacons adds to stored the beacon of every searchable attribute of
// the plaintext item, and the version tag.
func (t *table) addBeacons(plain, stored attr.Item) error {
	if t.beacons == nil {
		return nil
	}
	for name, b := range t.beacons {
		v, ok := plain[name]
		if !ok {
			continue
		}
		h, err := hashValue(b, v)
		if err != nil {
			return fmt.Errorf("%w: attribute %q: %w", item.ErrInvalidItem, name, err)
		}
		stored[b.AttributeName()] = attr.S(h)
	}
	stored[VersionTag] = attr.S(" ")
	return nil
}

// hashValue is the standard beacon of one value: the HMAC of its DB-ESDK
// serialization (beacons.md, "value for a non-set standard beacon").
func hashValue(b beacon.Standard, v attr.Value) (string, error) {
	data, err := attr.Marshal(v)
	if err != nil {
		return "", err
	}
	return b.Hash(data)
}

// mergeAV converts stored to the SDK's form. An attribute the engine did
// not encrypt is stored as the caller gave it, so the caller's SDK value is
// reused; encrypted attributes are binary, and every binary value is
// converted.
func mergeAV(orig map[string]types.AttributeValue, stored attr.Item) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(stored))
	for name, v := range stored {
		if av, ok := orig[name]; ok {
			if _, isB := v.(attr.B); !isB {
				out[name] = av
				continue
			}
		}
		av, err := ddbav.To(v)
		if err != nil {
			return nil, err
		}
		out[name] = av
	}
	return out, nil
}

// isPlaintext reports a plaintext item: one with neither aws_dbe_head nor
// aws_dbe_foot (decrypt-item.md, "Determining Plaintext Items").
func isPlaintext(av map[string]types.AttributeValue) bool {
	_, head := av[item.HeaderAttr]
	_, foot := av[item.FooterAttr]
	return !head && !foot
}

// readItem verifies and decrypts a stored item; under a plaintext-read
// policy a plaintext item passes as it is. Every aws_dbe_ attribute is
// removed (RemoveBeacons). A nil item stays nil.
func (t *table) readItem(ctx context.Context, av map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if av == nil {
		return nil, nil
	}
	if t.cfg.Plaintext.readsPlaintext() && isPlaintext(av) {
		return withoutReserved(av), nil
	}
	stored, err := ddbav.FromItem(av)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", item.ErrDecrypt, err)
	}
	plain, err := t.enc.Decrypt(ctx, stored)
	if err != nil {
		return nil, err
	}
	out := make(map[string]types.AttributeValue, len(plain))
	for name, v := range plain {
		if _, wasB := av[name].(*types.AttributeValueMemberB); !wasB {
			out[name] = av[name] // not encrypted: stored as it reads
			continue
		}
		if out[name], err = ddbav.To(v); err != nil {
			return nil, fmt.Errorf("%w: %w", item.ErrDecrypt, err)
		}
	}
	return out, nil
}

func withoutReserved(av map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(av))
	for name, v := range av {
		if !strings.HasPrefix(name, item.ReservedPrefix) {
			out[name] = v
		}
	}
	return out
}

// checkCondition refuses a condition expression with an operand that is an
// encrypted attribute (ddb-support.md, TestConditionExpression).
func (t *table) checkCondition(op string, cond *string, names map[string]string) error {
	if cond == nil {
		return nil
	}
	c, err := expr.ParseCondition(*cond)
	if err != nil {
		return t.refuse(op, "cannot read the condition expression (%v)", err)
	}
	for _, o := range expr.Operands(c) {
		if o.Path == nil {
			continue
		}
		name, err := t.top(op, o.Path, names)
		if err != nil {
			return err
		}
		if t.encrypted[name] {
			return t.refuse(op, "the condition names encrypted attribute %q: conditions may only name signed or unsigned attributes", name)
		}
	}
	return nil
}

// checkUpdate refuses an update expression naming any attribute inside
// the signature (ddb-support.md, TestUpdateExpression).
func (t *table) checkUpdate(op string, update *string, names map[string]string) error {
	if update == nil {
		return nil
	}
	paths, err := expr.ParseUpdate(*update)
	if err != nil {
		return t.refuse(op, "cannot read the update expression (%v)", err)
	}
	for _, p := range paths {
		name, err := t.top(op, p, names)
		if err != nil {
			return err
		}
		if !t.unsigned(name) {
			what := "signed"
			if t.encrypted[name] {
				what = "encrypted"
			}
			return t.refuse(op, "the update expression names %s attribute %q: updates may only touch allowed unsigned attributes, or the item would no longer verify", what, name)
		}
	}
	return nil
}

// top resolves the top-level attribute of a path.
func (t *table) top(op string, p expr.Path, names map[string]string) (string, error) {
	name, ok := p.Top(names)
	if !ok {
		return "", t.refuse(op, "expression attribute name %s is not defined", p[0].Name)
	}
	return name, nil
}

// keyOf is a string naming the primary key of an item, for matching the
// requests DynamoDB returns unprocessed.
func (t *table) keyOf(av map[string]types.AttributeValue) (string, error) {
	var b []byte
	for _, name := range []string{t.cfg.PartitionKey, t.cfg.SortKey} {
		if name == "" {
			continue
		}
		v, err := ddbav.From(av[name])
		if err != nil {
			return "", fmt.Errorf("key attribute %q: %w", name, err)
		}
		enc, err := attr.MarshalTyped(v)
		if err != nil {
			return "", fmt.Errorf("key attribute %q: %w", name, err)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(enc))) // length-prefixed: keys cannot run together
		b = append(b, enc...)
	}
	return string(b), nil
}
