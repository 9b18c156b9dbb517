package jsoncheck

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		text   string
		want   error
		offset int
	}{
		{`{"a":"b"}`, nil, 0},
		{`{"a":"\u00e9\n\\"}`, nil, 0},
		{`{"a":"\ud83d\ude00"}`, nil, 0}, // a pair: 😀
		{`{"a":"\uD83D\uDE00"}`, nil, 0}, // upper-case hex
		{`{"a":"\\ud800"}`, nil, 0},      // an escaped backslash, then text
		{`{"a":"\\\ud800"}`, ErrLoneSurrogate, 8},
		{`{"a":"\ud800"}`, ErrLoneSurrogate, 6},
		{`{"a":"\udfff"}`, ErrLoneSurrogate, 6},  // a low one alone
		{`{"a":"\ud800x"}`, ErrLoneSurrogate, 6}, // a high one, then text
		{`{"a":"\ud800\u0041"}`, ErrLoneSurrogate, 6},
		{`{"a":"\ud800\ud800"}`, ErrLoneSurrogate, 6}, // two high ones
		{`{"a":"\ude00\ud83d"}`, ErrLoneSurrogate, 6}, // a pair the wrong way round
		{`{"\ud800":1}`, ErrLoneSurrogate, 2},         // in a name too
		{`{"a":"x\ud83d`, ErrLoneSurrogate, 7},        // cut short
		{`{"a":"\u12"}`, nil, 0},                      // not an escape this checks: the decoder refuses it
		{"{\"a\":\"\xff\"}", ErrNotUTF8, 6},
		{"{\"a\":\"\xed\xa0\x80\"}", ErrNotUTF8, 6}, // a surrogate encoded in UTF-8
	} {
		err := Check([]byte(c.text))
		var e *Error
		switch {
		case c.want == nil && err != nil:
			t.Errorf("Check(%s) = %v; want nil", c.text, err)
		case c.want != nil && (!errors.Is(err, c.want) || !errors.As(err, &e) || e.Offset != c.offset):
			t.Errorf("Check(%s) = %v; want %v at byte %d", c.text, err, c.want, c.offset)
		}
	}
}

// FuzzCheck: whatever Check accepts, encoding/json decodes without
// replacing anything by U+FFFD (unless the text says U+FFFD itself).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`"\ud800"`, `"\ud83d\ude00"`, `"a\\ud800"`, `"\uFFFD"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s string
		if Check(data) != nil || json.Unmarshal(data, &s) != nil {
			return
		}
		if containsReplacement(s) && !containsReplacementEscape(data) {
			t.Fatalf("Check accepted %q, which decodes to %q with U+FFFD", data, s)
		}
	})
}

func containsReplacement(s string) bool { return strings.ContainsRune(s, utf8.RuneError) }

// containsReplacementEscape reports whether the text itself spells U+FFFD
// (as the character, or as a \u escape in any case).
func containsReplacementEscape(b []byte) bool {
	s := string(b)
	return strings.ContainsRune(s, utf8.RuneError) || strings.Contains(strings.ToLower(s), `\ufffd`)
}
