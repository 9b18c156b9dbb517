package attr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// jsonParser reads DynamoDB JSON token by token, so that duplicate members
// are seen and numbers keep their literal text.
type jsonParser struct {
	dec       *json.Decoder
	shorthand bool
}

func newJSONParser(data []byte, shorthand bool) *jsonParser {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return &jsonParser{dec: dec, shorthand: shorthand}
}

// jsonPath locates a value for error messages. Only a top-level attribute
// name is written as text: it is schema, not data. Below it come list
// indexes, [2], and map members by position in JSON order, M[3], never by
// key, because the keys of a map may be as secret as its values (the whole
// map may be an encrypted attribute). A path is rendered only when an error
// needs it.
type jsonPath struct {
	parent *jsonPath
	name   string   // the attribute name, for pathName
	index  int      // the list index or member position
	kind   pathKind // what the step is
}

type pathKind uint8

const (
	pathName   pathKind = iota // a top-level attribute name
	pathIndex                  // a list index: [i]
	pathMember                 // the i-th member of an M, in JSON order: M[i]
)

// attribute returns the path of a top-level attribute of an item.
func attribute(name string) *jsonPath { return &jsonPath{name: name, kind: pathName} }

// at returns the path of list entry (or set entry) i.
func (p *jsonPath) at(i int) *jsonPath { return &jsonPath{parent: p, index: i, kind: pathIndex} }

// member returns the path of the i-th member of a map, counted from 0 in
// JSON order.
func (p *jsonPath) member(i int) *jsonPath { return &jsonPath{parent: p, index: i, kind: pathMember} }

func (p *jsonPath) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p *jsonPath) write(b *strings.Builder) {
	if p.parent != nil {
		p.parent.write(b)
	}
	switch p.kind {
	case pathIndex:
		fmt.Fprintf(b, "[%d]", p.index)
	case pathMember:
		if p.parent != nil {
			b.WriteByte('.')
		}
		fmt.Fprintf(b, "M[%d]", p.index)
	default:
		b.WriteString(quoteName(p.name))
	}
}

// quoteName returns an attribute name as is when it is plain, quoted (and
// shortened if long) otherwise.
func quoteName(name string) string {
	if isPlainName(name) {
		return name
	}
	return quoteShort(name)
}

func isPlainName(name string) bool {
	if name == "" || len(name) > maxQuoteLen {
		return false
	}
	for _, c := range []byte(name) {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && !isDigit(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func (p *jsonParser) errorf(at *jsonPath, format string, args ...any) error {
	if at == nil {
		return fmt.Errorf("attr: json: "+format, args...)
	}
	return fmt.Errorf("attr: json at %s: "+format, append([]any{at}, args...)...)
}

func (p *jsonParser) token(at *jsonPath) (json.Token, error) {
	tok, err := p.dec.Token()
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, p.errorf(at, "unexpected end of input")
	case err != nil:
		// The decoder's message may quote a character of a value or
		// name map keys, so only an offset is given: that of the token
		// that failed (a SyntaxError's own Offset is unreliable while
		// reading tokens, and can point before the token).
		return nil, p.errorf(at, "invalid JSON at offset %d", p.dec.InputOffset())
	}
	return tok, nil
}

// end checks that nothing but white space follows the parsed value.
func (p *jsonParser) end() error {
	if _, err := p.dec.Token(); err != io.EOF {
		return p.errorf(nil, "unexpected data after the value")
	}
	return nil
}

// open consumes the opening delimiter of an object or array.
func (p *jsonParser) open(d json.Delim, at *jsonPath, what string) error {
	tok, err := p.token(at)
	if err != nil {
		return err
	}
	if tok != d {
		return p.errorf(at, "expected %s, got %s", what, describe(tok))
	}
	return nil
}

// close consumes the closing delimiter once More reports no more members.
func (p *jsonParser) close(at *jsonPath) error {
	_, err := p.token(at)
	return err
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

// value parses a typed object or, with shorthand, a bare string or number.
func (p *jsonParser) value(at *jsonPath, depth int) (Value, error) {
	if depth >= MaxDepth {
		return nil, p.errorf(at, "nesting deeper than 32 levels")
	}
	tok, err := p.token(at)
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return p.typed(at, depth)
		}
	case string:
		if p.shorthand {
			return S(t), nil
		}
	case json.Number:
		if p.shorthand {
			return p.number(at, string(t))
		}
	}
	want := "a typed object"
	if p.shorthand {
		want = "a typed object, string or number"
	}
	return nil, p.errorf(at, "expected %s, got %s", want, describe(tok))
}

// typed parses the rest of a typed object after its '{'.
func (p *jsonParser) typed(at *jsonPath, depth int) (Value, error) {
	if !p.dec.More() {
		return nil, p.errorf(at, "typed value has no type")
	}
	kind, err := p.str(at, "a type name")
	if err != nil {
		return nil, err
	}
	v, err := p.body(kind, at, depth)
	if err != nil {
		return nil, err
	}
	if p.dec.More() {
		if _, err := p.token(at); err != nil {
			return nil, err
		}
		return nil, p.errorf(at, "typed value has more than one member")
	}
	return v, p.close(at)
}

func (p *jsonParser) body(kind string, at *jsonPath, depth int) (Value, error) {
	switch kind {
	case "S":
		s, err := p.str(at, "a string for S")
		return S(s), err
	case "N":
		return p.numberString(at)
	case "B":
		return p.binary(at)
	case "BOOL":
		b, err := p.boolean(at, "BOOL")
		return Bool(b), err
	case "NULL":
		return p.null(at)
	case "L":
		return p.list(at, depth)
	case "M":
		m, err := p.mapBody(at, depth+1)
		return M(m), err
	case "SS", "NS", "BS":
		return p.set(kind, at)
	}
	// The name is not quoted: when an M's body is written without its
	// {"M": …} wrapper, the map's keys are read as type names.
	return nil, p.errorf(at, "unknown type name; want S, N, B, BOOL, NULL, L, M, SS, NS or BS")
}

func (p *jsonParser) str(at *jsonPath, what string) (string, error) {
	tok, err := p.token(at)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", p.errorf(at, "expected %s, got %s", what, describe(tok))
	}
	return s, nil
}

func (p *jsonParser) boolean(at *jsonPath, kind string) (bool, error) {
	tok, err := p.token(at)
	if err != nil {
		return false, err
	}
	b, ok := tok.(bool)
	if !ok {
		return false, p.errorf(at, "expected a boolean for %s, got %s", kind, describe(tok))
	}
	return b, nil
}

func (p *jsonParser) null(at *jsonPath) (Value, error) {
	b, err := p.boolean(at, "NULL")
	if err == nil && !b {
		err = p.errorf(at, "NULL must be true")
	}
	return Null{}, err
}

func (p *jsonParser) number(at *jsonPath, s string) (Value, error) {
	if _, err := NormalizeNumber(s); err != nil {
		return nil, p.errorf(at, "%s", trimPrefix(err))
	}
	return N(s), nil
}

func (p *jsonParser) numberString(at *jsonPath) (Value, error) {
	s, err := p.str(at, "a string for N")
	if err != nil {
		return nil, err
	}
	return p.number(at, s)
}

func (p *jsonParser) binary(at *jsonPath) (Value, error) {
	s, err := p.str(at, "a base64 string for B")
	if err != nil {
		return nil, err
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, p.errorf(at, "B is not valid base64")
	}
	return B(b), nil
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.Strict().DecodeString(s)
}

func (p *jsonParser) list(at *jsonPath, depth int) (Value, error) {
	if err := p.open('[', at, "an array for L"); err != nil {
		return nil, err
	}
	l := L{}
	for i := 0; p.dec.More(); i++ {
		v, err := p.value(at.at(i), depth+1)
		if err != nil {
			return nil, err
		}
		l = append(l, v)
	}
	return l, p.close(at)
}

// item parses the members of an item: attribute name to value.
func (p *jsonParser) item() (map[string]Value, error) {
	if err := p.open('{', nil, "an object"); err != nil {
		return nil, err
	}
	m := make(map[string]Value)
	for p.dec.More() {
		name, err := p.str(nil, "an attribute name")
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, p.errorf(nil, "empty attribute name")
		}
		if _, dup := m[name]; dup {
			return nil, p.errorf(attribute(name), "duplicate attribute name")
		}
		if m[name], err = p.value(attribute(name), 0); err != nil {
			return nil, err
		}
	}
	return m, p.close(nil)
}

// mapBody parses the object of an M. Errors locate its members by
// position, never by key.
func (p *jsonParser) mapBody(at *jsonPath, depth int) (map[string]Value, error) {
	if err := p.open('{', at, "an object for M"); err != nil {
		return nil, err
	}
	m := make(map[string]Value)
	var keys []string // in JSON order, to say where a duplicate first was
	for i := 0; p.dec.More(); i++ {
		key, err := p.str(at.member(i), "a key")
		if err != nil {
			return nil, err
		}
		if key == "" {
			return nil, p.errorf(at.member(i), "empty map key")
		}
		if _, dup := m[key]; dup {
			return nil, p.errorf(at.member(i), "duplicate map key (same as M[%d])", slices.Index(keys, key))
		}
		keys = append(keys, key)
		if m[key], err = p.value(at.member(i), depth); err != nil {
			return nil, err
		}
	}
	return m, p.close(at)
}

// set parses the array of an SS, NS or BS, rejecting duplicates (for NS,
// after normalization).
func (p *jsonParser) set(kind string, at *jsonPath) (Value, error) {
	if err := p.open('[', at, "an array for "+kind); err != nil {
		return nil, err
	}
	entries := []string{}
	seen := make(map[string]struct{})
	for i := 0; p.dec.More(); i++ {
		e, key, err := p.setEntry(kind, at.at(i))
		if err != nil {
			return nil, err
		}
		if _, dup := seen[key]; dup {
			return nil, p.errorf(at.at(i), "%s has duplicate entries", kind)
		}
		seen[key] = struct{}{}
		entries = append(entries, e)
	}
	return setOf(kind, entries), p.close(at)
}

// setEntry returns one set entry and the key that detects duplicates.
func (p *jsonParser) setEntry(kind string, at *jsonPath) (entry, key string, err error) {
	tok, err := p.token(at)
	if err != nil {
		return "", "", err
	}
	s, isString := tok.(string)
	if n, isNumber := tok.(json.Number); isNumber && p.shorthand {
		s, isString = string(n), kind == "NS"
	}
	switch {
	case kind == "NS" && isString:
		return p.numberEntry(at, s)
	case kind == "BS" && isString:
		b, err := decodeBase64(s)
		if err != nil {
			return "", "", p.errorf(at, "BS entry is not valid base64")
		}
		return string(b), string(b), nil
	case kind == "SS" && isString:
		return s, s, nil
	}
	want := "strings"
	if kind == "NS" && p.shorthand {
		want = "strings or numbers"
	}
	return "", "", p.errorf(at, "%s entries must be %s, got %s", kind, want, describe(tok))
}

func (p *jsonParser) numberEntry(at *jsonPath, s string) (entry, key string, err error) {
	norm, err := NormalizeNumber(s)
	if err != nil {
		return "", "", p.errorf(at, "%s", trimPrefix(err))
	}
	return s, norm, nil
}

func setOf(kind string, entries []string) Value {
	switch kind {
	case "SS":
		return SS(entries)
	case "NS":
		return NS(entries)
	}
	bs := make(BS, len(entries))
	for i, e := range entries {
		bs[i] = []byte(e)
	}
	return bs
}
