package beacon

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"testing"
)

// dafnyBeaconKey is the literal beacon key of the DB-ESDK Dafny tests
// (GetLiteralSource([1,2,3,4,5], ...) in test/BeaconTestFixtures.dfy). It is
// shorter than KeySize, so the tests derive from it with deriveHMACKey.
var dafnyBeaconKey = []byte{1, 2, 3, 4, 5}

// dafnyStandard builds a Standard from dafnyBeaconKey, bypassing NewKey's
// length check.
func dafnyStandard(t testing.TB, name string, length int) Standard {
	t.Helper()
	mac, err := newMACFunc(dafnyBeaconKey, name)
	if err != nil {
		t.Fatal(err)
	}
	return Standard{name: name, length: length, partitions: 1, mac: mac}
}

// Known answers from aws/aws-database-encryption-sdk-dynamodb,
// DynamoDbEncryption/dafny/DynamoDbEncryption/test/ (Beacon.dfy at
// 8ca288345fe7371711c1c51e1d064538686e25f1, BeaconTestFixtures.dfy at
// 4066103e7898978ae149237a54010d1ec300427c). Every one uses beacon key
// 01 02 03 04 05; the value is the serialized attribute (UTF-8 here).
var knownAnswers = []struct {
	source      string
	name        string
	length      int
	value, want string
}{
	// TestOneBeaconValue, constants std2_beacon ... EmptyTitle_beacon.
	{"TestOneBeaconValue std2_beacon", "std2", 24, "1.23", "ac6f5d"},
	{"TestOneBeaconValue Name_beacon", "Name", 32, "MyName", "7d9bfa40"},
	{"TestOneBeaconValue Title_beacon", "Title", 32, "MyTitle", "e4feb833"},
	{"TestOneBeaconValue std4_beacon", "std4", 24, "abc", "0e9064"},
	{"TestOneBeaconValue std6_beacon", "std6", 26, "666", "2d99222"},
	{"TestOneBeaconValue NameTitle_beacon", "NameTitleField", 28, "MyName__mytitle", "4c577d7"},
	{"TestOneBeaconValue EmptyName_beacon", "Name", 32, "", "e0e88994"},
	{"TestOneBeaconValue EmptyTitle_beacon", "Title", 32, "", "af34f26f"},
	// TestPartOnlyNotStored.
	{"TestPartOnlyNotStored std2", "std2", 24, "abc", "51e1da"},
	{"TestPartOnlyNotStored partOnly", "partOnly", 23, "def", "405a51"},
	// TestShareSameBeacon (Shared beacons hash with the other's key).
	{"TestShareSameBeacon partOnly", "partOnly", 24, "abc", "928d9b"},
	{"TestShareSameBeacon query foo", "std2", 24, "foo", "4379a7"},
	// TestBeaconSetQuery (each set element hashed alone).
	{"TestBeaconSetQuery abc", "setAttr", 24, "abc", "43c4d8"},
	{"TestBeaconSetQuery def", "setAttr", 24, "def", "2f3278"},
	{"TestBeaconSetQuery ghi", "setAttr", 24, "ghi", "f1972e"},
	// TestSetNotSet.
	{"TestSetNotSet def", "partOnly", 24, "def", "405a51"},
	{"TestSetNotSet ghi", "partOnly", 24, "ghi", "9c6c2e"},
	// TestSharedSet (SharedSet to std2).
	{"TestSharedSet def", "std2", 24, "def", "39ef85"},
	{"TestSharedSet ghi", "std2", 24, "ghi", "3ff06a"},
}

func TestKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range knownAnswers {
		t.Run(tc.source, func(t *testing.T) {
			t.Parallel()
			got, err := dafnyStandard(t, tc.name, tc.length).Hash([]byte(tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s(%q) at %d bits = %q, want %q", tc.name, tc.value, tc.length, got, tc.want)
			}
		})
	}
}

// TestBasicHash replays TestBeacon in Beacon.dfy, which calls basicHash
// directly with the HMAC key 01 02, and checks rendering at other lengths
// against the 8 bytes that test asserts.
func TestBasicHash(t *testing.T) {
	t.Parallel()
	key := func() hash.Hash { return hmac.New(sha512.New384, []byte{1, 2}) }
	if got, want := macPrefix(key, []byte{1, 2, 3}, nil), uint64(0x2793938b26e9527e); got != want {
		t.Fatalf("HMAC prefix = %x, want %x", got, want)
	}
	if got := macPrefix(key, nil, nil) & 0xff; got != 0x80 {
		t.Errorf("last byte for empty input = %x, want 80", got)
	}
	if got := macPrefix(key, []byte("123"), nil) & 0xff; got != 0x61 {
		t.Errorf("last byte for \"123\" = %x, want 61", got)
	}
	for _, tc := range []struct {
		value  []byte
		length int
		want   string
	}{
		{[]byte{1, 2, 3}, 8, "7e"}, // Beacon.dfy TestBeacon
		{nil, 8, "80"},             // Beacon.dfy TestBeacon
		{[]byte{1, 2, 3}, 1, "0"},
		{[]byte{1, 2, 3}, 2, "2"},
		{[]byte{1, 2, 3}, 4, "e"},
		{[]byte{1, 2, 3}, 12, "27e"},
		{[]byte{1, 2, 3}, 13, "127e"},
		{[]byte{1, 2, 3}, 63, "2793938b26e9527e"},
	} {
		if got := basicHash(key, tc.length, tc.value, nil); got != tc.want {
			t.Errorf("basicHash(%x, %d) = %q, want %q", tc.value, tc.length, got, tc.want)
		}
	}
}

// TestTruncation checks every length: the exact digit count, a value below
// 2^length, and the low bits of the 63-bit beacon (the HMAC key does not
// depend on the length).
func TestTruncation(t *testing.T) {
	t.Parallel()
	values := [][]byte{nil, {0}, []byte("abc"), bytes.Repeat([]byte{0xff}, 300)}
	for _, v := range values {
		full, err := dafnyStandard(t, "trunc", MaxLength).Hash(v)
		if err != nil {
			t.Fatal(err)
		}
		full63, _ := strconv.ParseUint(full, 16, 64)
		for length := MinLength; length <= MaxLength; length++ {
			got, err := dafnyStandard(t, "trunc", length).Hash(v)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != (length+3)/4 {
				t.Errorf("length %d: %q has %d digits", length, got, len(got))
			}
			n, err := strconv.ParseUint(got, 16, 64)
			if err != nil || got != fmt.Sprintf("%0*x", len(got), n) {
				t.Fatalf("length %d: %q is not lowercase hex", length, got)
			}
			if n >= 1<<length {
				t.Errorf("length %d: %q is not below 2^%d", length, got, length)
			}
			if want := full63 & (1<<length - 1); n != want {
				t.Errorf("length %d: %x, want low bits %x", length, n, want)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	k1 := mustKey(t, 7)
	k2 := mustKey(t, 7)
	a := mustStandard(t, k1, "email", 16)
	b := mustStandard(t, k2, "email", 16)
	for _, v := range []string{"", "x", "alice@example.com"} {
		ha, _ := a.Hash([]byte(v))
		hb, _ := b.Hash([]byte(v))
		ha2, _ := a.Hash([]byte(v))
		if ha != hb || ha != ha2 {
			t.Errorf("%q: %q %q %q differ", v, ha, hb, ha2)
		}
	}
	other := mustStandard(t, k1, "email2", 63)
	same := mustStandard(t, k1, "email", 63)
	ho, _ := other.Hash([]byte("x"))
	hs, _ := same.Hash([]byte("x"))
	if ho == hs {
		t.Error("beacon name does not change the HMAC key")
	}
	hk, _ := mustStandard(t, mustKey(t, 8), "email", 63).Hash([]byte("x"))
	if hk == hs {
		t.Error("beacon key does not change the beacon")
	}
}

// TestPartitions follows beacons.md "Partition Beacon Encoding" and
// "Beacon Constraint": partition X of a beacon with N partitions hashes
// value||byte(X%N), or value alone when X%N is 0. No published vector has a
// nonzero partition; BeaconPartition.dfy TestBeaconPartitionEncoding only
// asserts that partition 0 matches the unpartitioned beacon and partition 1
// differs, which the first cases check.
func TestPartitions(t *testing.T) {
	t.Parallel()
	s := dafnyStandard(t, "Name", 32)
	s5, err := s.WithPartitions(5)
	if err != nil {
		t.Fatal(err)
	}
	v := []byte("MyName")
	plain, _ := s.Hash(v)
	for _, tc := range []struct {
		s         Standard
		partition int
		input     []byte
	}{
		{s5, 0, v},
		{s5, 1, append([]byte("MyName"), 1)},
		{s5, 4, append([]byte("MyName"), 4)},
		{s5, 5, v},
		{s5, 7, append([]byte("MyName"), 2)},
		{s5, 254, append([]byte("MyName"), 4)},
		{s, 3, v},
	} {
		got, err := tc.s.HashPartition(v, tc.partition)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := s.Hash(tc.input)
		if got != want {
			t.Errorf("%d partitions, partition %d: %q, want %q", tc.s.Partitions(), tc.partition, got, want)
		}
	}
	if p0, _ := s5.HashPartition(v, 0); p0 != plain || plain != "7d9bfa40" {
		t.Errorf("partition 0 = %q, unpartitioned %q, want 7d9bfa40", p0, plain)
	}
	if p1, _ := s5.HashPartition(v, 1); p1 == plain {
		t.Error("partition 1 equals partition 0")
	}
	if s.Partitions() != 1 || s5.Partitions() != 5 {
		t.Error("WithPartitions changed the original or did not set the copy")
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	k := mustKey(t, 1)
	s := mustStandard(t, k, "ok", 8)
	longName := string(bytes.Repeat([]byte("n"), maxAttributeName-len(AttributePrefix)+1))
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"key 0 bytes", second(NewKey(nil))},
		{"key 5 bytes", second(NewKey(dafnyBeaconKey))},
		{"key 31 bytes", second(NewKey(make([]byte, 31)))},
		{"key 33 bytes", second(NewKey(make([]byte, 33)))},
		{"zero Key", second(Key{}.Standard("a", 8))},
		{"empty name", second(k.Standard("", 8))},
		{"invalid UTF-8 name", second(k.Standard("a\xff", 8))},
		{"name too long", second(k.Standard(longName, 8))},
		{"length 0", second(k.Standard("a", 0))},
		{"length -1", second(k.Standard("a", -1))},
		{"length 64", second(k.Standard("a", 64))},
		{"0 partitions", second(s.WithPartitions(0))},
		{"256 partitions", second(s.WithPartitions(256))},
		{"partition -1", second(s.HashPartition(nil, -1))},
		{"partition 255", second(s.HashPartition(nil, 255))},
		{"zero Standard", second(Standard{}.Hash(nil))},
	} {
		if !errors.Is(tc.err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, tc.err)
		}
	}
	okName := longName[1:]
	if _, err := k.Standard(okName, 8); err != nil {
		t.Errorf("longest name: %v", err)
	}
	if _, err := s.WithPartitions(MaxPartitions); err != nil {
		t.Errorf("%d partitions: %v", MaxPartitions, err)
	}
	if _, err := s.HashPartition(nil, MaxPartitions-1); err != nil {
		t.Errorf("partition %d: %v", MaxPartitions-1, err)
	}
}

func TestAttributeName(t *testing.T) {
	t.Parallel()
	if got := AttributeName("Name"); got != "aws_dbe_b_Name" {
		t.Errorf("AttributeName = %q", got)
	}
	s := mustStandard(t, mustKey(t, 1), "std2", 24)
	if s.AttributeName() != "aws_dbe_b_std2" || s.Name() != "std2" || s.Length() != 24 {
		t.Errorf("accessors: %q %q %d", s.AttributeName(), s.Name(), s.Length())
	}
}

func mustKey(t testing.TB, fill byte) Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustStandard(t testing.TB, k Key, name string, length int) Standard {
	t.Helper()
	s, err := k.Standard(name, length)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func second[T any](_ T, err error) error { return err }

func BenchmarkHash(b *testing.B) {
	s := mustStandard(b, mustKey(b, 1), "email", 24)
	v := []byte("alice@example.com")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Hash(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStandard(b *testing.B) {
	k := mustKey(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Standard("email", 24); err != nil {
			b.Fatal(err)
		}
	}
}
