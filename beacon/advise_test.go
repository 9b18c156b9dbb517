package beacon

import (
	"math"
	"testing"
)

func TestAdviseLength(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		distinct, min, max int
	}{
		{-1, 0, 0},
		{0, 0, 0},
		{1, 0, 0},
		{2, 0, 0},
		{8, 0, 0},
		{9, 2, 2},  // 4 > 3 and 4 < 4.5
		{15, 2, 2}, // 4 > 3.87 and 4 < 7.5
		{16, 0, 0}, // 4 > 4 fails and 8 < 8 fails: no length at all
		{17, 3, 3}, // 8 > 4.12 and 8 < 8.5
		{100000, 9, 15},
		{1 << 20, 11, 18},
		{math.MaxInt, 32, 61},
	} {
		gotMin, gotMax := AdviseLength(tc.distinct)
		if gotMin != tc.min || gotMax != tc.max {
			t.Errorf("AdviseLength(%d) = %d, %d, want %d, %d", tc.distinct, gotMin, gotMax, tc.min, tc.max)
		}
	}
}

// TestAdviseLengthBounds checks the definition against floating point for
// every X up to 1<<16.
func TestAdviseLengthBounds(t *testing.T) {
	t.Parallel()
	for x := 1; x <= 1<<16; x++ {
		lo, hi := AdviseLength(x)
		for n := MinLength; n <= MaxLength; n++ {
			p := math.Exp2(float64(n))
			ok := p > math.Sqrt(float64(x)) && p < float64(x)/2
			if in := lo != 0 && n >= lo && n <= hi; in != ok {
				t.Fatalf("X=%d N=%d: advised %v, definition %v (range %d..%d)", x, n, in, ok, lo, hi)
			}
		}
	}
}
