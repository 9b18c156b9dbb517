package attr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseValueJSON parses one attribute value in DynamoDB JSON: an object with
// exactly one member whose name is the type (S, N, B, BOOL, NULL, L, M, SS,
// NS or BS), as in {"N":"42"} or {"L":[{"S":"a"},{"BOOL":true}]}. B and BS
// entries are standard base64, NULL must be true, and N and NS entries must
// be valid DynamoDB numbers; they are kept as written (see NormalizeNumber).
//
// With shorthand, a bare JSON string is an S, a bare JSON number is an N
// (its literal text, never a float64), NS entries may be JSON numbers, and
// list entries and map values may use the same shorthand.
//
// Errors name the problem and, where there is one, the path to the value:
// the top-level attribute name (for ParseItemJSON), then list indexes and
// map members by position in JSON order, as in Stuff[2].M[0] (the first
// member of the map at index 2 of attribute Stuff). Errors never quote a
// value, a map key or a type name, since map keys may be as secret as
// values; of a number they give only its length.
func ParseValueJSON(data []byte, shorthand bool) (Value, error) {
	p := newJSONParser(data, shorthand)
	v, err := p.value(nil, 0)
	if err != nil {
		return nil, err
	}
	return v, p.end()
}

// ParseItemJSON parses a DynamoDB JSON item: an object mapping attribute
// names to values in the form ParseValueJSON accepts. Empty and duplicate
// attribute names are rejected. Errors name the attribute, which is schema
// rather than data, and below it are as ParseValueJSON's.
func ParseItemJSON(data []byte, shorthand bool) (Item, error) {
	p := newJSONParser(data, shorthand)
	m, err := p.item()
	if err != nil {
		return nil, err
	}
	return Item(m), p.end()
}

// MarshalValueJSON returns v as typed DynamoDB JSON: B and BS as standard
// base64, NULL as true, N and NS entries as JSON strings, map members sorted
// by name. Numbers and set entries are written as held, in the order held;
// Marshal gives the canonical form. v must be a value Marshal accepts.
func MarshalValueJSON(v Value) ([]byte, error) {
	if _, err := MarshalTyped(v); err != nil {
		return nil, err
	}
	return encodeJSON(jsonTree(v))
}

// MarshalItemJSON returns it as a JSON object of attribute name to typed
// DynamoDB JSON value (see MarshalValueJSON), sorted by attribute name.
func MarshalItemJSON(it Item) ([]byte, error) {
	tree := make(map[string]any, len(it))
	for name, v := range it {
		if name == "" || !utf8.ValidString(name) {
			return nil, errors.New("attr: attribute name is empty or not valid UTF-8")
		}
		if _, err := MarshalTyped(v); err != nil {
			return nil, fmt.Errorf("attr: attribute %s: %s", quoteName(name), trimPrefix(err))
		}
		tree[name] = jsonTree(v)
	}
	return encodeJSON(tree)
}

func encodeJSON(tree any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("attr: encoding JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonTree converts a value that MarshalTyped accepts into the generic form
// encoding/json writes as typed DynamoDB JSON.
func jsonTree(v Value) any {
	switch v := v.(type) {
	case S:
		return typed("S", string(v))
	case N:
		return typed("N", string(v))
	case B:
		return typed("B", base64.StdEncoding.EncodeToString(v))
	case Bool:
		return typed("BOOL", bool(v))
	case Null:
		return typed("NULL", true)
	case L:
		return typed("L", listTree(v))
	case M:
		return typed("M", mapTree(v))
	case SS:
		return typed("SS", append([]string{}, v...))
	case NS:
		return typed("NS", append([]string{}, v...))
	case BS:
		return typed("BS", binarySetTree(v))
	}
	return nil
}

func typed(kind string, body any) map[string]any {
	return map[string]any{kind: body}
}

func listTree(l L) []any {
	out := make([]any, len(l))
	for i, e := range l {
		out[i] = jsonTree(e)
	}
	return out
}

func mapTree(m M) map[string]any {
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = jsonTree(e)
	}
	return out
}

func binarySetTree(bs BS) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = base64.StdEncoding.EncodeToString(b)
	}
	return out
}

// trimPrefix returns the message of an attr error without its "attr: ".
func trimPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "attr: ")
}
