package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/jsoncheck"
)

// A record travels as a plain JSON object. Its members map to DynamoDB
// values: string → S, number → N (its literal digits, never a float64),
// true/false → BOOL, null → NULL, array → L, object → M. Sets and binary
// values have no JSON form and are never written by the API.

// ParseDocument parses a JSON object into an item. Duplicate member names,
// nesting deeper than attr.MaxDepth, invalid numbers, invalid UTF-8 and \u
// escapes of unpaired UTF-16 surrogates are refused. Errors name the
// attribute (schema, not data) and never quote a value.
func ParseDocument(data []byte) (attr.Item, error) {
	if err := jsoncheck.Check(data); errors.Is(err, jsoncheck.ErrNotUTF8) {
		return nil, &InvalidError{Field: "body", Reason: "is not valid UTF-8"}
	} else if err != nil {
		// The decoder would store U+FFFD in its place: what is stored
		// would not be what was sent.
		return nil, &InvalidError{Field: "body", Reason: `holds a \u escape of an unpaired UTF-16 surrogate (not a character)`}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, &InvalidError{Field: "body", Reason: "is not valid JSON"}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &InvalidError{Field: "body", Reason: "must be a JSON object"}
	}
	m, err := parseObject(dec, "", 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &InvalidError{Field: "body", Reason: "has data after the JSON object"}
	}
	return attr.Item(m), nil
}

func parseObject(dec *json.Decoder, path string, depth int) (attr.M, error) {
	m := attr.M{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxErr(path)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, syntaxErr(path)
		}
		child := name
		if path != "" {
			child = path + "." + name
		}
		if _, dup := m[name]; dup {
			return nil, &InvalidError{Field: fieldName(child), Reason: "appears twice"}
		}
		v, err := parseValue(dec, child, depth)
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxErr(path)
	}
	return m, nil
}

func parseValue(dec *json.Decoder, path string, depth int) (attr.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(path)
	}
	switch t := tok.(type) {
	case string:
		return attr.S(t), nil
	case json.Number:
		n, err := attr.NormalizeNumber(string(t))
		if err != nil {
			return nil, &InvalidError{Field: fieldName(path), Reason: "is a number DynamoDB cannot hold (at most 38 digits, magnitude 1e-130 to 1e126)"}
		}
		return attr.N(n), nil
	case bool:
		return attr.Bool(t), nil
	case nil:
		return attr.Null{}, nil
	case json.Delim:
		if depth >= attr.MaxDepth {
			return nil, &InvalidError{Field: fieldName(path), Reason: fmt.Sprintf("nests deeper than %d levels", attr.MaxDepth)}
		}
		if t == '{' {
			return parseObject(dec, path, depth+1)
		}
		l := attr.L{}
		for i := 0; dec.More(); i++ {
			v, err := parseValue(dec, path+"["+strconv.Itoa(i)+"]", depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxErr(path)
		}
		return l, nil
	}
	return nil, syntaxErr(path)
}

func syntaxErr(path string) error {
	if path == "" {
		return &InvalidError{Field: "body", Reason: "is not valid JSON"}
	}
	return &InvalidError{Field: fieldName(path), Reason: "is not valid JSON"}
}

// fieldName is how an error names an attribute path: body.<path>.
func fieldName(path string) string { return "body." + path }

// MarshalDocument returns the JSON object of an item: the inverse of
// ParseDocument, members sorted by name. Binary values and sets (which the
// API never writes) come out as {"B": base64} and arrays.
func MarshalDocument(it attr.Item) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, attr.M(it)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v attr.Value) error {
	switch t := v.(type) {
	case attr.S:
		return writeString(b, string(t))
	case attr.N:
		b.WriteString(string(t))
	case attr.Bool:
		b.WriteString(strconv.FormatBool(bool(t)))
	case attr.Null:
		b.WriteString("null")
	case attr.L:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case attr.M:
		names := make([]string, 0, len(t))
		for k := range t {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteByte('{')
		for i, k := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, t[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case attr.SS, attr.NS, attr.BS, attr.B:
		data, err := attr.MarshalValueJSON(v)
		if err != nil {
			return err
		}
		b.Write(data)
	default:
		return errors.New("records: value of unknown type")
	}
	return nil
}

// writeString writes s as a JSON string, without json.Marshal's HTML
// escaping of <, > and & (the API serves JSON only, never HTML).
func writeString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}
