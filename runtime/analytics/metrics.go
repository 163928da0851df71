package analytics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// feederMetrics are the feeder's Prometheus series. Without a registerer
// they are still counted, just not exported.
type feederMetrics struct {
	events *prometheus.CounterVec // outcome: inserted, dropped, retry
	insert prometheus.Histogram
	rows   prometheus.Histogram
}

// newFeederMetrics makes the feeder's series; each tenant consumer's lag
// (bus.LagCollector) is registered by Add and unregistered by Remove.
func newFeederMetrics(reg prometheus.Registerer) (*feederMetrics, error) {
	m := &feederMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_analytics_events_total",
			Help: "Processed events settled by the ClickHouse feeder, by outcome: inserted (and acked), dropped (not a processed event), retry (insert failed, redelivered later).",
		}, []string{"outcome"}),
		insert: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventrunner_analytics_insert_seconds",
			Help:    "Time of one ClickHouse batch insert.",
			Buckets: bus.LatencyBuckets,
		}),
		rows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventrunner_analytics_insert_rows",
			Help:    "Rows per ClickHouse batch insert.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.insert, m.rows} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("analytics: register metrics: %w", err)
		}
	}
	return m, nil
}
