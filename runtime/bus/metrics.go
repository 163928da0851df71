package bus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// LagCollector reports a durable consumer's lag, read from the server at
// scrape time.
type LagCollector struct {
	c           jetstream.Consumer
	pending     *prometheus.Desc
	ackPending  *prometheus.Desc
	redelivered *prometheus.Desc
}

// NewLagCollector returns a collector of the lag of consumer c of stream.
func NewLagCollector(stream string, c jetstream.Consumer) *LagCollector {
	name := c.CachedInfo().Name
	labels := prometheus.Labels{"stream": stream, "consumer": name}
	return &LagCollector{
		c:           c,
		pending:     prometheus.NewDesc("eventrunner_consumer_pending_messages", "Messages of the stream not yet delivered to the durable consumer (its lag).", nil, labels),
		ackPending:  prometheus.NewDesc("eventrunner_consumer_ack_pending_messages", "Messages delivered to the durable consumer and not yet acknowledged.", nil, labels),
		redelivered: prometheus.NewDesc("eventrunner_consumer_redelivered_messages", "Messages delivered to the durable consumer more than once and not yet acknowledged.", nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (l *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.pending
	ch <- l.ackPending
	ch <- l.redelivered
}

// Collect implements prometheus.Collector; it reports nothing when the
// server does not answer within a second.
func (l *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	info, err := l.c.Info(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(l.pending, prometheus.GaugeValue, float64(info.NumPending))
	ch <- prometheus.MustNewConstMetric(l.ackPending, prometheus.GaugeValue, float64(info.NumAckPending))
	ch <- prometheus.MustNewConstMetric(l.redelivered, prometheus.GaugeValue, float64(info.NumRedelivered))
}

// LatencyBuckets are histogram buckets for per-event latencies, 100 µs to
// 10 s.
var LatencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
