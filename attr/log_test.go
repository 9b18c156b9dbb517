package attr_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

// Plaintext values are logged as "[redacted]" and their type, and items as
// their attribute names and types: no value, and no key of a nested map,
// reaches a slog handler.
func TestLogValueRedacts(t *testing.T) {
	t.Parallel()
	const canary = "CANARY"
	it := attr.Item{
		"RecNum": attr.N("4111111111111111"),
		"top":    attr.S("CANARY-top"),
		"nested": attr.M{"CANARY-key": attr.M{"CANARY-key2": attr.S("CANARY-nested")}},
		"list":   attr.L{attr.S("CANARY-list"), attr.M{"CANARY-key3": attr.B("CANARY-bytes")}},
		"bin":    attr.B("CANARY-bin"),
		"ss":     attr.SS{"CANARY-ss"},
		"ns":     attr.NS{"4111111111111111"},
		"bs":     attr.BS{[]byte("CANARY-bs")},
		"flag":   attr.Bool(true),
		"none":   attr.Null{},
	}
	wantTypes := map[string]string{
		"RecNum": "N", "top": "S", "nested": "M", "list": "L", "bin": "B",
		"ss": "SS", "ns": "NS", "bs": "BS", "flag": "BOOL", "none": "NULL",
	}
	values := []struct {
		v    attr.Value
		want string
	}{
		{attr.S("CANARY-bare"), "[redacted] S"},
		{attr.N("4111111111111111"), "[redacted] N"},
		{attr.B("CANARY-b"), "[redacted] B"},
		{attr.Bool(true), "[redacted] BOOL"},
		{attr.Null{}, "[redacted] NULL"},
		{attr.L{attr.S("CANARY-l")}, "[redacted] L"},
		{attr.M{"CANARY-key": attr.S("CANARY-m")}, "[redacted] M"},
		{attr.SS{"CANARY-ss"}, "[redacted] SS"},
		{attr.NS{"4111111111111111"}, "[redacted] NS"},
		{attr.BS{[]byte("CANARY-bs")}, "[redacted] BS"},
	}
	// No time in the output: a timestamp may hold any digits, the
	// canary number's among them.
	noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, noTime) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, noTime) },
	}
	for hname, newHandler := range handlers {
		var buf bytes.Buffer
		log := slog.New(newHandler(&buf))
		log.Info("item", "item", it)
		log.Info("nested map", "m", it["nested"], slog.Any("list", it["list"]))
		log.With("bound", attr.S("CANARY-with")).WithGroup("g").Info("group", "s", attr.S("CANARY-group"))
		for _, tt := range values {
			log.Info("value", "v", tt.v)
			var one bytes.Buffer
			slog.New(newHandler(&one)).Info("value", "v", tt.v)
			if !strings.Contains(one.String(), tt.want) {
				t.Errorf("%s handler logged %#v as %s, want %q", hname, tt.v, one.String(), tt.want)
			}
		}
		out := buf.String()
		if strings.Contains(out, canary) || strings.Contains(out, "4111") {
			t.Errorf("%s handler logged a value or map key:\n%s", hname, out)
		}
		for name, typ := range wantTypes {
			want := fmt.Sprintf(`"%s":"%s"`, name, typ)
			if hname == "text" {
				want = fmt.Sprintf("item.%s=%s", name, typ)
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s handler output lacks %s:\n%s", hname, want, out)
			}
		}
	}
}

// fmt still prints values as they are: tests print them on purpose.
func TestValuesFormatPlainly(t *testing.T) {
	t.Parallel()
	if got := fmt.Sprintf("%v %s %v", attr.S("abc"), attr.N("1.5"), attr.M{"k": attr.S("v")}); got != "abc 1.5 map[k:v]" {
		t.Errorf("fmt.Sprint = %q, want the values", got)
	}
}
