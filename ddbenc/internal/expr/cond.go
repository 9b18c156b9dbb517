package expr

import (
	"strconv"
)

// Elem is one step of a document path: a name (literal or "#placeholder",
// as written) or a list index.
type Elem struct {
	Name        string
	Placeholder bool
	Index       int
	IsIndex     bool
	// Pos and End are the byte offsets of the name as written.
	Pos, End int
}

// Path is a document path; its first element is always a name.
type Path []Elem

// Top is the path's top-level attribute name, resolving a placeholder
// through names; ok is false for a placeholder names does not define.
func (p Path) Top(names map[string]string) (string, bool) {
	return p[0].Resolve(names)
}

// Resolve returns the attribute name e stands for.
func (e Elem) Resolve(names map[string]string) (string, bool) {
	if !e.Placeholder {
		return e.Name, true
	}
	n, ok := names[e.Name]
	return n, ok
}

// Operand is a path, a value placeholder (":v"), or size(path).
type Operand struct {
	Path  Path
	Value string
	Size  bool
	Pos   int
}

// Cond is a parsed condition: *And, *Or, *Not, *Compare, *Between, *In or
// *Func.
type Cond interface{ isCond() }

type (
	// And is L AND R.
	And struct{ L, R Cond }
	// Or is L OR R.
	Or struct{ L, R Cond }
	// Not is NOT X.
	Not struct{ X Cond }
	// Compare is L Op R, Op one of = <> < <= > >=.
	Compare struct {
		Op   string
		L, R Operand
	}
	// Between is X BETWEEN Lo AND Hi.
	Between struct{ X, Lo, Hi Operand }
	// In is X IN (List...).
	In struct {
		X    Operand
		List []Operand
	}
	// Func is a boolean function: attribute_exists, attribute_not_exists,
	// attribute_type, begins_with or contains.
	Func struct {
		Name string
		Args []Operand
	}
)

func (*And) isCond()     {}
func (*Or) isCond()      {}
func (*Not) isCond()     {}
func (*Compare) isCond() {}
func (*Between) isCond() {}
func (*In) isCond()      {}
func (*Func) isCond()    {}

// boolFuncs are the condition functions and their argument counts.
var boolFuncs = map[string]int{
	"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2,
	"begins_with": 2, "contains": 2,
}

// ParseCondition parses a condition, key condition or filter expression.
func ParseCondition(s string) (Cond, error) {
	p, err := newParser(s)
	if err != nil {
		return nil, err
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	return c, p.end()
}

func (p *parser) or() (Cond, error) {
	l, err := p.and()
	for err == nil && p.keyword("OR") {
		p.next()
		var r Cond
		if r, err = p.and(); err == nil {
			l = &Or{l, r}
		}
	}
	return l, err
}

func (p *parser) and() (Cond, error) {
	l, err := p.not()
	for err == nil && p.keyword("AND") {
		p.next()
		var r Cond
		if r, err = p.not(); err == nil {
			l = &And{l, r}
		}
	}
	return l, err
}

func (p *parser) not() (Cond, error) {
	if p.keyword("NOT") {
		p.next()
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return &Not{x}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Cond, error) {
	if p.punct("(") {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")")
	}
	if t := p.peek(); t.kind == tIdent && p.toks[p.i+1].text == "(" {
		if n, ok := boolFuncs[t.text]; ok {
			return p.boolFunc(n)
		}
	}
	x, err := p.operand()
	if err != nil {
		return nil, err
	}
	return p.predicate(x)
}

func (p *parser) boolFunc(n int) (Cond, error) {
	name := p.next().text
	args, err := p.args()
	if err != nil {
		return nil, err
	}
	if len(args) != n || args[0].Path == nil || args[0].Size {
		return nil, p.errorf("%s takes a path and %d argument(s) in all", name, n)
	}
	return &Func{Name: name, Args: args}, nil
}

// args parses "(" operand {"," operand} ")".
func (p *parser) args() ([]Operand, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []Operand
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		if !p.punct(",") {
			return out, p.expect(")")
		}
		p.next()
	}
}

// predicate parses what follows the first operand of a comparison,
// BETWEEN or IN.
func (p *parser) predicate(x Operand) (Cond, error) {
	switch t := p.peek(); {
	case t.kind == tPunct && isComparator(t.text):
		p.next()
		y, err := p.operand()
		return &Compare{Op: t.text, L: x, R: y}, err
	case p.keyword("BETWEEN"):
		p.next()
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, p.errorf("expected AND in BETWEEN")
		}
		p.next()
		hi, err := p.operand()
		return &Between{X: x, Lo: lo, Hi: hi}, err
	case p.keyword("IN"):
		p.next()
		list, err := p.args()
		return &In{X: x, List: list}, err
	}
	return nil, p.errorf("expected a comparison, BETWEEN or IN")
}

func isComparator(s string) bool {
	switch s {
	case "=", "<>", "<", "<=", ">", ">=":
		return true
	}
	return false
}

// operand parses a value placeholder, size(path) or a path.
func (p *parser) operand() (Operand, error) {
	t := p.peek()
	switch {
	case t.kind == tValue:
		p.next()
		return Operand{Value: t.text, Pos: t.pos}, nil
	case t.kind == tIdent && t.text == "size" && p.toks[p.i+1].text == "(":
		p.next()
		p.next()
		path, err := p.path()
		if err != nil {
			return Operand{}, err
		}
		return Operand{Path: path, Size: true, Pos: t.pos}, p.expect(")")
	}
	path, err := p.path()
	return Operand{Path: path, Pos: t.pos}, err
}

// path parses name {"." name | "[" index "]"}.
func (p *parser) path() (Path, error) {
	first, err := p.name()
	if err != nil {
		return nil, err
	}
	path := Path{first}
	for {
		switch {
		case p.punct("."):
			p.next()
			e, err := p.name()
			if err != nil {
				return nil, err
			}
			path = append(path, e)
		case p.punct("["):
			p.next()
			e, err := p.index()
			if err != nil {
				return nil, err
			}
			path = append(path, e)
		default:
			return path, nil
		}
	}
}

func (p *parser) name() (Elem, error) {
	t := p.peek()
	switch {
	case t.kind == tName:
		p.next()
		return Elem{Name: t.text, Placeholder: true, Pos: t.pos, End: t.end}, nil
	case t.kind == tIdent && !isReserved(t.text) && p.toks[p.i+1].text != "(":
		p.next()
		return Elem{Name: t.text, Pos: t.pos, End: t.end}, nil
	}
	return Elem{}, p.errorf("expected an attribute name")
}

func (p *parser) index() (Elem, error) {
	t := p.next()
	if t.kind != tNumber {
		return Elem{}, p.errorf("expected a list index")
	}
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return Elem{}, p.errorf("list index out of range")
	}
	return Elem{Index: n, IsIndex: true, Pos: t.pos, End: t.end}, p.expect("]")
}

// Operands returns every operand of c, in order.
func Operands(c Cond) []Operand {
	var out []Operand
	walk(c, func(o Operand) { out = append(out, o) })
	return out
}

func walk(c Cond, fn func(Operand)) {
	switch c := c.(type) {
	case *And:
		walk(c.L, fn)
		walk(c.R, fn)
	case *Or:
		walk(c.L, fn)
		walk(c.R, fn)
	case *Not:
		walk(c.X, fn)
	case *Compare:
		fn(c.L)
		fn(c.R)
	case *Between:
		fn(c.X)
		fn(c.Lo)
		fn(c.Hi)
	case *In:
		fn(c.X)
		for _, o := range c.List {
			fn(o)
		}
	case *Func:
		for _, o := range c.Args {
			fn(o)
		}
	}
}

// Conjuncts returns the top-level AND terms of c (c itself if it is not
// an AND).
func Conjuncts(c Cond) []Cond {
	if a, ok := c.(*And); ok {
		return append(Conjuncts(a.L), Conjuncts(a.R)...)
	}
	return []Cond{c}
}
