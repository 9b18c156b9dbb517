package ddbenc

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/ddbenc/internal/expr"
)

// partitionValue is the value placeholder the official SDKs read a beacon
// partition from; beacon partitions are not supported here.
const partitionValue = ":aws_dbe_partition"

// search translates the expressions of one Query or Scan on an encrypted
// table: every equality on a searchable attribute becomes an equality on
// its beacon, and the terms so changed are kept to filter the decrypted
// items, since a beacon match is not a plaintext match.
//
// The rule (ddb-support.md, QueryInputForBeacons, made strict): an
// expression is read as top-level AND terms; a term that names an
// encrypted attribute must be made only of "searchable = :value" and
// "searchable IN (:values)" joined by AND and OR. Such a term selects a
// superset of the plaintext matches on the server (a beacon equal for
// every equal value), so evaluating it again on the plaintext gives the
// exact answer, and the other terms are exact on the server already.
type search struct {
	t      *table
	op     string
	names  map[string]string
	values map[string]types.AttributeValue

	renamed  map[string]string     // name placeholder → beacon attribute
	beaconOf map[string]string     // value placeholder → searchable attribute
	plain    map[string]attr.Value // value placeholder → the caller's value
	others   map[string]bool       // value placeholders used in other terms
	checks   []expr.Cond           // terms to evaluate on the plaintext
	leafAttr map[expr.Cond]string  // leaf → searchable attribute
}

func (t *table) newSearch(op string, names map[string]string, values map[string]types.AttributeValue) *search {
	return &search{t: t, op: op, names: names, values: values, renamed: map[string]string{},
		beaconOf: map[string]string{}, plain: map[string]attr.Value{}, others: map[string]bool{},
		leafAttr: map[expr.Cond]string{}}
}

// edit replaces s[pos:end] by text.
type edit struct {
	pos, end int
	text     string
}

// expression translates one expression (nil stays nil).
func (s *search) expression(what string, e *string) (*string, error) {
	if e == nil {
		return nil, nil
	}
	c, err := expr.ParseCondition(*e)
	if err != nil {
		return nil, s.t.refuse(s.op, "cannot read the %s expression (%v)", what, err)
	}
	var edits []edit
	for _, term := range expr.Conjuncts(c) {
		enc, err := s.encryptedIn(term)
		if err != nil {
			return nil, err
		}
		if enc == "" {
			s.noteValues(term)
			continue
		}
		if err := s.beaconTerm(term, &edits); err != nil {
			return nil, err
		}
		s.checks = append(s.checks, term)
	}
	return aws.String(splice(*e, edits)), nil
}

// encryptedIn returns an encrypted attribute a term names, or "".
func (s *search) encryptedIn(term expr.Cond) (string, error) {
	for _, o := range expr.Operands(term) {
		if o.Path == nil {
			continue
		}
		name, err := s.t.top(s.op, o.Path, s.names)
		if err != nil {
			return "", err
		}
		if s.t.encrypted[name] {
			return name, nil
		}
	}
	return "", nil
}

func (s *search) noteValues(term expr.Cond) {
	for _, o := range expr.Operands(term) {
		if o.Value != "" {
			s.others[o.Value] = true
		}
	}
}

// beaconTerm checks that a term naming an encrypted attribute has the
// shape the package allows, and translates its leaves.
func (s *search) beaconTerm(c expr.Cond, edits *[]edit) error {
	switch c := c.(type) {
	case *expr.And:
		return s.both(c.L, c.R, edits)
	case *expr.Or:
		return s.both(c.L, c.R, edits)
	case *expr.Compare:
		if c.Op == "=" {
			if x, v, ok := pathAndValue(c.L, c.R); ok {
				return s.leaf(c, x, []expr.Operand{v}, edits)
			}
		}
	case *expr.In:
		if x, ok := plainPath(c.X); ok && allValues(c.List) {
			return s.leaf(c, x, c.List, edits)
		}
	case *expr.Not:
		name, _ := s.encryptedIn(c)
		if name == "" {
			name, _ = s.anyName(c)
		}
		return s.t.refuse(s.op, "attribute %q is under NOT in a term that names searchable attributes: a beacon match is not a plaintext match, so a negation would lose items", name)
	}
	name, err := s.encryptedIn(c)
	if err != nil {
		return err
	}
	if name == "" {
		name, _ = s.anyName(c)
		return s.t.refuse(s.op, "attribute %q is joined by OR to a searchable attribute: such a term may only compare searchable attributes (join the others with AND)", name)
	}
	if _, ok := s.t.beacons[name]; !ok {
		return s.t.refuse(s.op, "the expression names encrypted attribute %q, which has no standard beacon: only searchable attributes can be queried", name)
	}
	return s.t.refuse(s.op, "searchable attribute %q can only be compared for equality (= or IN) with value placeholders", name)
}

func (s *search) both(l, r expr.Cond, edits *[]edit) error {
	if err := s.beaconTerm(l, edits); err != nil {
		return err
	}
	return s.beaconTerm(r, edits)
}

// anyName returns the first attribute a condition names.
func (s *search) anyName(c expr.Cond) (string, bool) {
	for _, o := range expr.Operands(c) {
		if o.Path != nil {
			return o.Path.Top(s.names)
		}
	}
	return "", false
}

// leaf translates "x = :v" or "x IN (:v, ...)" where x names a searchable
// attribute: x becomes its beacon attribute and each value its beacon.
func (s *search) leaf(c expr.Cond, x expr.Path, vals []expr.Operand, edits *[]edit) error {
	name, err := s.t.top(s.op, x, s.names)
	if err != nil {
		return err
	}
	b, ok := s.t.beacons[name]
	if !ok {
		if !s.t.encrypted[name] {
			return s.t.refuse(s.op, "attribute %q is joined by OR to a searchable attribute: such a term may only compare searchable attributes (join the others with AND)", name)
		}
		return s.t.refuse(s.op, "the expression names encrypted attribute %q, which has no standard beacon: only searchable attributes can be queried", name)
	}
	if e := x[0]; e.Placeholder {
		s.renamed[e.Name] = b.AttributeName()
	} else {
		*edits = append(*edits, edit{e.Pos, e.End, b.AttributeName()})
	}
	for _, v := range vals {
		if err := s.useValue(v.Value, name); err != nil {
			return err
		}
	}
	s.leafAttr[c] = name
	return nil
}

// useValue records that value placeholder v holds a value of searchable
// attribute name.
func (s *search) useValue(v, name string) error {
	if prev, ok := s.beaconOf[v]; ok && prev != name {
		return s.t.refuse(s.op, "value %s is used for both searchable attributes %q and %q: use one placeholder per attribute", v, prev, name)
	}
	av, ok := s.values[v]
	if !ok {
		return s.t.refuse(s.op, "expression attribute value %s is not defined", v)
	}
	pv, err := ddbav.From(av)
	if err != nil {
		return s.t.refuse(s.op, "expression attribute value %s: %v", v, err)
	}
	s.beaconOf[v], s.plain[v] = name, pv
	return nil
}

// finish checks the uses of values and returns the names and values to
// send.
func (s *search) finish() (map[string]string, map[string]types.AttributeValue, error) {
	if _, ok := s.values[partitionValue]; ok {
		return nil, nil, s.t.refuse(s.op, "beacon partitions (%s) are not supported", partitionValue)
	}
	for _, v := range slices.Sorted(maps.Keys(s.beaconOf)) {
		if s.others[v] {
			return nil, nil, s.t.refuse(s.op, "value %s is used both for searchable attribute %q and elsewhere: a beacon would replace it everywhere; use one placeholder per use", v, s.beaconOf[v])
		}
	}
	names := s.names
	if len(s.renamed) > 0 {
		names = maps.Clone(s.names)
		maps.Copy(names, s.renamed)
	}
	values := s.values
	if len(s.beaconOf) > 0 {
		values = maps.Clone(s.values)
		for v, name := range s.beaconOf {
			h, err := hashValue(s.t.beacons[name], s.plain[v])
			if err != nil {
				return nil, nil, s.t.refuse(s.op, "expression attribute value %s: %v", v, err)
			}
			values[v] = &types.AttributeValueMemberS{Value: h}
		}
	}
	return names, values, nil
}

// decrypt verifies and decrypts the items read, and keeps only those
// whose plaintext satisfies every translated term.
func (s *search) decrypt(ctx context.Context, items []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	out := items[:0]
	for _, av := range items {
		plain, err := s.t.readItem(ctx, av)
		if err != nil {
			return nil, s.t.failed(s.op, err)
		}
		if s.matches(plain) {
			out = append(out, plain)
		}
	}
	clear(items[len(out):])
	return out, nil
}

// matches evaluates every translated term on a decrypted item.
func (s *search) matches(it map[string]types.AttributeValue) bool {
	for _, c := range s.checks {
		if !s.eval(c, it) {
			return false
		}
	}
	return true
}

func (s *search) eval(c expr.Cond, it map[string]types.AttributeValue) bool {
	switch c := c.(type) {
	case *expr.And:
		return s.eval(c.L, it) && s.eval(c.R, it)
	case *expr.Or:
		return s.eval(c.L, it) || s.eval(c.R, it)
	case *expr.Compare:
		_, v, _ := pathAndValue(c.L, c.R)
		return s.equal(it, s.leafAttr[c], v.Value)
	case *expr.In:
		for _, v := range c.List {
			if s.equal(it, s.leafAttr[c], v.Value) {
				return true
			}
		}
	}
	return false
}

// equal reports whether the item's attribute is the placeholder's value.
func (s *search) equal(it map[string]types.AttributeValue, name, placeholder string) bool {
	av, ok := it[name]
	if !ok {
		return false
	}
	v, err := ddbav.From(av)
	return err == nil && attr.Equal(v, s.plain[placeholder])
}

func (s *search) usesBeacons() bool { return len(s.checks) > 0 }

// pathAndValue returns the path and the value placeholder of "path =
// :value" or ":value = path".
func pathAndValue(a, b expr.Operand) (expr.Path, expr.Operand, bool) {
	if p, ok := plainPath(a); ok && b.Value != "" {
		return p, b, true
	}
	if p, ok := plainPath(b); ok && a.Value != "" {
		return p, a, true
	}
	return nil, expr.Operand{}, false
}

// plainPath is a path to a top-level attribute, not size() of one.
func plainPath(o expr.Operand) (expr.Path, bool) {
	return o.Path, len(o.Path) == 1 && !o.Size
}

func allValues(os []expr.Operand) bool {
	for _, o := range os {
		if o.Value == "" {
			return false
		}
	}
	return true
}

// splice applies non-overlapping edits to s.
func splice(s string, edits []edit) string {
	if len(edits) == 0 {
		return s
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.pos - b.pos })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(s[last:e.pos])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}
