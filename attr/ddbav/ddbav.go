// Package ddbav converts between attr values and the DynamoDB attribute
// values of the AWS SDK for Go v2 (service/dynamodb/types), in both
// directions and for every DynamoDB type. It keeps the AWS SDK out of
// package attr: only adapters import it.
//
// Numbers are normalized as DynamoDB normalizes them ("+1.50e1" becomes
// "15"), both ways, so a value read back from DynamoDB and the value
// written compare equal with attr.Equal, and To(From(v)) is a fixed point:
// converting its result again changes nothing. A number DynamoDB would
// refuse (more than 38 digits, out of range, not a number) is an error.
// NULL must be true, as DynamoDB requires.
//
// The conversions never panic: a nil value, a typed nil member, an unknown
// union member, an unsupported attr type and nesting deeper than
// attr.MaxDepth (which also stops a list that contains itself) are errors.
// Other checks DynamoDB makes (UTF-8, duplicate or empty sets, sizes) are
// left to DynamoDB and to attr.Marshal. Strings, byte slices and string and
// binary sets are shared with the input, not copied. Errors name the
// top-level attribute but never quote a value or a map key.
package ddbav

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
)

var (
	errNil     = errors.New("value is nil")
	errTooDeep = fmt.Errorf("value is nested deeper than %d levels", attr.MaxDepth)
	errNull    = errors.New("NULL is false (DynamoDB takes only NULL true)")
)

// From converts an SDK attribute value to an attr value.
func From(av types.AttributeValue) (attr.Value, error) {
	v, err := from(av, 1)
	if err != nil {
		return nil, fmt.Errorf("ddbav: %w", err)
	}
	return v, nil
}

// To converts an attr value to an SDK attribute value.
func To(v attr.Value) (types.AttributeValue, error) {
	av, err := to(v, 1)
	if err != nil {
		return nil, fmt.Errorf("ddbav: %w", err)
	}
	return av, nil
}

// FromItem converts an SDK item (attribute name to value) to an attr.Item.
// A nil map gives a nil Item.
func FromItem(m map[string]types.AttributeValue) (attr.Item, error) {
	if m == nil {
		return nil, nil
	}
	it := make(attr.Item, len(m))
	for name, av := range m {
		v, err := from(av, 1)
		if err != nil {
			return nil, fmt.Errorf("ddbav: attribute %q: %w", name, err)
		}
		it[name] = v
	}
	return it, nil
}

// ToItem converts an attr.Item to an SDK item. A nil Item gives a nil map.
func ToItem(it attr.Item) (map[string]types.AttributeValue, error) {
	if it == nil {
		return nil, nil
	}
	m := make(map[string]types.AttributeValue, len(it))
	for name, v := range it {
		av, err := to(v, 1)
		if err != nil {
			return nil, fmt.Errorf("ddbav: attribute %q: %w", name, err)
		}
		m[name] = av
	}
	return m, nil
}

func from(av types.AttributeValue, depth int) (attr.Value, error) {
	if depth > attr.MaxDepth {
		return nil, errTooDeep
	}
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		if v != nil {
			return attr.S(v.Value), nil
		}
	case *types.AttributeValueMemberN:
		if v != nil {
			return fromNumber(v.Value)
		}
	case *types.AttributeValueMemberB:
		if v != nil {
			return attr.B(v.Value), nil
		}
	case *types.AttributeValueMemberBOOL:
		if v != nil {
			return attr.Bool(v.Value), nil
		}
	case *types.AttributeValueMemberNULL:
		return fromNull(v)
	case *types.AttributeValueMemberSS:
		if v != nil {
			return attr.SS(v.Value), nil
		}
	case *types.AttributeValueMemberNS:
		if v != nil {
			return fromNumberSet(v.Value)
		}
	case *types.AttributeValueMemberBS:
		if v != nil {
			return attr.BS(v.Value), nil
		}
	case *types.AttributeValueMemberL:
		if v != nil {
			return fromList(v.Value, depth)
		}
	case *types.AttributeValueMemberM:
		if v != nil {
			return fromMap(v.Value, depth)
		}
	case nil:
	default:
		return nil, fmt.Errorf("unsupported attribute value %T", av)
	}
	return nil, errNil
}

func fromNumber(s string) (attr.Value, error) {
	n, err := attr.NormalizeNumber(s)
	if err != nil {
		return nil, trim(err)
	}
	return attr.N(n), nil
}

func fromNumberSet(ns []string) (attr.Value, error) {
	out, err := normalizeAll(ns)
	if err != nil {
		return nil, err
	}
	return attr.NS(out), nil
}

func fromNull(v *types.AttributeValueMemberNULL) (attr.Value, error) {
	switch {
	case v == nil:
		return nil, errNil
	case !v.Value:
		return nil, errNull
	}
	return attr.Null{}, nil
}

func fromList(l []types.AttributeValue, depth int) (attr.Value, error) {
	out := make(attr.L, len(l))
	for i, e := range l {
		v, err := from(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("list entry %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func fromMap(m map[string]types.AttributeValue, depth int) (attr.Value, error) {
	out := make(attr.M, len(m))
	for k, e := range m {
		v, err := from(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("map member: %w", err)
		}
		out[k] = v
	}
	return out, nil
}

func to(v attr.Value, depth int) (types.AttributeValue, error) {
	if depth > attr.MaxDepth {
		return nil, errTooDeep
	}
	switch v := v.(type) {
	case attr.S:
		return &types.AttributeValueMemberS{Value: string(v)}, nil
	case attr.N:
		n, err := attr.NormalizeNumber(string(v))
		if err != nil {
			return nil, trim(err)
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case attr.B:
		return &types.AttributeValueMemberB{Value: v}, nil
	case attr.Bool:
		return &types.AttributeValueMemberBOOL{Value: bool(v)}, nil
	case attr.Null:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case attr.SS:
		return &types.AttributeValueMemberSS{Value: v}, nil
	case attr.NS:
		ns, err := normalizeAll(v)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberNS{Value: ns}, nil
	case attr.BS:
		return &types.AttributeValueMemberBS{Value: v}, nil
	case attr.L:
		return toList(v, depth)
	case attr.M:
		return toMap(v, depth)
	case nil:
		return nil, errNil
	}
	return nil, fmt.Errorf("unsupported attr value %T", v)
}

func toList(l attr.L, depth int) (types.AttributeValue, error) {
	out := make([]types.AttributeValue, len(l))
	for i, e := range l {
		av, err := to(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("list entry %d: %w", i, err)
		}
		out[i] = av
	}
	return &types.AttributeValueMemberL{Value: out}, nil
}

func toMap(m attr.M, depth int) (types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, e := range m {
		av, err := to(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("map member: %w", err)
		}
		out[k] = av
	}
	return &types.AttributeValueMemberM{Value: out}, nil
}

// normalizeAll returns the normalized form of every number of a set, in a
// new slice unless every entry is already normalized.
func normalizeAll(ns []string) ([]string, error) {
	var out []string
	for i, n := range ns {
		norm, err := attr.NormalizeNumber(n)
		if err != nil {
			return nil, fmt.Errorf("number set entry %d: %w", i, trim(err))
		}
		if norm != n && out == nil {
			out = append(make([]string, 0, len(ns)), ns[:i]...)
		}
		if out != nil {
			out = append(out, norm)
		}
	}
	if out == nil {
		return ns, nil
	}
	return out, nil
}

// trim drops the "attr: " prefix of an attr error, which is wrapped in a
// "ddbav: " one.
func trim(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.TrimPrefix(err.Error(), "attr: "))
}
