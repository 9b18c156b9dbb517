package ddbav_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
)

// pairs holds, for every DynamoDB type, an attr value and its SDK form,
// both already canonical (numbers normalized).
var pairs = []struct {
	name string
	v    attr.Value
	av   types.AttributeValue
}{
	{"S", attr.S("héllo"), &types.AttributeValueMemberS{Value: "héllo"}},
	{"empty S", attr.S(""), &types.AttributeValueMemberS{Value: ""}},
	{"N", attr.N("-12.5"), &types.AttributeValueMemberN{Value: "-12.5"}},
	{"B", attr.B{0, 1, 0xff}, &types.AttributeValueMemberB{Value: []byte{0, 1, 0xff}}},
	{"BOOL true", attr.Bool(true), &types.AttributeValueMemberBOOL{Value: true}},
	{"BOOL false", attr.Bool(false), &types.AttributeValueMemberBOOL{Value: false}},
	{"NULL", attr.Null{}, &types.AttributeValueMemberNULL{Value: true}},
	{"SS", attr.SS{"b", "a"}, &types.AttributeValueMemberSS{Value: []string{"b", "a"}}},
	{"NS", attr.NS{"1", "0.5"}, &types.AttributeValueMemberNS{Value: []string{"1", "0.5"}}},
	{"BS", attr.BS{{1}, {2, 3}}, &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}}},
	{"L", attr.L{attr.S("x"), attr.N("2"), attr.L{}},
		&types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "2"},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{}}}}},
	{"M", attr.M{"k": attr.Bool(true), "m": attr.M{}},
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"k": &types.AttributeValueMemberBOOL{Value: true},
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}}},
}

func TestEveryTypeBothWays(t *testing.T) {
	t.Parallel()
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			av, err := ddbav.To(tc.v)
			if err != nil {
				t.Fatalf("To: %v", err)
			}
			if !reflect.DeepEqual(av, tc.av) {
				t.Errorf("To = %#v, want %#v", av, tc.av)
			}
			v, err := ddbav.From(tc.av)
			if err != nil {
				t.Fatalf("From: %v", err)
			}
			if !reflect.DeepEqual(v, tc.v) {
				t.Errorf("From = %#v, want %#v", v, tc.v)
			}
		})
	}
}

// TestNumbersNormalized checks that both directions write numbers as
// DynamoDB stores them.
func TestNumbersNormalized(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"+1.50e1", "15"},
		{"007", "7"},
		{"-0.0", "0"},
		{"1E-130", "0." + strings.Repeat("0", 129) + "1"},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
	} {
		av, err := ddbav.To(attr.N(tc.in))
		if err != nil {
			t.Fatalf("To(%s): %v", tc.in, err)
		}
		if got := av.(*types.AttributeValueMemberN).Value; got != tc.want {
			t.Errorf("To(%s) = %s, want %s", tc.in, got, tc.want)
		}
		v, err := ddbav.From(&types.AttributeValueMemberN{Value: tc.in})
		if err != nil {
			t.Fatalf("From(%s): %v", tc.in, err)
		}
		if v != attr.N(tc.want) {
			t.Errorf("From(%s) = %s, want %s", tc.in, v, tc.want)
		}
	}
	av, err := ddbav.To(attr.NS{"1", "+2.0", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := av.(*types.AttributeValueMemberNS).Value; !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
		t.Errorf("NS = %q", got)
	}
}

// secret is a number DynamoDB refuses (43 digits) that no error may quote.
const secret = "4111111111111111111111111111111111111111111"

// TestFromRefuses checks that malformed SDK values are an error, never a
// panic, and that no error quotes the value.
func TestFromRefuses(t *testing.T) {
	t.Parallel()
	deepAV := types.AttributeValue(&types.AttributeValueMemberS{Value: "leaf"})
	for range attr.MaxDepth {
		deepAV = &types.AttributeValueMemberL{Value: []types.AttributeValue{deepAV}}
	}
	for _, tc := range []struct {
		name string
		av   types.AttributeValue
	}{
		{"nil", nil},
		{"typed nil S", (*types.AttributeValueMemberS)(nil)},
		{"typed nil N", (*types.AttributeValueMemberN)(nil)},
		{"typed nil B", (*types.AttributeValueMemberB)(nil)},
		{"typed nil BOOL", (*types.AttributeValueMemberBOOL)(nil)},
		{"typed nil NULL", (*types.AttributeValueMemberNULL)(nil)},
		{"typed nil SS", (*types.AttributeValueMemberSS)(nil)},
		{"typed nil NS", (*types.AttributeValueMemberNS)(nil)},
		{"typed nil BS", (*types.AttributeValueMemberBS)(nil)},
		{"typed nil L", (*types.AttributeValueMemberL)(nil)},
		{"typed nil M", (*types.AttributeValueMemberM)(nil)},
		{"NULL false", &types.AttributeValueMemberNULL{Value: false}},
		{"unknown member", &types.UnknownUnionMember{Tag: "X", Value: []byte(secret)}},
		{"bad number", &types.AttributeValueMemberN{Value: secret}},
		{"not a number", &types.AttributeValueMemberN{Value: "12x" + secret}},
		{"bad number in set", &types.AttributeValueMemberNS{Value: []string{"1", secret}}},
		{"nil in list", &types.AttributeValueMemberL{Value: []types.AttributeValue{nil}}},
		{"nil in map", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{secret: nil}}},
		{"too deep", deepAV},
	} {
		v, err := ddbav.From(tc.av)
		if err == nil {
			t.Errorf("From(%s) = %v, want an error", tc.name, v)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "12x") {
			t.Errorf("From(%s): error %q quotes the value", tc.name, err)
		}
	}
}

// TestToRefuses checks the same of malformed attr values, a list that
// contains itself included.
func TestToRefuses(t *testing.T) {
	t.Parallel()
	deep := attr.Value(attr.S("leaf"))
	for range attr.MaxDepth {
		deep = attr.L{deep}
	}
	selfList := attr.L{nil}
	selfList[0] = selfList
	for _, tc := range []struct {
		name string
		v    attr.Value
	}{
		{"nil", nil},
		{"bad number", attr.N(secret)},
		{"bad number in set", attr.NS{secret}},
		{"nil in list", attr.L{attr.S("a"), nil}},
		{"nil in map", attr.M{secret: nil}},
		{"too deep", deep},
		{"list containing itself", selfList},
	} {
		av, err := ddbav.To(tc.v)
		if err == nil {
			t.Errorf("To(%s) = %v, want an error", tc.name, av)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("To(%s): error %q quotes the value", tc.name, err)
		}
	}
}

// TestDepthLimit checks the limit is attr's: a value at depth MaxDepth
// converts, one level more does not.
func TestDepthLimit(t *testing.T) {
	t.Parallel()
	v := attr.Value(attr.S("leaf"))
	for range attr.MaxDepth - 1 {
		v = attr.L{v}
	}
	if _, err := attr.Marshal(v); err != nil {
		t.Fatalf("attr refuses the deepest value: %v", err)
	}
	av, err := ddbav.To(v)
	if err != nil {
		t.Fatalf("To at depth %d: %v", attr.MaxDepth, err)
	}
	if _, err := ddbav.From(av); err != nil {
		t.Fatalf("From at depth %d: %v", attr.MaxDepth, err)
	}
	if _, err := ddbav.To(attr.L{v}); err == nil {
		t.Errorf("To at depth %d: no error", attr.MaxDepth+1)
	}
}

func TestItems(t *testing.T) {
	t.Parallel()
	it := attr.Item{"id": attr.S("a"), "n": attr.N("1.0"), "tags": attr.SS{"x"}}
	m, err := ddbav.ToItem(it)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ddbav.FromItem(m)
	if err != nil {
		t.Fatal(err)
	}
	want := attr.Item{"id": attr.S("a"), "n": attr.N("1"), "tags": attr.SS{"x"}}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip = %v, want %v", back, want)
	}
	if m, err := ddbav.ToItem(nil); m != nil || err != nil {
		t.Errorf("ToItem(nil) = %v, %v", m, err)
	}
	if it, err := ddbav.FromItem(nil); it != nil || err != nil {
		t.Errorf("FromItem(nil) = %v, %v", it, err)
	}
	_, err = ddbav.FromItem(map[string]types.AttributeValue{"card": &types.AttributeValueMemberN{Value: "x1"}})
	if err == nil || !strings.Contains(err.Error(), `"card"`) {
		t.Errorf("FromItem error %v does not name the attribute", err)
	}
	_, err = ddbav.ToItem(attr.Item{"card": attr.N("x1")})
	if err == nil || !strings.Contains(err.Error(), `"card"`) {
		t.Errorf("ToItem error %v does not name the attribute", err)
	}
}

// TestInputUnchanged checks that a conversion never rewrites its input:
// a number set holding a non-normalized entry is copied, not edited.
func TestInputUnchanged(t *testing.T) {
	t.Parallel()
	ns := attr.NS{"1.0", "2"}
	if _, err := ddbav.To(ns); err != nil {
		t.Fatal(err)
	}
	if ns[0] != "1.0" {
		t.Errorf("To changed its input to %q", ns)
	}
	in := &types.AttributeValueMemberNS{Value: []string{"3", "4.00"}}
	if _, err := ddbav.From(in); err != nil {
		t.Fatal(err)
	}
	if in.Value[1] != "4.00" {
		t.Errorf("From changed its input to %q", in.Value)
	}
}
