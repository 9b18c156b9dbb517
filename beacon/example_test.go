package beacon_test

import (
	"bytes"
	"fmt"

	"github.com/sealstore/sealstore/beacon"
)

func Example() {
	// In production the 32 bytes come from the branch key store's
	// GetBeaconKey; this key is for illustration only.
	key, err := beacon.NewKey(bytes.Repeat([]byte{0x42}, beacon.KeySize))
	if err != nil {
		panic(err)
	}
	minLen, maxLen := beacon.AdviseLength(100000) // 5-digit zip codes
	zip, err := key.Standard("zip", minLen)
	if err != nil {
		panic(err)
	}
	// The beacon input is the serialized attribute value: for an S value,
	// its UTF-8 bytes.
	b, err := zip.Hash([]byte("98109"))
	if err != nil {
		panic(err)
	}
	fmt.Println(minLen, maxLen)
	fmt.Println(zip.AttributeName(), b)
	fmt.Println(zip)
	// Output:
	// 9 15
	// aws_dbe_b_zip 1d9
	// beacon.Standard{name: "zip", length: 9, partitions: 1, key: [redacted]}
}
