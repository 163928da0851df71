package runner

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// metrics are the runner's Prometheus series. Without a registerer they
// are still counted, just not exported.
type metrics struct {
	events  *prometheus.CounterVec   // outcome
	dlq     *prometheus.CounterVec   // kind
	latency *prometheus.HistogramVec // outcome
}

func newMetrics(reg prometheus.Registerer, cons jetstream.Consumer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_runner_events_total",
			Help: "Raw events settled by the runner, by outcome: proc (to ER_PROC), dlq (rejected), retry (publish failed, redelivered).",
		}, []string{"outcome"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_runner_dlq_events_total",
			Help: "Events the runner sent to ER_DLQ, by kind of reason.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventrunner_runner_latency_seconds",
			Help:    "Time from ER_RAW storing an event to the runner's publish being acknowledged.",
			Buckets: bus.LatencyBuckets,
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.dlq, m.latency, bus.NewLagCollector(bus.StreamRaw, cons)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("runner: register metrics: %w", err)
		}
	}
	return m, nil
}

// done counts a settled message.
func (m *metrics) done(msg jetstream.Msg, dead bool, out *nats.Msg) {
	outcome := "proc"
	if dead {
		outcome = "dlq"
		m.dlq.WithLabelValues(out.Header.Get(bus.HeaderDLQKind)).Inc()
	}
	m.events.WithLabelValues(outcome).Inc()
	if md, err := msg.Metadata(); err == nil {
		m.latency.WithLabelValues(outcome).Observe(time.Since(md.Timestamp).Seconds())
	}
}
