package attr

import (
	"fmt"
	"log/slog"
	"slices"
)

// Values may be plaintext secrets, so log/slog never prints them: each value
// type is a slog.LogValuer that logs "[redacted]" and its DynamoDB type, as
// in "[redacted] S", and an Item logs its attribute names with their types
// only. Map keys are not logged either: they may be as secret as values.
//
// fmt still prints values as they are (tests rely on it); do not pass them
// to fmt-based logging.

const redacted = "[redacted]"

// LogValue implements slog.LogValuer: a group of attribute name to
// DynamoDB type ("S", "N", "M", ...), sorted by name, without any value.
// Attribute names are schema, not data. (slog omits an empty group.)
func (it Item) LogValue() slog.Value {
	names := make([]string, 0, len(it))
	for name := range it {
		names = append(names, name)
	}
	slices.Sort(names)
	attrs := make([]slog.Attr, len(names))
	for i, name := range names {
		attrs[i] = slog.String(name, typeName(it[name]))
	}
	return slog.GroupValue(attrs...)
}

// typeName returns the DynamoDB type of v: "S", "N", "B", "BOOL", "NULL",
// "L", "M", "SS", "NS" or "BS"; "nil" for nil and the Go type for any other
// implementation of Value.
func typeName(v Value) string {
	switch v.(type) {
	case S:
		return "S"
	case N:
		return "N"
	case B:
		return "B"
	case Bool:
		return "BOOL"
	case Null:
		return "NULL"
	case L:
		return "L"
	case M:
		return "M"
	case SS:
		return "SS"
	case NS:
		return "NS"
	case BS:
		return "BS"
	case nil:
		return "nil"
	}
	return fmt.Sprintf("%T", v)
}

func redactedValue(kind string) slog.Value { return slog.StringValue(redacted + " " + kind) }

// LogValue implements slog.LogValuer: "[redacted] S", never the string.
func (S) LogValue() slog.Value { return redactedValue("S") }

// LogValue implements slog.LogValuer: "[redacted] N", never the number.
func (N) LogValue() slog.Value { return redactedValue("N") }

// LogValue implements slog.LogValuer: "[redacted] B", never the bytes.
func (B) LogValue() slog.Value { return redactedValue("B") }

// LogValue implements slog.LogValuer: "[redacted] BOOL", never the boolean.
func (Bool) LogValue() slog.Value { return redactedValue("BOOL") }

// LogValue implements slog.LogValuer: "[redacted] NULL", like every other
// value type.
func (Null) LogValue() slog.Value { return redactedValue("NULL") }

// LogValue implements slog.LogValuer: "[redacted] L", never the entries.
func (L) LogValue() slog.Value { return redactedValue("L") }

// LogValue implements slog.LogValuer: "[redacted] M", never a key or value.
func (M) LogValue() slog.Value { return redactedValue("M") }

// LogValue implements slog.LogValuer: "[redacted] SS", never the entries.
func (SS) LogValue() slog.Value { return redactedValue("SS") }

// LogValue implements slog.LogValuer: "[redacted] NS", never the entries.
func (NS) LogValue() slog.Value { return redactedValue("NS") }

// LogValue implements slog.LogValuer: "[redacted] BS", never the entries.
func (BS) LogValue() slog.Value { return redactedValue("BS") }
