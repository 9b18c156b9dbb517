package ddbenc_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/attr/ddbav"
	"github.com/sealstore/sealstore/ddbenc"
	"github.com/sealstore/sealstore/item"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/secret"
)

// The client's overhead is what it costs beyond the bare SDK call and the
// engine's work: encrypted − bare − engine, each measured in the same run
// (scripts/bench-client takes medians of paired rounds). "local" is the
// client over an API that answers at once, so local − engine is the same
// overhead without the network's noise.

// benchItem is the item engine's benchmark item (item/bench_test.go):
// about 1 KiB in 5 attributes, the key and one attribute signed, three
// encrypted; hierarchical keyring with a warm cache, suite 0x6700.
func benchItem() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"id": s("customer-000042"), "country": s("NZ"),
		"name": s(strings.Repeat("n", 300)), "email": s(strings.Repeat("e", 300)), "card": s(strings.Repeat("c", 400)),
	}
}

func benchConfig(b *testing.B) ddbenc.TableConfig {
	b.Helper()
	src := hierarchy.Static{Keys: []hierarchy.BranchKey{{ID: "bench", Version: "e9ce18a3-edb5-4272-9f86-1cacb7997ff6", Key: secret.Random(32)}}}
	kr, err := hierarchy.New("bench", src, hierarchy.NewCache(hierarchy.DefaultTTL, 16, nil))
	if err != nil {
		b.Fatal(err)
	}
	return ddbenc.TableConfig{PartitionKey: "id", Keyring: kr, Actions: map[string]item.Action{
		"id": item.SignOnly, "country": item.SignOnly, "name": item.EncryptAndSign, "email": item.EncryptAndSign, "card": item.EncryptAndSign}}
}

// benchSetup is everything one benchmark needs.
type benchSetup struct {
	table  string
	tc     ddbenc.TableConfig
	client *ddbenc.Client
	enc    *item.Encryptor
	plain  attr.Item
	stored map[string]types.AttributeValue // as the client stores benchItem
}

func newBenchSetup(b *testing.B, api ddbenc.API, table string) *benchSetup {
	b.Helper()
	tc := benchConfig(b)
	enc, err := item.New(item.Config{TableName: table, PartitionKey: tc.PartitionKey, Actions: tc.Actions, Keyring: tc.Keyring})
	if err != nil {
		b.Fatal(err)
	}
	plain, err := ddbav.FromItem(benchItem())
	if err != nil {
		b.Fatal(err)
	}
	st, err := enc.Encrypt(context.Background(), plain)
	if err != nil {
		b.Fatal(err)
	}
	stored, err := ddbav.ToItem(st)
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchSetup{table: table, tc: tc, enc: enc, plain: plain, stored: stored}
	bs.client = bs.over(b, api)
	return bs
}

// over returns a client with the setup's configuration over api.
func (bs *benchSetup) over(b *testing.B, api ddbenc.API) *ddbenc.Client {
	b.Helper()
	c, err := ddbenc.New(api, ddbenc.Config{Tables: map[string]ddbenc.TableConfig{bs.table: bs.tc}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// answering is an API that answers every PutItem at once and every
// GetItem with one stored item.
type answering struct {
	ddbenc.API
	stored map[string]types.AttributeValue
}

func (a answering) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, nil
}

func (a answering) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: a.stored}, nil
}

func BenchmarkPutItem(b *testing.B) {
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		bs := newBenchSetup(b, answering{}, "bench")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bs.enc.Encrypt(ctx, bs.plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local", func(b *testing.B) {
		bs := newBenchSetup(b, answering{}, "bench")
		benchPut(b, bs.client, bs.table, benchItem())
	})
	b.Run("bare", func(b *testing.B) {
		e := newEmulator(b)
		bs := newBenchSetup(b, e.ddb, e.createTable(b, "bench_put", "id", ""))
		benchPut(b, e.ddb, bs.table, bs.stored)
	})
	b.Run("encrypted", func(b *testing.B) {
		e := newEmulator(b)
		bs := newBenchSetup(b, e.ddb, e.createTable(b, "bench_put", "id", ""))
		benchPut(b, bs.client, bs.table, benchItem())
	})
}

type putter interface {
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

func benchPut(b *testing.B, p putter, table string, it map[string]types.AttributeValue) {
	ctx := context.Background()
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.PutItem(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetItem(b *testing.B) {
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		bs := newBenchSetup(b, answering{}, "bench")
		stored, err := ddbav.FromItem(bs.stored)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bs.enc.Decrypt(ctx, stored); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local", func(b *testing.B) {
		bs := newBenchSetup(b, answering{}, "bench")
		benchGet(b, bs.over(b, answering{stored: bs.stored}), bs.table)
	})
	b.Run("bare", func(b *testing.B) {
		e := newEmulator(b)
		bs := newBenchSetup(b, e.ddb, e.createTable(b, "bench_get", "id", ""))
		e.rawPut(b, bs.table, bs.stored)
		benchGet(b, e.ddb, bs.table)
	})
	b.Run("encrypted", func(b *testing.B) {
		e := newEmulator(b)
		bs := newBenchSetup(b, e.ddb, e.createTable(b, "bench_get", "id", ""))
		if _, err := bs.client.PutItem(ctx, putInto(bs.table, benchItem())); err != nil {
			b.Fatal(err)
		}
		benchGet(b, bs.client, bs.table)
	})
}

type getter interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

func benchGet(b *testing.B, g getter, table string) {
	ctx := context.Background()
	in := &dynamodb.GetItemInput{TableName: aws.String(table), Key: key("customer-000042")}
	b.ReportAllocs()
	for b.Loop() {
		out, err := g.GetItem(ctx, in)
		if err != nil || out.Item == nil {
			b.Fatal(err)
		}
	}
}

// The steps of a paired measurement, by index.
const (
	stepBare       = iota // the bare SDK call, with the stored item
	stepEncrypted         // the same call through the client, plaintext in or out
	stepEngine            // the engine's work alone
	stepBareEngine        // the engine's work and the bare call on its result (or the other way), conversions not timed
	stepLocal             // the client over an API that answers at once
	steps
)

// paired runs the measurements of one operation in every iteration and
// reports medians, of each and of the per-iteration overheads:
//
//	overhead-emu        encrypted − bare − engine, the definition
//	overhead-emu-joint  encrypted − (engine and bare call in one step, on
//	                    each other's data, the conversions between them
//	                    not timed): the engine's work then runs right
//	                    after a network call, on its fresh response, as
//	                    inside the client, where alone it runs faster
//	overhead-local      local − engine, with no network at all
//
// each also as a share of the engine's time. Differences within one
// iteration cancel the drift of a shared machine and of the emulator; the
// order of the steps changes every iteration, through all 120.
// A step returns the part of its time not to count (conversions in the
// joint step).
type paired [steps]func() (time.Duration, error)

func (p paired) run(b *testing.B) {
	orders := permutations(steps)
	var samples [][steps]float64
	i := 0
	for b.Loop() {
		var d [steps]float64
		for _, j := range orders[i%len(orders)] {
			start := time.Now()
			excluded, err := p[j]()
			if err != nil {
				b.Fatal(err)
			}
			d[j] = float64((time.Since(start) - excluded).Nanoseconds()) / 1000
		}
		samples = append(samples, d)
		i++
	}
	reportPaired(b, samples)
}

func reportPaired(b *testing.B, samples [][steps]float64) {
	median := func(f func(d [steps]float64) float64) float64 {
		v := make([]float64, len(samples))
		for i, d := range samples {
			v[i] = f(d)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for i, name := range []string{"bare", "encrypted", "engine", "bare+engine", "local"} {
		b.ReportMetric(median(func(d [steps]float64) float64 { return d[i] }), name+"-µs")
	}
	engine := median(func(d [steps]float64) float64 { return d[stepEngine] })
	for name, f := range map[string]func(d [steps]float64) float64{
		"overhead-emu":       func(d [steps]float64) float64 { return d[stepEncrypted] - d[stepBare] - d[stepEngine] },
		"overhead-emu-joint": func(d [steps]float64) float64 { return d[stepEncrypted] - d[stepBareEngine] },
		"overhead-local":     func(d [steps]float64) float64 { return d[stepLocal] - d[stepEngine] },
	} {
		o := median(f)
		b.ReportMetric(o, name+"-µs")
		b.ReportMetric(100*o/engine, name+"-%")
	}
}

// counted is a step whose whole time counts.
func counted(f func() error) func() (time.Duration, error) {
	return func() (time.Duration, error) { return 0, f() }
}

// permutations returns every order of 0..n-1, so that each step follows
// each other one equally often (what ran just before, a network call or
// not, changes how warm the caches are).
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for pos := 0; pos <= len(p); pos++ {
			q := append(append(append([]int{}, p[:pos]...), n-1), p[pos:]...)
			out = append(out, q)
		}
	}
	return out
}

// BenchmarkOverhead measures PutItem and GetItem in pairs (see paired).
func BenchmarkOverhead(b *testing.B) {
	b.Run("PutItem", overheadPut)
	b.Run("GetItem", overheadGet)
}

func overheadPut(b *testing.B) {
	ctx := context.Background()
	e := newEmulator(b)
	bs := newBenchSetup(b, e.ddb, e.createTable(b, "overhead_put", "id", ""))
	local := bs.over(b, answering{})
	bare := &dynamodb.PutItemInput{TableName: aws.String(bs.table), Item: bs.stored}
	plain := &dynamodb.PutItemInput{TableName: aws.String(bs.table), Item: benchItem()}
	paired{
		stepBare:      counted(func() error { _, err := e.ddb.PutItem(ctx, bare); return err }),
		stepEncrypted: counted(func() error { _, err := bs.client.PutItem(ctx, plain); return err }),
		stepEngine:    counted(func() error { _, err := bs.enc.Encrypt(ctx, bs.plain); return err }),
		stepBareEngine: func() (time.Duration, error) {
			start := time.Now()
			it, err := ddbav.FromItem(plain.Item)
			if err != nil {
				return 0, err
			}
			excluded := time.Since(start)
			st, err := bs.enc.Encrypt(ctx, it)
			if err != nil {
				return 0, err
			}
			start = time.Now()
			av, err := ddbav.ToItem(st)
			excluded += time.Since(start)
			if err != nil {
				return 0, err
			}
			_, err = e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: bare.TableName, Item: av})
			return excluded, err
		},
		stepLocal: counted(func() error { _, err := local.PutItem(ctx, plain); return err }),
	}.run(b)
}

func overheadGet(b *testing.B) {
	ctx := context.Background()
	e := newEmulator(b)
	bs := newBenchSetup(b, e.ddb, e.createTable(b, "overhead_get", "id", ""))
	e.rawPut(b, bs.table, bs.stored)
	local := bs.over(b, answering{stored: bs.stored})
	stored, err := ddbav.FromItem(bs.stored)
	if err != nil {
		b.Fatal(err)
	}
	in := &dynamodb.GetItemInput{TableName: aws.String(bs.table), Key: key("customer-000042")}
	paired{
		stepBare:      counted(func() error { _, err := e.ddb.GetItem(ctx, in); return err }),
		stepEncrypted: counted(func() error { _, err := bs.client.GetItem(ctx, in); return err }),
		stepEngine:    counted(func() error { _, err := bs.enc.Decrypt(ctx, stored); return err }),
		stepBareEngine: func() (time.Duration, error) {
			out, err := e.ddb.GetItem(ctx, in)
			if err != nil {
				return 0, err
			}
			start := time.Now()
			it, err := ddbav.FromItem(out.Item)
			if err != nil {
				return 0, err
			}
			excluded := time.Since(start)
			plain, err := bs.enc.Decrypt(ctx, it)
			if err != nil {
				return 0, err
			}
			start = time.Now()
			_, err = ddbav.ToItem(plain)
			return excluded + time.Since(start), err
		},
		stepLocal: counted(func() error { _, err := local.GetItem(ctx, in); return err }),
	}.run(b)
}
