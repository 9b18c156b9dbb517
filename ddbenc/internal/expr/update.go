package expr

import "strings"

// updateFuncs are the functions of an update expression's SET values.
var updateFuncs = map[string]bool{"if_not_exists": true, "list_append": true}

// ParseUpdate parses an update expression (SET, REMOVE, ADD and DELETE
// clauses) and returns every path it names, written or read, in order.
func ParseUpdate(s string) ([]Path, error) {
	p, err := newParser(s)
	if err != nil {
		return nil, err
	}
	var paths []Path
	if p.peek().kind == tEOF {
		return nil, p.errorf("empty update expression")
	}
	for p.peek().kind != tEOF {
		kw := p.next()
		if kw.kind != tIdent {
			return nil, p.errorf("expected SET, REMOVE, ADD or DELETE")
		}
		var action func() ([]Path, error)
		switch strings.ToUpper(kw.text) {
		case "SET":
			action = p.setAction
		case "REMOVE":
			action = p.removeAction
		case "ADD", "DELETE":
			action = p.addAction
		default:
			return nil, p.errorf("expected SET, REMOVE, ADD or DELETE")
		}
		got, err := p.actions(action)
		if err != nil {
			return nil, err
		}
		paths = append(paths, got...)
	}
	return paths, nil
}

// actions parses one or more comma-separated actions.
func (p *parser) actions(action func() ([]Path, error)) ([]Path, error) {
	var paths []Path
	for {
		got, err := action()
		if err != nil {
			return nil, err
		}
		paths = append(paths, got...)
		if !p.punct(",") {
			return paths, nil
		}
		p.next()
	}
}

func (p *parser) setAction() ([]Path, error) {
	target, err := p.path()
	if err != nil {
		return nil, err
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	sources, err := p.setValue()
	return append([]Path{target}, sources...), err
}

func (p *parser) removeAction() ([]Path, error) {
	target, err := p.path()
	return []Path{target}, err
}

func (p *parser) addAction() ([]Path, error) {
	target, err := p.path()
	if err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tValue {
		return nil, p.errorf("expected a value placeholder")
	}
	return []Path{target}, nil
}

// setValue parses operand [("+" | "-") operand].
func (p *parser) setValue() ([]Path, error) {
	paths, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	if p.punct("+") || p.punct("-") {
		p.next()
		more, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		paths = append(paths, more...)
	}
	return paths, nil
}

// setOperand parses a path, a value placeholder, or a function of set
// values.
func (p *parser) setOperand() ([]Path, error) {
	t := p.peek()
	switch {
	case t.kind == tValue:
		p.next()
		return nil, nil
	case t.kind == tIdent && p.toks[p.i+1].text == "(":
		if !updateFuncs[t.text] {
			return nil, p.errorf("unknown function")
		}
		p.next()
		p.next()
		var paths []Path
		for {
			got, err := p.setValue()
			if err != nil {
				return nil, err
			}
			paths = append(paths, got...)
			if !p.punct(",") {
				return paths, p.expect(")")
			}
			p.next()
		}
	}
	path, err := p.path()
	return []Path{path}, err
}

// ParsePaths parses a comma-separated list of paths (a projection
// expression).
func ParsePaths(s string) ([]Path, error) {
	p, err := newParser(s)
	if err != nil {
		return nil, err
	}
	paths, err := p.actions(p.removeAction)
	if err != nil {
		return nil, err
	}
	return paths, p.end()
}
