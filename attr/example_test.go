package attr_test

import (
	"fmt"
	"log"

	"github.com/sealstore/sealstore/attr"
)

func ExampleMarshalTyped() {
	v := attr.M{
		"name": attr.S("Ada"),
		"age":  attr.N("036.0"),
	}
	b, err := attr.MarshalTyped(v)
	if err != nil {
		log.Fatal(err)
	}
	// Type id 0x0200 (map), 2 entries, sorted by key; each key is typed S,
	// each value has its type id and length; the number is normalized.
	fmt.Printf("% x\n", b)
	// Output:
	// 02 00 00 00 00 02 00 01 00 00 00 03 61 67 65 00 02 00 00 00 02 33 36 00 01 00 00 00 04 6e 61 6d 65 00 01 00 00 00 03 41 64 61
}

func ExampleNormalizeNumber() {
	for _, s := range []string{"-007.10", "1.5e-3", "1E5", "-0", "1e999"} {
		n, err := attr.NormalizeNumber(s)
		fmt.Println(n, err)
	}
	// Output:
	// -7.1 <nil>
	// 0.0015 <nil>
	// 100000 <nil>
	// 0 <nil>
	//  attr: number (5 bytes) is out of DynamoDB's range
}

func ExampleParseItemJSON() {
	it, err := attr.ParseItemJSON([]byte(`{"id": 7, "tags": {"SS": ["b", "a"]}}`), true)
	if err != nil {
		log.Fatal(err)
	}
	out, err := attr.MarshalItemJSON(it)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"id":{"N":"7"},"tags":{"SS":["b","a"]}}
}
