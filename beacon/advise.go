package beacon

// AdviseLength returns the range of beacon lengths N, in bits, that
// beacons.md recommends for a field with distinct distinct values: 2^N
// greater than sqrt(distinct), so a query does not fetch most of the
// table, and 2^N less than distinct/2, so that every beacon value is shared
// by about two or more plaintexts. Both bounds are strict and exact
// (integer arithmetic), and both are inclusive in the result.
//
// For 100,000 distinct values (a 5-digit zip code) it returns 9 and 15;
// the prose of beacons.md says 9 to 16, but 2^16 = 65,536 is not below
// 50,000, so 16 breaks its own rule.
//
// When no length meets both bounds AdviseLength returns 0, 0. That is the
// case below 9 distinct values (including distinct <= 0), where the
// specification's advice is not to beacon the field alone but to combine it
// with others in a virtual field, and also at exactly 16 (2^2 = 4 is not
// above 4, and 2^3 = 8 is not below 8). From 9 to 15 the range is 2..2 and
// from 17 on it is never empty. The result never exceeds MaxLength.
func AdviseLength(distinct int) (minLen, maxLen int) {
	x := uint64(max(distinct, 0))
	for n := MinLength; n <= MaxLength; n++ {
		if minLen == 0 && aboveRoot(n, x) {
			minLen = n
		}
		if belowHalf(n, x) {
			maxLen = n
		}
	}
	if minLen == 0 || maxLen < minLen {
		return 0, 0
	}
	return minLen, maxLen
}

// aboveRoot reports 2^n > sqrt(x), that is 2^(2n) > x.
func aboveRoot(n int, x uint64) bool {
	return 2*n >= 64 || uint64(1)<<(2*n) > x
}

// belowHalf reports 2^n < x/2, that is 2^(n+1) < x.
func belowHalf(n int, x uint64) bool {
	return n+1 < 64 && uint64(1)<<(n+1) < x
}
