package store

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sealstore/sealstore/attr"
)

// CheckItem refuses what DynamoDB refuses or would silently change, so
// that every backend stores exactly what it was given or nothing: strings
// (values, set members, attribute names and map keys) that are not valid
// UTF-8 — a JSON encoder would replace the bad bytes, and two distinct
// keys could become one item — and empty sets. Errors name the attribute,
// never a value.
func CheckItem(it attr.Item) error {
	for name, v := range it {
		if !utf8.ValidString(name) {
			return errors.New("store: an attribute name is not valid UTF-8")
		}
		if err := checkValue(v); err != nil {
			return fmt.Errorf("store: attribute %q: %w", name, err)
		}
	}
	return nil
}

func checkValue(v attr.Value) error {
	switch v := v.(type) {
	case attr.S:
		if !utf8.ValidString(string(v)) {
			return errors.New("string is not valid UTF-8")
		}
	case attr.SS:
		if len(v) == 0 {
			return errEmptySet
		}
		for _, s := range v {
			if !utf8.ValidString(s) {
				return errors.New("string set member is not valid UTF-8")
			}
		}
	case attr.NS:
		if len(v) == 0 {
			return errEmptySet
		}
	case attr.BS:
		if len(v) == 0 {
			return errEmptySet
		}
	case attr.L:
		for _, e := range v {
			if err := checkValue(e); err != nil {
				return err
			}
		}
	case attr.M:
		for k, e := range v {
			if !utf8.ValidString(k) {
				return errors.New("map key is not valid UTF-8")
			}
			if err := checkValue(e); err != nil {
				return err
			}
		}
	}
	return nil
}

var errEmptySet = errors.New("DynamoDB does not store empty sets")

// CheckIndexValue refuses a Query value no stored item can have.
func CheckIndexValue(t Table, value string) error {
	if value == "" || len(value) > MaxIndexValueLen || !utf8.ValidString(value) {
		return fmt.Errorf("store: table %s: an index value is a UTF-8 string of 1 to %d bytes", t.Name, MaxIndexValueLen)
	}
	return nil
}
