package bus_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
)

// BenchmarkPublishAsync measures JetStream async publishing of 1 KB messages
// to the file-backed tenant stream of an embedded server over loopback
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
				_, err := env.JS.PublishAsync("er.t.acme.bench.raw", payload, jetstream.WithStallWait(time.Second))
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
					m := nats.NewMsg("er.t.acme.bench.batch")
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

// BenchmarkRelay measures the NATS work the pipeline cannot avoid per event,
// with no HTTP, rules or store: producers publish 1 KB messages with a
// Nats-Msg-Id to ER_PROC in batches of 250, and consumers (ConsumeBatches,
// 8 loops) publish each to the tenant stream with a Nats-Msg-Id and ack it. b.N
// messages cross both streams; compare msgs/s with PublishAsync/raw.
//
//	go test ./runtime/bus -run XXX -bench 'PublishAsync/raw|Relay' -benchtime 100000x
func BenchmarkRelay(b *testing.B) {
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	env := bustest.Start(b)
	_, pjs := env.Connect(b)
	_, cjs := env.Connect(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cons, err := cjs.CreateOrUpdateConsumer(ctx, bus.StreamProc, jetstream.ConsumerConfig{
		Durable: "relay", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 8 * 1024,
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	var relayed atomic.Int64
	target := int64(b.N)
	cpub := bus.NewPublisher(cjs, bus.PublisherOptions{})
	for range 8 {
		go func() {
			var outs []*nats.Msg
			var errs []error
			_ = bus.ConsumeBatches(ctx, cons, bus.BatchOptions{}, func(ctx context.Context, msgs []jetstream.Msg) {
				outs, errs = outs[:0], errs[:0]
				for _, m := range msgs {
					o := nats.NewMsg("er.t.acme.bench.relay")
					o.Header.Set(bus.HeaderMsgID, m.Headers().Get(bus.HeaderMsgID))
					o.Data = m.Data()
					outs, errs = append(outs, o), append(errs, nil)
				}
				if err := cpub.PublishBatch(ctx, outs, errs); err != nil {
					b.Error(err)
				}
				for _, m := range msgs {
					_ = m.Ack()
				}
				if relayed.Add(int64(len(msgs))) == target {
					close(done)
				}
			})
		}()
	}
	ppub := bus.NewPublisher(pjs, bus.PublisherOptions{})
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	// Four producers, as many as the pipeline bench has requests in flight.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs := make([]*nats.Msg, 250)
			errs := make([]error, 250)
			for {
				end := next.Add(250)
				start := end - 250
				if start >= int64(b.N) {
					return
				}
				k := int(min(end, int64(b.N)) - start)
				for i := range k {
					m := nats.NewMsg("er.proc.bench.relay")
					m.Header.Set(bus.HeaderMsgID, "bench/src/"+strconv.FormatInt(start+int64(i), 10))
					m.Data = payload
					msgs[i] = m
				}
				if err := ppub.PublishBatch(ctx, msgs[:k], errs[:k]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("relayed %d of %d", relayed.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
