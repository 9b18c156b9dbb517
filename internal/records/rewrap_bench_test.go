package records_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sealstore/sealstore/attr"
	"github.com/sealstore/sealstore/internal/emutest"
	"github.com/sealstore/sealstore/internal/records"
	"github.com/sealstore/sealstore/keyring/hierarchy"
	"github.com/sealstore/sealstore/keystore"
	"github.com/sealstore/sealstore/keystore/kmsroot"
	"github.com/sealstore/sealstore/keystore/localroot"
	"github.com/sealstore/sealstore/store"
	"github.com/sealstore/sealstore/store/bolt"
	"github.com/sealstore/sealstore/store/dynamo"
)

// benchRecords is how many records each rewrap of the benchmark moves.
const benchRecords = 2000

// BenchmarkRewrap measures rewrap throughput (records moved to the new
// key version per second) on the embedded store and on DynamoDB + KMS
// (the emulators), beside a baseline measured in the same run: the same
// records read and written back unchanged through the store, with the
// same conditional writes and as many workers, and no cryptography.
//
//	go test ./records -run '^$' -bench Rewrap -benchtime 3x
func BenchmarkRewrap(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "db"), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchRewrap(b, db, keystore.New("bench", "keys", db, localroot.Generate()))
	})
	b.Run("dynamodb", func(b *testing.B) {
		env := emutest.Both(b)
		ctx := context.Background()
		db, err := dynamo.Open(ctx, dynamo.Config{Region: env.Region, Endpoint: env.DynamoDBEndpoint, TablePrefix: emutest.Prefix(b)})
		if err != nil {
			b.Fatal(err)
		}
		root, err := kmsroot.Open(ctx, kmsroot.Config{Region: env.Region, Endpoint: env.KMSEndpoint, KeyARN: env.KMSKeyARN})
		if err != nil {
			b.Fatal(err)
		}
		benchRewrap(b, db, keystore.New("bench", "keys", db, root))
	})
}

func benchRewrap(b *testing.B, db store.Store, ks *keystore.Store) {
	ctx := context.Background()
	if err := ks.Init(ctx); err != nil {
		b.Fatal(err)
	}
	svc, err := records.Open(ctx, db, ks, hierarchy.NewCache(0, 100, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	sc := records.Schema{PartitionKey: "id", Attributes: map[string]string{"note": records.ActionEncrypt}}
	if _, _, err := svc.PutCollection(ctx, "bench", sc); err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 1024)
	for i := range secret {
		secret[i] = 'a' + byte(i%26)
	}
	reqs := make([]records.PutRequest, 0, records.MaxBatchPut)
	for i := range benchRecords {
		reqs = append(reqs, records.PutRequest{Key: records.Key{ID: fmt.Sprintf("r%05d", i)}, Doc: attr.Item{"note": attr.S(secret)}})
		if len(reqs) == records.MaxBatchPut || i == benchRecords-1 {
			res, err := svc.BatchPut(ctx, "bench", reqs)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			reqs = reqs[:0]
		}
	}
	tbl := store.Table{Name: "col_bench", PartitionKey: "id"}
	var rewrap, copy time.Duration
	for b.Loop() {
		if _, err := svc.RotateKey(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := svc.StartRewrap(ctx, "bench", records.RewrapOptions{}); err != nil {
			b.Fatal(err)
		}
		for {
			j, err := svc.RewrapStatus(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if j.State != records.JobRunning {
				if j.State != records.JobDone || j.Rewrapped != benchRecords {
					b.Fatalf("rewrap: %+v", j)
				}
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		rewrap += time.Since(start)
		start = time.Now()
		copyBack(b, db, tbl)
		copy += time.Since(start)
	}
	n := float64(b.N * benchRecords)
	b.ReportMetric(n/rewrap.Seconds(), "rewrapped/s")
	b.ReportMetric(n/copy.Seconds(), "baseline/s")
	b.ReportMetric(copy.Seconds()/rewrap.Seconds(), "ratio")
}

// copyBack is the baseline: every record of tbl read (a scan) and written
// back as it is, on condition that it did not change, by 8 workers.
func copyBack(b *testing.B, db store.Store, tbl store.Table) {
	ctx := context.Background()
	var cursor []byte
	for {
		page, err := db.Scan(ctx, tbl, cursor, 100)
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		next := make(chan attr.Item)
		for range 8 {
			wg.Go(func() {
				for it := range next {
					if err := db.Put(ctx, tbl, it, store.Cond{Attr: "aws_dbe_head", Equals: it["aws_dbe_head"]}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for _, it := range page.Items {
			next <- it
		}
		close(next)
		wg.Wait()
		if page.Next == nil {
			return
		}
		cursor = page.Next
	}
}
