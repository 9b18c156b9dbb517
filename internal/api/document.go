package api

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/danielgtaylor/huma/v2"
)

// Document is a record as a JSON object. It is kept as the client sent it
// until records parses it (numbers stay exact), and written back as the
// records layer renders it.
type Document json.RawMessage

// Schema implements huma.SchemaProvider: any JSON object.
func (Document) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeObject, AdditionalProperties: true,
		Description: "A record: a JSON object. Strings, numbers (kept exactly, up to 38 digits), booleans, null, arrays and objects."}
}

// MarshalJSON writes the document as is.
func (d Document) MarshalJSON() ([]byte, error) {
	if len(d) == 0 {
		return []byte("{}"), nil
	}
	return d, nil
}

// UnmarshalJSON keeps the raw bytes.
func (d *Document) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

// Format keeps documents out of logs and fmt output.
func (Document) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// LogValue keeps documents out of structured logs.
func (Document) LogValue() slog.Value { return slog.StringValue("[redacted]") }
