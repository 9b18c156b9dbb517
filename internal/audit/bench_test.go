package audit_test

import (
	"context"
	"testing"

	"github.com/sealstore/sealstore/internal/audit"
)

// BenchmarkAppendParallel measures Append from many goroutines on the
// embedded store, each waiting for its entry to be durable, as the HTTP
// handlers do.
func BenchmarkAppendParallel(b *testing.B) {
	e := newEnv(b)
	l := open(b, e.db, e.keys, audit.Options{})
	x := audit.Entry{Token: "bench", Action: "record.get", Collection: "people", Record: recID(b, l, "people", "p1"), Outcome: "ok"}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(context.Background(), x); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/float64(len(batches(b, e.db))), "entries/batch")
}
