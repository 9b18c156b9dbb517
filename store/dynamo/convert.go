package dynamo

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
)

// toAV converts an attr value to the SDK's form. Numbers are sent in their
// normalized form ("+10" and "1e1" as "10"), which DynamoDB accepts
// whatever spelling the caller used.
func toAV(v attr.Value) (types.AttributeValue, error) {
	switch v := v.(type) {
	case attr.S:
		return &types.AttributeValueMemberS{Value: string(v)}, nil
	case attr.N:
		n, err := attr.NormalizeNumber(string(v))
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberN{Value: n}, nil
	case attr.B:
		return &types.AttributeValueMemberB{Value: []byte(v)}, nil
	case attr.Bool:
		return &types.AttributeValueMemberBOOL{Value: bool(v)}, nil
	case attr.Null:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case attr.SS:
		return &types.AttributeValueMemberSS{Value: []string(v)}, nil
	case attr.NS:
		ns := make([]string, len(v))
		for i, n := range v {
			var err error
			if ns[i], err = attr.NormalizeNumber(n); err != nil {
				return nil, err
			}
		}
		return &types.AttributeValueMemberNS{Value: ns}, nil
	case attr.BS:
		return &types.AttributeValueMemberBS{Value: [][]byte(v)}, nil
	case attr.L:
		l := make([]types.AttributeValue, len(v))
		for i, e := range v {
			av, err := toAV(e)
			if err != nil {
				return nil, err
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case attr.M:
		m, err := toAVMap(attr.Item(v))
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("dynamo: unsupported attribute value type %T", v)
}

func toAVMap(it attr.Item) (map[string]types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, len(it))
	for name, v := range it {
		av, err := toAV(v)
		if err != nil {
			return nil, err
		}
		m[name] = av
	}
	return m, nil
}

// fromAV converts the SDK's form of a value to attr.
func fromAV(av types.AttributeValue) (attr.Value, error) {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return attr.S(v.Value), nil
	case *types.AttributeValueMemberN:
		return attr.N(v.Value), nil
	case *types.AttributeValueMemberB:
		return attr.B(v.Value), nil
	case *types.AttributeValueMemberBOOL:
		return attr.Bool(v.Value), nil
	case *types.AttributeValueMemberNULL:
		return attr.Null{}, nil
	case *types.AttributeValueMemberSS:
		return attr.SS(v.Value), nil
	case *types.AttributeValueMemberNS:
		return attr.NS(v.Value), nil
	case *types.AttributeValueMemberBS:
		return attr.BS(v.Value), nil
	case *types.AttributeValueMemberL:
		l := make(attr.L, len(v.Value))
		for i, e := range v.Value {
			x, err := fromAV(e)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	case *types.AttributeValueMemberM:
		it, err := fromAVMap(v.Value)
		return attr.M(it), err
	}
	return nil, fmt.Errorf("dynamo: unsupported attribute value %T", av)
}

func fromAVMap(m map[string]types.AttributeValue) (attr.Item, error) {
	it := make(attr.Item, len(m))
	for name, av := range m {
		v, err := fromAV(av)
		if err != nil {
			return nil, err
		}
		it[name] = v
	}
	return it, nil
}
