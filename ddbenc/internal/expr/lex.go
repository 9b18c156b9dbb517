// Package expr parses DynamoDB condition, key condition, filter and update
// expressions far enough for the encrypting client to know every document
// path they name, where each name is written, and (for conditions) their
// boolean structure. It does not evaluate anything.
//
// The parser is strict: input DynamoDB would refuse may be refused here
// too, and an expression it cannot read is an error, never a guess (the
// client then refuses the request). Errors give a byte offset, never a
// value: expressions hold only names and placeholders.
package expr

import (
	"fmt"
	"strings"
)

type kind int

const (
	tEOF kind = iota
	tIdent
	tName  // #placeholder
	tValue // :placeholder
	tNumber
	tPunct
)

type token struct {
	kind     kind
	text     string
	pos, end int
}

// lex splits s into tokens.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case isIdentStart(c):
			j := scan(s, i+1, isIdentChar)
			toks = append(toks, token{tIdent, s[i:j], i, j})
			i = j
		case c == '#' || c == ':':
			j := scan(s, i+1, isIdentChar)
			if j == i+1 {
				return nil, fmt.Errorf("expr: empty placeholder at offset %d", i)
			}
			k := tName
			if c == ':' {
				k = tValue
			}
			toks = append(toks, token{k, s[i:j], i, j})
			i = j
		case isDigit(c):
			j := scan(s, i+1, isDigit)
			toks = append(toks, token{tNumber, s[i:j], i, j})
			i = j
		default:
			n := punctLen(s[i:])
			if n == 0 {
				return nil, fmt.Errorf("expr: unexpected character at offset %d", i)
			}
			toks = append(toks, token{tPunct, s[i : i+n], i, i + n})
			i += n
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s), end: len(s)}), nil
}

func scan(s string, i int, ok func(byte) bool) int {
	for i < len(s) && ok(s[i]) {
		i++
	}
	return i
}

func punctLen(s string) int {
	if strings.HasPrefix(s, "<>") || strings.HasPrefix(s, "<=") || strings.HasPrefix(s, ">=") {
		return 2
	}
	if strings.IndexByte("()[],.=<>+-", s[0]) >= 0 {
		return 1
	}
	return 0
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

// parser walks a token list.
type parser struct {
	toks []token
	i    int
}

// MaxLen is DynamoDB's limit on the length of any expression, in bytes.
const MaxLen = 4096

func newParser(s string) (*parser, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("expr: expression is %d bytes; DynamoDB takes at most %d", len(s), MaxLen)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	return &parser{toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the keyword kw (any case).
func (p *parser) keyword(kw string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) punct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) expect(s string) error {
	if !p.punct(s) {
		return p.errorf("expected %q", s)
	}
	p.next()
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("expr: "+format+" at offset %d", append(args, p.peek().pos)...)
}

func (p *parser) end() error {
	if p.peek().kind != tEOF {
		return p.errorf("unexpected token")
	}
	return nil
}

// reserved are the keywords that cannot be a bare attribute name here.
var reserved = []string{"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"}

func isReserved(s string) bool {
	for _, r := range reserved {
		if strings.EqualFold(s, r) {
			return true
		}
	}
	return false
}
