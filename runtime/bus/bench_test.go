package bus_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
)

// BenchmarkPublishAsync measures JetStream async publishing of 1 KB messages
// to the file-backed ER_TENANT stream of an embedded server over loopback
// TCP: the reference the pipeline's throughput is compared with.
//
//	go test ./runtime/bus -run XXX -bench PublishAsync -benchtime 200000x
func BenchmarkPublishAsync(b *testing.B) {
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	b.Run("raw", func(b *testing.B) {
		// nats.go's PublishAsync + PublishAsyncComplete, no headers; a
		// stalled publish (too many acks outstanding) is retried.
		env := bustest.Start(b)
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for b.Loop() {
			for {
				_, err := env.JS.PublishAsync("er.t.bench.raw", payload, jetstream.WithStallWait(time.Second))
				if err == nil {
					break
				}
				if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					b.Fatal(err)
				}
			}
		}
		select {
		case <-env.JS.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("acks did not arrive")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	for _, batch := range []int{100, 1000} {
		b.Run("PublishBatch/"+strconv.Itoa(batch), func(b *testing.B) {
			// The Publisher with a Nats-Msg-Id per message, as the pipeline
			// publishes, one round of acks per batch.
			env := bustest.Start(b)
			pub := bus.NewPublisher(env.JS, bus.PublisherOptions{})
			msgs := make([]*nats.Msg, batch)
			errs := make([]error, batch)
			ctx := context.Background()
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			n := 0
			for n < b.N {
				k := min(batch, b.N-n)
				for i := 0; i < k; i++ {
					m := nats.NewMsg("er.t.bench.batch")
					m.Header.Set(bus.HeaderMsgID, "bench/src/"+strconv.Itoa(n+i))
					m.Data = payload
					msgs[i] = m
				}
				if err := pub.PublishBatch(ctx, msgs[:k], errs[:k]); err != nil {
					b.Fatal(err)
				}
				n += k
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
