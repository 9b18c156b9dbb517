package attr

import (
	"fmt"
	"strings"
)

// DynamoDB's number limits: at most 38 significant digits, and a nonzero
// magnitude from 1E-130 up to 9.9999999999999999999999999999999999999E+125.
// The limits below are on the decimal exponent of the leading digit.
const (
	maxDigits   = 38
	minLeadExp  = -130
	maxLeadExp  = 125
	maxQuoteLen = 64
	// expClamp bounds a parsed exponent. Any nonzero value whose exponent
	// is this large is out of range whatever its digits, so clamping
	// cannot change an answer, and it keeps the arithmetic far from
	// overflow.
	expClamp = 1 << 40
)

// decimal is a parsed number: 0.digits × 10^point, where digits has no
// leading or trailing zeros (empty for zero).
type decimal struct {
	neg    bool
	digits string
	point  int64
}

// NormalizeNumber returns the canonical form of a DynamoDB number string, as
// DynamoDB and the DB-ESDK produce it: plain decimal notation without an
// exponent, no leading zeros in the integer part, no trailing zeros in the
// fraction, no '.' when the fraction is empty, no '+' sign, and "0" for
// every zero.
//
// The input is an optional sign ('+' or '-'), digits with an optional
// fraction (at least one digit in all), and an optional exponent (e or E,
// an optional sign, at least one digit). It must have at most 38
// significant digits and, unless zero, a magnitude from 1E-130 to
// 9.9999999999999999999999999999999999999E+125. Errors never quote the
// input: a number may be a secret (a card number, a salary).
func NormalizeNumber(s string) (string, error) {
	d, problem := parseDecimal(s)
	if problem == "" {
		problem = d.check()
	}
	if problem != "" {
		return "", fmt.Errorf("attr: number (%d bytes) %s", len(s), problem)
	}
	return d.String(), nil
}

// quoteShort quotes s for an error message, shortened if it is long.
func quoteShort(s string) string {
	if len(s) > maxQuoteLen {
		return fmt.Sprintf("%q… (%d bytes)", s[:maxQuoteLen], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// parseDecimal parses s, or returns a description of what is wrong with it.
func parseDecimal(s string) (decimal, string) {
	var d decimal
	if s == "" {
		return d, "is empty"
	}
	s, d.neg = cutSign(s)
	intPart, rest := cutDigits(s)
	var frac string
	if strings.HasPrefix(rest, ".") {
		frac, rest = cutDigits(rest[1:])
	}
	if intPart == "" && frac == "" {
		return d, "is not a decimal number"
	}
	exp, problem := parseExponent(rest)
	if problem != "" {
		return d, problem
	}
	d.setDigits(intPart, frac, exp)
	return d, ""
}

// setDigits stores intPart.frac × 10^exp with the zeros trimmed.
func (d *decimal) setDigits(intPart, frac string, exp int64) {
	all := intPart + frac
	trimmed := strings.TrimLeft(all, "0")
	d.point = int64(len(intPart)) - int64(len(all)-len(trimmed)) + exp
	d.digits = strings.TrimRight(trimmed, "0")
	if d.digits == "" {
		d.neg, d.point = false, 0
	}
}

// cutSign removes one leading '+' or '-'.
func cutSign(s string) (rest string, neg bool) {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return s[1:], s[0] == '-'
	}
	return s, false
}

// cutDigits splits s after its leading ASCII digits.
func cutDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseExponent parses what follows the digits: nothing, or an exponent.
func parseExponent(s string) (int64, string) {
	if s == "" {
		return 0, ""
	}
	if s[0] != 'e' && s[0] != 'E' {
		return 0, "has an invalid character"
	}
	body, neg := cutSign(s[1:])
	digits, rest := cutDigits(body)
	if digits == "" || rest != "" {
		return 0, "has an invalid exponent"
	}
	var exp int64
	for _, c := range []byte(strings.TrimLeft(digits, "0")) {
		exp = min(exp*10+int64(c-'0'), expClamp)
	}
	if neg {
		exp = -exp
	}
	return exp, ""
}

// check applies DynamoDB's precision and range limits.
func (d decimal) check() string {
	if d.digits == "" {
		return ""
	}
	if len(d.digits) > maxDigits {
		return "has more than 38 significant digits"
	}
	if lead := d.point - 1; lead < minLeadExp || lead > maxLeadExp {
		return "is out of DynamoDB's range"
	}
	return ""
}

// String formats a checked decimal in plain notation.
func (d decimal) String() string {
	if d.digits == "" {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	n, p := int64(len(d.digits)), d.point
	switch {
	case p <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", int(-p)))
		b.WriteString(d.digits)
	case p >= n:
		b.WriteString(d.digits)
		b.WriteString(strings.Repeat("0", int(p-n)))
	default:
		b.WriteString(d.digits[:p])
		b.WriteByte('.')
		b.WriteString(d.digits[p:])
	}
	return b.String()
}
