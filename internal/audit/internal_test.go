package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/secret"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
)

// staticKeys is a Keys whose audit key always exists.
type staticKeys struct{ beacon secret.Bytes }

func (staticKeys) Create(context.Context, string) (string, error) { return "", keystore.ErrExists }
func (k staticKeys) BeaconKey(context.Context, string) (secret.Bytes, error) {
	return k.beacon, nil
}

func testKeys(t testing.TB) keySet {
	t.Helper()
	ks, err := loadKeys(context.Background(), staticKeys{secret.Random(32)})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

const testChain = "20300102T030405.000000000Z-0123456789abcdef"

func TestCursorRejects(t *testing.T) {
	t.Parallel()
	enc := func(b ...byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	good := position{chain: "c", batch: 2, index: 3}.cursor()
	urlsafe := position{chain: "~~~~~~", batch: 63}.cursor()
	if !strings.ContainsAny(urlsafe, "-_") || good[len(good)-1] != 'M' {
		t.Fatalf("test cursors %q, %q not as expected", good, urlsafe)
	}
	if p, err := parseCursor(good); err != nil || p != (position{chain: "c", batch: 2, index: 3}) {
		t.Fatalf("parseCursor(%q) = %+v, %v", good, p, err)
	}
	bad := map[string]string{
		"wrong version":         enc(2, 1, 'c', 2, 3),
		"empty chain":           enc(1, 0, 2, 3),
		"chain cut short":       enc(1, 5, 'c', 2, 3),
		"non-minimal varint":    enc(1, 1, 'c', 0x82, 0x00, 3),
		"trailing bytes":        enc(1, 1, 'c', 2, 3, 0),
		"no index":              enc(1, 1, 'c', 2),
		"index too large":       position{chain: "c", index: maxCursorIdx}.cursor(),
		"chain not UTF-8":       enc(1, 1, 0xff, 2, 3),
		"chain too long":        position{chain: strings.Repeat("c", maxCursorID+1)}.cursor(),
		"padded":                good + "==",
		"standard base64":       strings.NewReplacer("-", "+", "_", "/").Replace(urlsafe),
		"non-zero padding bits": good[:len(good)-1] + "N",
	}
	for name, c := range bad {
		if c == good {
			t.Fatalf("%s: same as a good cursor", name)
		}
		if _, err := parseCursor(c); !errors.Is(err, ErrBadCursor) {
			t.Errorf("%s: parseCursor(%q) = %v, want ErrBadCursor", name, c, err)
		}
	}
}

// FuzzCursor checks that parseCursor never panics and accepts only the
// cursors position.cursor writes.
func FuzzCursor(f *testing.F) {
	f.Add("")
	f.Add(position{chain: testChain, batch: 3, index: 7}.cursor())
	f.Add(position{chain: "x", batch: math.MaxUint64, index: maxCursorIdx - 1}.cursor())
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("parseCursor(%q): %v, not ErrBadCursor", s, err)
			}
			return
		}
		if s != "" && p.cursor() != s {
			t.Fatalf("parseCursor(%q) = %+v, which prints as %q", s, p, p.cursor())
		}
	})
}

// FuzzParseBatch checks that no stored item makes parseBatch or the
// verifier panic, and that what parses is stored back unchanged.
func FuzzParseBatch(f *testing.F) {
	ks := testKeys(f)
	c := ks.newChain(time.Now())
	b := batch{chain: c.id, entries: []sealed{sealEntry(&Entry{Time: time.Now(), Action: "a"})}}
	b.entries[0].mac = ks.entryMAC(c.id, c.prev, &b.entries[0])
	b.mac = ks.batchMAC(c.id, 0, &b.entries[0])
	seed, err := attr.MarshalTyped(attr.M(b.item()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := attr.UnmarshalTyped(data)
		m, ok := v.(attr.M)
		if err != nil || !ok {
			return
		}
		b, err := parseBatch(attr.Item(m))
		if err != nil {
			return
		}
		w := chainWalk{id: b.chain, prev: ks.genesis(b.chain)}
		w.check(ks, &b)
		for i := range b.entries {
			b.entries[i].entry(b.chain)
		}
		again, err := parseBatch(b.item())
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("batch %+v stored back as %+v, %v", b, again, err)
		}
	})
}

// TestSizeBound checks the size estimates against store.ItemSize.
func TestSizeBound(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxField/2)
	entries := []Entry{
		{Action: "a"},
		{Token: long, Action: long, Collection: long, Record: long, Outcome: long},
	}
	for _, e := range entries {
		e.Time = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
		s := sealEntry(&e)
		s.seq, s.mac = math.MaxUint64, make([]byte, 32)
		one := batch{chain: testChain, n: math.MaxUint64, entries: []sealed{s}, mac: make([]byte, 32)}
		two := one
		two.entries = []sealed{s, s}
		size1, size2 := store.ItemSize(one.item()), store.ItemSize(two.item())
		if size2-size1 > s.size() {
			t.Errorf("an entry adds %d bytes, estimated %d", size2-size1, s.size())
		}
		if size1-s.size() > batchOverhead {
			t.Errorf("a batch adds %d bytes, estimated %d", size1-s.size(), batchOverhead)
		}
	}
	if batchBudget+batchOverhead+entryOverhead+5*maxField+64 > store.MaxItemSize*3/4 {
		t.Error("a full batch is not well under store.MaxItemSize")
	}
}

// TestLargeEntries stores entries too large to batch MaxBatch at a time:
// the writer cuts batches by size, and each fits in the store.
func TestLargeEntries(t *testing.T) {
	t.Parallel()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := Open(context.Background(), db, staticKeys{secret.Random(32)}, Options{MaxBatch: 100000})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	long := strings.Repeat("x", maxField)
	es := make([]Entry, 400)
	for i := range es {
		es[i] = Entry{Token: long, Action: long, Collection: long, Record: long, Outcome: long}
	}
	if err := l.AppendBatch(context.Background(), es); err != nil {
		t.Fatalf("AppendBatch: %v", err)
	}
	if l.chain.batch < 2 {
		t.Fatalf("%d entries of %d bytes in %d batch", len(es), 5*maxField, l.chain.batch)
	}
}
