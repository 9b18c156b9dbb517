// Package jsoncheck finds what Go's JSON decoder would silently change in
// a JSON text: bytes that are not UTF-8, and \u escapes of UTF-16
// surrogates that pair with no other. encoding/json replaces each with
// U+FFFD, so "a\ud800" and "a\udbff" would name the same record, and a
// secret would be stored other than it was sent. Callers refuse such
// texts instead.
package jsoncheck

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// The problems Check finds.
var (
	ErrNotUTF8       = errors.New("is not valid UTF-8")
	ErrLoneSurrogate = errors.New(`holds a \u escape of an unpaired UTF-16 surrogate`)
)

// Error is a problem at a byte offset of the text.
type Error struct {
	Offset int
	Err    error // ErrNotUTF8 or ErrLoneSurrogate
}

// Error says what is wrong and where, to follow a subject: "the body " +
// err.Error().
func (e *Error) Error() string { return fmt.Sprintf("%v (at byte %d)", e.Err, e.Offset) }

// Unwrap returns ErrNotUTF8 or ErrLoneSurrogate.
func (e *Error) Unwrap() error { return e.Err }

// Check returns an *Error if data is not UTF-8 or holds a \u escape of a
// surrogate that is not a high one followed at once by the escape of a
// low one. It does not check that data is JSON otherwise: that is the
// decoder's job.
func Check(data []byte) error {
	if !utf8.Valid(data) {
		return &Error{Offset: firstInvalid(data), Err: ErrNotUTF8}
	}
	if !bytes.Contains(data, []byte(`\u`)) {
		return nil
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			n, bad := escape(data[i:])
			if bad {
				return &Error{Offset: i, Err: ErrLoneSurrogate}
			}
			i += n - 1
		}
	}
	return nil
}

// escape measures the escape sequence at the start of b (which starts
// with a backslash) and reports whether it is an unpaired surrogate.
func escape(b []byte) (n int, bad bool) {
	r, ok := hex4(b)
	switch {
	case !ok:
		return min(2, len(b)), false // not \uXXXX: the decoder judges it
	case utf16.IsSurrogate(r) && r < 0xdc00: // high: a low one must follow
		low, ok := hex4(b[6:])
		if !ok || low < 0xdc00 || low > 0xdfff {
			return 6, true
		}
		return 12, false
	case utf16.IsSurrogate(r): // low, alone
		return 6, true
	}
	return 6, false
}

// hex4 parses \uXXXX at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// firstInvalid is the offset of the first byte of data that starts no
// valid UTF-8 sequence.
func firstInvalid(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
