package cassandra_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/storetest"
)

// BenchmarkPut is the Pebble backend's BenchmarkPut against the Cassandra of
// EVENTRUNNER_CASSANDRA_HOSTS (consistency ONE, one node): one writer,
// records/s per record so that batched and unbatched compare directly.
func BenchmarkPut(b *testing.B) {
	hosts := cassandraHosts(b)
	for _, batch := range []int{1, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := openStore(b, testOptions(hosts))
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

// BenchmarkPutConcurrent has 32 writers put one record per call,
// as engine workers would.
func BenchmarkPutConcurrent(b *testing.B) {
	s := openStore(b, testOptions(cassandraHosts(b)))
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
}

// BenchmarkPutRedelivery re-puts stored records: one read per
// record, no write.
func BenchmarkPutRedelivery(b *testing.B) {
	s := openStore(b, testOptions(cassandraHosts(b)))
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

// BenchmarkPutConcurrentBatches has 8 writers put 256 records per
// call, as the engine's workers do with their fetch batches.
func BenchmarkPutConcurrentBatches(b *testing.B) {
	s := openStore(b, testOptions(cassandraHosts(b)))
	const batch = 256
	var next atomic.Int64
	b.SetBytes(int64(len(storetest.BenchEvent)) * batch)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		recs := make([]store.Record, batch)
		for pb.Next() {
			base := next.Add(batch)
			for i := range recs {
				recs[i] = storetest.BenchRecord(base + int64(i))
			}
			if err := s.Put(context.Background(), recs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
