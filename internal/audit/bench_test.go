package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sealstore/sealstore/internal/audit"
	"github.com/sealstore/sealstore/internal/journal"
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

// BenchmarkAppendJournal appends read entries (which do not wait for an
// fdatasync) from 32 goroutines to a journal, as the embedded server's
// 32-connection load does.
func BenchmarkAppendJournal(b *testing.B) {
	e := newEnv(b)
	j, err := journal.Open(filepath.Join(b.TempDir(), "audit"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	l := open(b, j, e.keys, audit.Options{})
	x := audit.Entry{Token: "bench", Action: "record.get", Collection: "people", Record: recID(b, l, "people", "p1"), Outcome: "ok",
		RequestID: "0123abcd-1a2b", Client: "127.0.0.1"}
	b.SetParallelism(16)
	b.ReportAllocs()
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
	b.ReportMetric(float64(b.N)/float64(len(batches(b, j))), "entries/batch")
}
