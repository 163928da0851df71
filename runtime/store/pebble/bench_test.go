package pebble_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/store/storetest"
)

func openBench(b *testing.B, noSync bool) store.Store {
	s, err := pebble.Open(b.TempDir(), pebble.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkPut measures one writer: ns/op and records/s are per record, so
// batched and unbatched compare directly.
func BenchmarkPut(b *testing.B) {
	for _, batch := range []int{1, 256} {
		for _, noSync := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/%s", batch, syncName(noSync)), func(b *testing.B) {
				s := openBench(b, noSync)
				ctx := context.Background()
				recs := make([]store.Record, batch)
				b.SetBytes(int64(len(storetest.BenchEvent)))
				b.ReportAllocs()
				var n int64
				for n < int64(b.N) {
					k := min(batch, b.N-int(n))
					for i := range k {
						recs[i] = storetest.BenchRecord(n + int64(i))
					}
					if err := s.Put(ctx, recs[:k]); err != nil {
						b.Fatal(err)
					}
					n += int64(k)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkPutConcurrent has 32 writers put one record each per call, as
// engine workers acking single events would: the writer's group commit
// shares one WAL sync among them.
func BenchmarkPutConcurrent(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(syncName(noSync), func(b *testing.B) {
			s := openBench(b, noSync)
			var next atomic.Int64
			b.SetBytes(int64(len(storetest.BenchEvent)))
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := storetest.BenchRecord(next.Add(1))
					if err := s.Put(context.Background(), []store.Record{r}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkPutRedelivery re-puts records already stored, which the engine
// does after a redelivery: the upsert compares and writes nothing.
func BenchmarkPutRedelivery(b *testing.B) {
	s := openBench(b, false)
	const n = 256
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = storetest.BenchRecord(int64(i))
	}
	ctx := context.Background()
	if err := s.Put(ctx, recs); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(storetest.BenchEvent)))
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		if err := s.Put(ctx, recs[:min(n, b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkRead(b *testing.B) {
	s := openBench(b, true)
	const n = 20000
	ctx := context.Background()
	recs := make([]store.Record, 0, 500)
	for i := range int64(n) {
		r := storetest.BenchRecord(i)
		if i%2 == 1 {
			r.Type = "com.acme.order.shipped"
		}
		recs = append(recs, r)
		if len(recs) == cap(recs) {
			if err := s.Put(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.Run("Get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, "acme", "/bench", fmt.Sprintf("evt-%012d", i*7919%n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if recs, err := s.Lookup(ctx, "acme", fmt.Sprintf("evt-%012d", i*7919%n), 0); err != nil || len(recs) != 1 {
				b.Fatal(len(recs), err)
			}
		}
	})
	for _, typ := range []string{"", "com.acme.order.shipped"} {
		b.Run(fmt.Sprintf("List100/type=%t", typ != ""), func(b *testing.B) {
			b.ReportAllocs()
			q := store.Query{Tenant: "acme", Type: typ, Limit: 100}
			for b.Loop() {
				p, err := s.List(ctx, q)
				if err != nil || len(p.Records) != 100 {
					b.Fatal(len(p.Records), err)
				}
				q.Cursor = p.NextCursor // pages through, then starts over (n is a multiple of 100)
			}
			b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func syncName(noSync bool) string {
	if noSync {
		return "nosync"
	}
	return "sync"
}
