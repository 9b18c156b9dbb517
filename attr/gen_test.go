package attr_test

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/sealstore/sealstore/attr"
)

// unhex decodes hex written with optional spaces, for readable vectors.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// nestL wraps leaf in n lists; a nil leaf makes the innermost list empty.
func nestL(n int, leaf attr.Value) attr.Value {
	v := attr.L{}
	if leaf != nil {
		v = attr.L{leaf}
	}
	for range n - 1 {
		v = attr.L{v}
	}
	return v
}

// nestM is nestL with single-member maps.
func nestM(n int, leaf attr.Value) attr.Value {
	v := attr.M{}
	if leaf != nil {
		v = attr.M{"k": leaf}
	}
	for range n - 1 {
		v = attr.M{"k": v}
	}
	return v
}

// sampleStrings mixes ASCII, BMP characters above the surrogates and
// characters outside the BMP, whose UTF-8 and UTF-16 orders differ.
var sampleStrings = []string{
	"", "a", "ab", "b", "A", "é", "\uFF61", "\U0001F600", "\U00010002",
	"\uFE4C", "\uD000", "a\U0001F600", "a\uFF61", "日本", "\u2028", "<&>", `"\`,
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return strconv.Itoa(r.IntN(1000))
	}
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(sampleStrings[r.IntN(len(sampleStrings))])
	}
	return b.String()
}

// validNumber returns a random number string that NormalizeNumber accepts.
func validNumber(r *rand.Rand) string {
	for {
		s := randomNumber(r)
		if _, err := attr.NormalizeNumber(s); err == nil {
			return s
		}
	}
}

func randomBytes(r *rand.Rand) []byte {
	b := make([]byte, r.IntN(6))
	for i := range b {
		b[i] = byte(r.IntN(4) * 85)
	}
	return b
}

// randomValue returns a random valid value; containers appear only while
// depth is below maxDepth.
func randomValue(r *rand.Rand, depth, maxDepth int) attr.Value {
	kinds := 7
	if depth < maxDepth {
		kinds = 10
	}
	switch r.IntN(kinds) {
	case 0:
		return attr.S(randomString(r))
	case 1:
		return attr.N(validNumber(r))
	case 2:
		return attr.B(randomBytes(r))
	case 3:
		return attr.Bool(r.IntN(2) == 0)
	case 4:
		return attr.Null{}
	case 5:
		return randomStringSet(r)
	case 6:
		return randomBinarySet(r)
	case 7:
		return randomList(r, depth, maxDepth)
	default:
		return randomMap(r, depth, maxDepth)
	}
}

func randomStringSet(r *rand.Rand) attr.Value {
	numbers := r.IntN(2) == 0
	seen := map[string]bool{}
	var out []string
	for range r.IntN(5) {
		s, key := randomString(r), ""
		if numbers {
			s = validNumber(r)
		}
		key = s
		if numbers {
			key, _ = attr.NormalizeNumber(s)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, s)
		}
	}
	if numbers {
		return attr.NS(out)
	}
	return attr.SS(out)
}

func randomBinarySet(r *rand.Rand) attr.Value {
	seen := map[string]bool{}
	var out attr.BS
	for range r.IntN(5) {
		b := randomBytes(r)
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, b)
		}
	}
	return out
}

func randomList(r *rand.Rand, depth, maxDepth int) attr.Value {
	l := attr.L{}
	for range r.IntN(4) {
		l = append(l, randomValue(r, depth+1, maxDepth))
	}
	return l
}

func randomMap(r *rand.Rand, depth, maxDepth int) attr.Value {
	m := attr.M{}
	for range r.IntN(4) {
		k := randomString(r)
		if k == "" {
			k = "empty"
		}
		m[k] = randomValue(r, depth+1, maxDepth)
	}
	return m
}

// randomValues returns n random values whose numbers are all in range.
func randomValues(t testing.TB, seed uint64, n, maxDepth int) []attr.Value {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var out []attr.Value
	for len(out) < n {
		v := randomValue(r, 0, maxDepth)
		if _, err := attr.MarshalTyped(v); err == nil {
			out = append(out, v)
		}
	}
	return out
}
