package attr_test

import (
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"+0", "0"},
		{"0.000", "0"},
		{"-0.000e5", "0"},
		{"000", "0"},
		{"00.0011", "0.0011"},
		{"0000", "0"},
		{"2000.000", "2000"},
		{"10.01", "10.01"},
		{"1E5", "100000"},
		{"1e5", "100000"},
		{"1E+2", "100"},
		{"1e0", "1"},
		{"1e-0", "1"},
		{"1e0000000000000000000000005", "100000"},
		{"1.5e-3", "0.0015"},
		{"-007.10", "-7.1"},
		{"0800.000e0", "800"},
		{"+5", "5"},
		{".5", "0.5"},
		{"-.5", "-0.5"},
		{"5.", "5"},
		{"1.e2", "100"},
		{"123.456", "123.456"},
		{"-123.456e2", "-12345.6"},
		{"123.456e-5", "0.00123456"},
		{"100e-2", "1"},
		{"12345e-2", "123.45"},
		{"0.00012300", "0.000123"},
		{"1e-130", "0." + strings.Repeat("0", 129) + "1"},
		{"-1E-130", "-0." + strings.Repeat("0", 129) + "1"},
		{"0.1e-129", "0." + strings.Repeat("0", 129) + "1"},
		{"1e125", "1" + strings.Repeat("0", 125)},
		{"9.9999999999999999999999999999999999999E+125", strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{"-9.9999999999999999999999999999999999999E+125", "-" + strings.Repeat("9", 38) + strings.Repeat("0", 88)},
		{"12345678901234567890123456789012345678", "12345678901234567890123456789012345678"},
		{"1234567890123456789012345678901234567800000", "1234567890123456789012345678901234567800000"},
		{"0.000000000012345678901234567890123456789012345678", "0.000000000012345678901234567890123456789012345678"},
		{"0e999999999", "0"},
		{"0.0e-99999999999999999999999999", "0"},
		{strings.Repeat("0", 10000) + "1", "1"},
		{"1" + strings.Repeat("0", 125), "1" + strings.Repeat("0", 125)},
	}
	for _, tt := range tests {
		got, err := attr.NormalizeNumber(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeNumber(%.40q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeNumberRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, problem string }{
		{"", "is empty"},
		{" 1", "not a decimal number"},
		{"1 ", "invalid character"},
		{"1\n", "invalid character"},
		{"0x10", "invalid character"},
		{"NaN", "not a decimal number"},
		{"Infinity", "not a decimal number"},
		{"-Infinity", "not a decimal number"},
		{"inf", "not a decimal number"},
		{"1e", "invalid exponent"},
		{"1e+", "invalid exponent"},
		{"1e-", "invalid exponent"},
		{"1e+-5", "invalid exponent"},
		{"1e5.5", "invalid exponent"},
		{"1e5e5", "invalid exponent"},
		{"1e 5", "invalid exponent"},
		{"e5", "not a decimal number"},
		{".", "not a decimal number"},
		{".e5", "not a decimal number"},
		{"-", "not a decimal number"},
		{"+", "not a decimal number"},
		{"--1", "not a decimal number"},
		{"+-1", "not a decimal number"},
		{"1.2.3", "invalid character"},
		{"1,000", "invalid character"},
		{"1_000", "invalid character"},
		{"١", "not a decimal number"},
		{"1\x00", "invalid character"},
		{"1e999", "out of DynamoDB's range"},
		{"1e126", "out of DynamoDB's range"},
		{"10e125", "out of DynamoDB's range"},
		{"-1e126", "out of DynamoDB's range"},
		{"1e-131", "out of DynamoDB's range"},
		{"0.1e-130", "out of DynamoDB's range"},
		{"-1e-131", "out of DynamoDB's range"},
		{"1e99999999999999999999999999", "out of DynamoDB's range"},
		{"1e-99999999999999999999999999", "out of DynamoDB's range"},
		{"1e999999999", "out of DynamoDB's range"},
		{"123456789012345678901234567890123456789", "more than 38 significant digits"},
		{"1.00000000000000000000000000000000000001", "more than 38 significant digits"},
		{"-0.100000000000000000000000000000000000001e5", "more than 38 significant digits"},
	}
	for _, tt := range tests {
		got, err := attr.NormalizeNumber(tt.in)
		if err == nil {
			t.Errorf("NormalizeNumber(%q) = %q, want error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("NormalizeNumber(%q) error %q does not say %q", tt.in, err, tt.problem)
		}
	}
}

func TestNormalizeNumberErrorText(t *testing.T) {
	t.Parallel()
	_, err := attr.NormalizeNumber("1e999")
	if want := `attr: number (5 bytes) is out of DynamoDB's range`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	// A number may be a secret: errors never quote it.
	_, err = attr.NormalizeNumber("4111111111111111x")
	if err == nil || strings.Contains(err.Error(), "4111") {
		t.Errorf("error %v quotes the number", err)
	}
	long := strings.Repeat("7", 100000)
	_, err = attr.NormalizeNumber(long)
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a 100000-digit number is %d bytes, want a short message", len(err.Error()))
	}
}

var canonicalNumber = regexp.MustCompile(`^(0|-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?))$`)

// TestNormalizeNumberValue checks random well-formed inputs against
// math/big: the output has the same value and is in canonical form.
func TestNormalizeNumberValue(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		in := randomNumber(r)
		got, err := attr.NormalizeNumber(in)
		if err != nil {
			checkRejection(t, in, err)
			continue
		}
		if !canonicalNumber.MatchString(got) {
			t.Fatalf("NormalizeNumber(%q) = %q, not canonical", in, got)
		}
		a, _ := new(big.Rat).SetString(in)
		b, _ := new(big.Rat).SetString(got)
		if a == nil || b == nil || a.Cmp(b) != 0 {
			t.Fatalf("NormalizeNumber(%q) = %q, a different value", in, got)
		}
	}
}

// checkRejection confirms with math/big that a rejected random number does
// break DynamoDB's limits.
func checkRejection(t *testing.T, in string, err error) {
	t.Helper()
	v, ok := new(big.Rat).SetString(in)
	if !ok {
		t.Fatalf("test generated an invalid number %q", in)
	}
	f := new(big.Float).SetPrec(512).SetRat(v.Abs(v))
	lo, _ := new(big.Float).SetPrec(512).SetString("1e-130")
	hi, _ := new(big.Float).SetPrec(512).SetString("1e126")
	if f.Cmp(lo) >= 0 && f.Cmp(hi) < 0 && significantDigits(in) <= 38 {
		t.Fatalf("NormalizeNumber(%q) rejected a valid number: %v", in, err)
	}
}

// significantDigits counts the digits of in's mantissa between its first
// and last nonzero digit.
func significantDigits(in string) int {
	mantissa, _, _ := strings.Cut(strings.ToLower(in), "e")
	digits := strings.Trim(mantissa, "+-")
	digits = strings.Replace(digits, ".", "", 1)
	return len(strings.Trim(digits, "0"))
}

// randomNumber returns a well-formed number string with random zeros,
// sign, fraction and exponent, mostly within DynamoDB's range.
func randomNumber(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString([]string{"", "-", "+"}[r.IntN(3)])
	b.WriteString(strings.Repeat("0", r.IntN(3)))
	b.WriteString(randomDigits(r, r.IntN(25)))
	if r.IntN(2) == 0 || b.Len() == 0 || strings.Trim(b.String(), "+-") == "" {
		b.WriteByte('.')
		b.WriteString(randomDigits(r, 1+r.IntN(25)))
	}
	if r.IntN(2) == 0 {
		b.WriteString([]string{"e", "E", "e+", "e-"}[r.IntN(4)])
		b.WriteString(strconv.Itoa(r.IntN(140)))
	}
	return b.String()
}

func randomDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
		if r.IntN(4) == 0 {
			b[i] = '0'
		}
	}
	return string(b)
}
