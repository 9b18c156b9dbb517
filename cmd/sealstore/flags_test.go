package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		keys       string
		positional []string
		wantErr    bool
	}{
		{[]string{"a.json"}, "", []string{"a.json"}, false},
		{[]string{"--keys", "k", "a.json", "b.json"}, "k", []string{"a.json", "b.json"}, false},
		{[]string{"a.json", "--keys", "k", "b.json"}, "k", []string{"a.json", "b.json"}, false},
		{[]string{"a.json", "b.json", "-keys=k"}, "k", []string{"a.json", "b.json"}, false},
		{[]string{"--keys", "k", "--", "-odd.json"}, "k", []string{"-odd.json"}, false},
		{[]string{"a.json", "--", "--keys"}, "", []string{"a.json", "--keys"}, false},
		{[]string{"a.json", "--nope"}, "", nil, true},
		{[]string{"a.json", "--keys"}, "", nil, true},
		{nil, "", nil, false},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		keys := fs.String("keys", "", "")
		got, err := parseArgs(fs, tt.args)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseArgs(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && (*keys != tt.keys || !slices.Equal(got, tt.positional)) {
			t.Errorf("parseArgs(%q) = %q keys %q, want %q keys %q", tt.args, got, *keys, tt.positional, tt.keys)
		}
	}
}
