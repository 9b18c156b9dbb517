package ddbav_test

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
)

// builder turns fuzz bytes into an SDK value tree, including what a
// careless caller can build: nil entries, typed nil members, unknown
// members, NULL false, numbers in any spelling.
type builder struct{ data []byte }

func (b *builder) byte() byte {
	if len(b.data) == 0 {
		return 0
	}
	c := b.data[0]
	b.data = b.data[1:]
	return c
}

// str takes a length byte and that many bytes.
func (b *builder) str() string {
	n := min(int(b.byte()%16), len(b.data))
	s := string(b.data[:n])
	b.data = b.data[n:]
	return s
}

var numbers = []string{"0", "-0", "+1.50e1", "007", "1E-130", "9.9E125", "1e126", "12x", "", ".5", "5.", "1e", "-1.0000"}

func (b *builder) number() string {
	if c := b.byte(); c < 128 {
		return numbers[int(c)%len(numbers)]
	}
	return b.str()
}

func (b *builder) value(depth int) types.AttributeValue {
	switch k := b.byte(); k % 16 {
	case 0:
		return &types.AttributeValueMemberS{Value: b.str()}
	case 1:
		return &types.AttributeValueMemberN{Value: b.number()}
	case 2:
		return &types.AttributeValueMemberB{Value: []byte(b.str())}
	case 3:
		return &types.AttributeValueMemberBOOL{Value: b.byte()%2 == 0}
	case 4:
		return &types.AttributeValueMemberNULL{Value: b.byte()%8 != 0}
	case 5:
		return &types.AttributeValueMemberSS{Value: []string{b.str(), b.str()}}
	case 6:
		return &types.AttributeValueMemberNS{Value: []string{b.number(), b.number()}}
	case 7:
		return &types.AttributeValueMemberBS{Value: [][]byte{[]byte(b.str())}}
	case 8, 9:
		l := &types.AttributeValueMemberL{}
		for n := b.byte() % 4; n > 0 && depth < 40 && len(b.data) > 0; n-- {
			l.Value = append(l.Value, b.value(depth+1))
		}
		return l
	case 10, 11:
		m := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		for n := b.byte() % 4; n > 0 && depth < 40 && len(b.data) > 0; n-- {
			m.Value[b.str()] = b.value(depth + 1)
		}
		return m
	case 12:
		return nil
	case 13:
		return (*types.AttributeValueMemberS)(nil)
	case 14:
		return &types.UnknownUnionMember{Tag: b.str()}
	}
	return (*types.AttributeValueMemberL)(nil)
}

// FuzzRoundTrip checks, for any SDK value: no panic; if From accepts it,
// the result converts back, its numbers are canonical, and a second round
// trip changes nothing (the first one reached the canonical form).
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c'})
	f.Add([]byte{1, 2})
	f.Add([]byte{6, 200, 3, '1', '.', '0', 2})
	f.Add([]byte{8, 3, 0, 1, 'x', 1, 5, 10, 1, 1, 'k', 4, 1})
	f.Add([]byte{10, 2, 1, 'a', 12, 1, 'b', 13})
	f.Add([]byte{4, 0})
	f.Add([]byte{14, 1, 'Z'})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &builder{data: data}
		av := b.value(0)
		v, err := ddbav.From(av)
		if err != nil {
			return
		}
		checkCanonical(t, v)
		av2, err := ddbav.To(v)
		if err != nil {
			t.Fatalf("To refuses what From returned: %v", err)
		}
		v2, err := ddbav.From(av2)
		if err != nil {
			t.Fatalf("From refuses what To returned: %v", err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("second round trip changed %#v to %#v", v, v2)
		}
		av3, err := ddbav.To(v2)
		if err != nil || !reflect.DeepEqual(av2, av3) {
			t.Fatalf("To is not a fixed point: %#v then %#v (%v)", av2, av3, err)
		}
		if _, err := attr.MarshalTyped(v); err == nil && !attr.Equal(v, v2) {
			t.Fatalf("attr.Equal says the round trip changed the value")
		}
	})
}

// checkCanonical fails t if a number in v is not in DynamoDB's normal form.
func checkCanonical(t *testing.T, v attr.Value) {
	t.Helper()
	switch v := v.(type) {
	case attr.N:
		if n, err := attr.NormalizeNumber(string(v)); err != nil || n != string(v) {
			t.Fatalf("From returned the number %q, normal form %q (%v)", v, n, err)
		}
	case attr.NS:
		for _, e := range v {
			checkCanonical(t, attr.N(e))
		}
	case attr.L:
		for _, e := range v {
			checkCanonical(t, e)
		}
	case attr.M:
		for _, e := range v {
			checkCanonical(t, e)
		}
	}
}

// attrValue turns fuzz bytes into an attr value tree, nil entries and
// numbers in any spelling included.
func (b *builder) attrValue(depth int) attr.Value {
	switch k := b.byte(); k % 12 {
	case 0:
		return attr.S(b.str())
	case 1:
		return attr.N(b.number())
	case 2:
		return attr.B(b.str())
	case 3:
		return attr.Bool(b.byte()%2 == 0)
	case 4:
		return attr.Null{}
	case 5:
		return attr.SS{b.str()}
	case 6:
		return attr.NS{b.number(), b.number()}
	case 7:
		return attr.BS{[]byte(b.str())}
	case 8:
		var l attr.L
		for n := b.byte() % 4; n > 0 && depth < 40 && len(b.data) > 0; n-- {
			l = append(l, b.attrValue(depth+1))
		}
		return l
	case 9:
		m := attr.M{}
		for n := b.byte() % 4; n > 0 && depth < 40 && len(b.data) > 0; n-- {
			m[b.str()] = b.attrValue(depth + 1)
		}
		return m
	}
	return nil
}

// FuzzTo checks the other direction: To never panics, and what it
// accepts comes back from From as the same value with numbers normalized.
func FuzzTo(f *testing.F) {
	f.Add([]byte{1, 2})
	f.Add([]byte{8, 3, 1, 5, 10, 6, 3, 4})
	f.Add([]byte{9, 2, 1, 'k', 1, 200, 2, '+', '1', 1, 'j', 11})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &builder{data: data}
		v := b.attrValue(0)
		av, err := ddbav.To(v)
		if err != nil {
			return
		}
		back, err := ddbav.From(av)
		if err != nil {
			t.Fatalf("From refuses what To returned: %v", err)
		}
		checkCanonical(t, back)
		again, err := ddbav.To(back)
		if err != nil || !reflect.DeepEqual(av, again) {
			t.Fatalf("To(From(To(v))) = %#v, want %#v (%v)", again, av, err)
		}
	})
}
