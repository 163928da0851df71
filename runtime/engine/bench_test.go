package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"time"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
)

// BenchmarkPipeline drives ~1 KB events through the path HTTP ingest uses,
// minus HTTP: Normalize + one PublishBatch per batch of 100 to ER_PROC,
// then the engine (rules, a synced Pebble Put, publish to the tenant stream, ack),
// all against an embedded server over loopback TCP. events/s counts events
// stored and published per second of the whole run.
//
//	go test ./runtime/engine -run XXX -bench Pipeline -benchtime 50000x
func BenchmarkPipeline(b *testing.B) {
	env := bustest.Start(b)
	st, err := pebble.Open(b.TempDir(), pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := runnertest.Registry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mreg := prometheus.NewRegistry()
	e, err := engine.New(ctx, env.JS, engine.Options{Registry: reg, Store: st, MaxWait: 200 * time.Millisecond, Metrics: mreg})
	if err != nil {
		b.Fatal(err)
	}
	acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(reg, ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}
	customer := "vip-" + strings.Repeat("x", 850) // ~1 KB structured event
	const batch, producers = 100, 4
	b.ResetTimer()
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	var wg sync.WaitGroup
	per := (b.N + producers - 1) / producers
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := p * per; i < min((p+1)*per, b.N); i += batch {
				evs := make([]*cloudevents.Event, 0, batch)
				for j := i; j < min(i+batch, (p+1)*per, b.N); j++ {
					evs = append(evs, &cloudevents.Event{SpecVersion: "1.0", ID: fmt.Sprint("e", j), Source: "/bench", Type: runnertest.OrderType,
						DataSchema: "com.acme.order.created/v1", Data: json.RawMessage(fmt.Sprintf(`{"id":"o%d","amount":%d,"customer":%q}`, j, j%3000, customer))})
				}
				for _, err := range acc.Accept(ctx, "acme", evs) {
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
		}(p)
	}
	wg.Wait()
	for env.Count(b, bustest.TenantStream, "") < uint64(b.N) {
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cancel()
	<-done
	reportHistograms(b, mreg)
}

// reportHistograms logs the mean of every histogram of reg.
func reportHistograms(b *testing.B, reg *prometheus.Registry) {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil || h.GetSampleCount() == 0 {
				continue
			}
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			b.Logf("%s%v: n=%d mean=%.4g", mf.GetName(), labels, h.GetSampleCount(), h.GetSampleSum()/float64(h.GetSampleCount()))
		}
	}
}

// BenchmarkEngine measures the engine alone: b.N ~1 KB events are loaded
// into ER_PROC first (untimed), then the engine drains them (rules, synced
// Pebble Put, publish to the tenant stream, ack).
//
//	go test ./runtime/engine -run XXX -bench 'Engine$' -benchtime 30000x
func BenchmarkEngine(b *testing.B) {
	for _, workers := range []int{2, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchEngine(b, workers) })
	}
}

func benchEngine(b *testing.B, workers int) {
	env := bustest.Start(b)
	st, err := pebble.Open(b.TempDir(), pebble.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := runnertest.Registry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(reg, ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}
	customer := "vip-" + strings.Repeat("x", 850)
	for i := 0; i < b.N; i += 1000 {
		evs := make([]*cloudevents.Event, 0, 1000)
		for j := i; j < min(i+1000, b.N); j++ {
			evs = append(evs, &cloudevents.Event{SpecVersion: "1.0", ID: fmt.Sprint("e", j), Source: "/bench", Type: runnertest.OrderType,
				DataSchema: "com.acme.order.created/v1", Data: json.RawMessage(fmt.Sprintf(`{"id":"o%d","amount":%d,"customer":%q}`, j, j%3000, customer))})
		}
		for _, err := range acc.Accept(ctx, "acme", evs) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	mreg := prometheus.NewRegistry()
	e, err := engine.New(ctx, env.JS, engine.Options{Registry: reg, Store: st, Metrics: mreg, Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	for env.Count(b, bustest.TenantStream, "") < uint64(b.N) {
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cancel()
	<-done
	reportHistograms(b, mreg)
}
