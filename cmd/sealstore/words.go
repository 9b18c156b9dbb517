package main

import (
	"fmt"
	"strings"
)

// plural is a count and its noun, singular for 1: "1 entry", "2 entries",
// "1 pass", "2 passes", "0 chains", "1 KMS Decrypt".
func plural[N ~int | ~int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	switch {
	case strings.HasSuffix(noun, "y") && !strings.ContainsAny(noun[max(len(noun)-2, 0):len(noun)-1], "aeiou"):
		noun = strings.TrimSuffix(noun, "y") + "ies"
	case strings.HasSuffix(noun, "s"):
		noun += "es"
	default:
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}

// agree is one if n is 1, else many: the verb (or pronoun) that agrees
// with a count ("1 record remains", "2 records remain").
func agree[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
