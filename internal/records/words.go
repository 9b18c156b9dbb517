package records

import "fmt"

// counted is n followed by one if n is 1, else by many: counted(1,
// "record is", "records are") is "1 record is". Messages say "1 record",
// never "1 records".
func counted[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// agree is one if n is 1, else many: a pronoun that agrees with a count.
func agree[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
