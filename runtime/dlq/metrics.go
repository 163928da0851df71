package dlq

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus series of redrives and purges. Without a
// registerer they are still counted, just not exported.
type metrics struct {
	redriven *prometheus.CounterVec // outcome
	purged   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		redriven: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_dlq_redriven_total",
			Help: "Dead letters redriven, by outcome: accepted (back on ER_PROC) or rejected (dead-lettered again).",
		}, []string{"outcome"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eventrunner_dlq_purged_total",
			Help: "Dead letters deleted from ER_DLQ by a purge.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.redriven, m.purged} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("dlq: register metrics: %w", err)
		}
	}
	return m, nil
}
