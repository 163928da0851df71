package analytics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

var benchTenants = []string{"acme", "globex", "initech"}

// benchEvent is a processed event of about 700 bytes, as the engine
// writes them (extensions, a small order).
func benchEvent(tn, id string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"/bench","type":%q,"time":%q,"tenantid":%q,"erkb":"orders@1.0.0","erbundle":"b1","erfired":"big,vip","data":{"customer":"c-1","amount":12.5,"items":[{"sku":"A-1","qty":2},{"sku":"B-2","qty":1}],"note":%q}}`,
		id, typeOrder, at.Format(time.RFC3339Nano), tn, strings.Repeat("x", 300))
}

// benchPublish spreads n events over the bench tenants' streams through the
// engine's publisher (its PubAcks also cross the tenants' accounts).
func benchPublish(b *testing.B, js jetstream.JetStream, n int) {
	b.Helper()
	p := bus.NewPublisher(js, bus.PublisherOptions{TenantAcks: true})
	const batch = 500
	msgs, errs := make([]*nats.Msg, 0, batch), make([]error, batch)
	for i := 0; i < n; i += batch {
		msgs = msgs[:0]
		for j := i; j < min(i+batch, n); j++ {
			tn := benchTenants[j%len(benchTenants)]
			m := &nats.Msg{Subject: "er.t." + tn + "." + typeOrder, Header: nats.Header{},
				Data: benchEvent(tn, fmt.Sprint("e", j), t0.Add(time.Duration(j)*time.Millisecond))}
			m.Header.Set(bus.HeaderSchema, typeOrder+"/v1")
			msgs = append(msgs, m)
		}
		if err := p.PublishBatch(context.Background(), msgs, errs[:len(msgs)]); err != nil {
			b.Fatal(err)
		}
		if err := errors.Join(errs[:len(msgs)]...); err != nil {
			b.Fatal(err)
		}
	}
}

// waitInserted waits until the feeder of reg inserted n events.
func waitInserted(b *testing.B, reg *prometheus.Registry, n int) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if got := eventsByOutcome(b, reg); got["inserted"] >= float64(n) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("not all %d inserted: %v", n, eventsByOutcome(b, reg))
}

// BenchmarkFeeder measures the feeder's throughput from three tenant
// streams holding b.N processed events to ClickHouse (needs
// EVENTRUNNER_CLICKHOUSE_DSN), without accounts (shared) and with them:
//
//	go test ./runtime/analytics -run XXX -bench Feeder -benchtime 100000x
func BenchmarkFeeder(b *testing.B) {
	for _, mode := range []string{"shared", "accounts"} {
		b.Run(mode, func(b *testing.B) {
			s, _ := openStore(b)
			var js jetstream.JetStream
			var streams *tenantnats.Streams
			if mode == "shared" {
				env := bustest.Start(b)
				for _, tn := range benchTenants[1:] {
					env.EnsureTenant(b, tn)
				}
				js, streams = env.JS, tenantnats.SharedStreams(env.JS, bus.Replication{})
			} else {
				env := tenantnatstest.Start(b, benchTenants...)
				js, streams = env.JS, env.Streams
			}
			benchPublish(b, js, b.N)
			reg := prometheus.NewRegistry()
			b.ResetTimer()
			runFeeder(b, streams, s, benchTenants, analytics.FeederOptions{Metrics: reg})
			waitInserted(b, reg, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
