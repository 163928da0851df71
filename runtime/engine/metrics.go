package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// metrics are the engine's Prometheus series. Without a registerer they
// are still counted, just not exported.
type metrics struct {
	events         *prometheus.CounterVec   // outcome
	dlq            *prometheus.CounterVec   // kind
	firings        *prometheus.CounterVec   // kb, rule
	stage          *prometheus.HistogramVec // stage: rules, store, publish (per batch)
	batch          prometheus.Histogram
	ingestToStored prometheus.Histogram

	mu    sync.RWMutex
	rules map[firingKey]*firing
}

// firingKey names the firings of one rule for one tenant.
type firingKey struct{ tenant, kb, rule string }

// firing is the count of one firingKey in this process, beside the
// Prometheus counter of its knowledge base and rule (which has no tenant
// label: tenants times rules is too many series to export).
type firing struct {
	prom prometheus.Counter
	n    atomic.Int64
}

func newMetrics(reg prometheus.Registerer, cons jetstream.Consumer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_engine_events_total",
			Help: "Events settled by the engine, by outcome: processed (stored and published), dropped (stored, not published), dlq, retry (redelivered later).",
		}, []string{"outcome"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_engine_dlq_events_total",
			Help: "Events the engine sent to ER_DLQ, by kind of reason (rule-error, max-cycles, invalid-data, …).",
		}, []string{"kind"}),
		firings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_rule_firings_total",
			Help: "Rule firings, by knowledge base and rule.",
		}, []string{"kb", "rule"}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventrunner_engine_stage_seconds",
			Help:    "Time one batch spends in each engine stage: rules (decode and rules), store (the batch Put), publish (to the tenant stream, acks included).",
			Buckets: bus.LatencyBuckets,
		}, []string{"stage"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventrunner_engine_batch_events",
			Help:    "Events per engine batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		ingestToStored: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eventrunner_ingest_to_stored_seconds",
			Help:    "Time from eventrunner accepting an event (ingest) to the engine's store write of the processed event.",
			Buckets: bus.LatencyBuckets,
		}),
		rules: map[firingKey]*firing{},
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.events, m.dlq, m.firings, m.stage, m.batch, m.ingestToStored, bus.NewLagCollector(bus.StreamProc, cons)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("engine: register metrics: %w", err)
		}
	}
	return m, nil
}

// fired counts the firings of kb's rules for tenant, caching the counters
// so that the hot path does no label hashing.
func (m *metrics) fired(tenant, kb string, names []string) {
	for _, name := range names {
		k := firingKey{tenant, kb, name}
		m.mu.RLock()
		f := m.rules[k]
		m.mu.RUnlock()
		if f == nil {
			m.mu.Lock()
			if f = m.rules[k]; f == nil {
				f = &firing{prom: m.firings.WithLabelValues(kb, name)}
				m.rules[k] = f
			}
			m.mu.Unlock()
		}
		f.prom.Inc()
		f.n.Add(1)
	}
}

// Firings are the rule firings of one tenant counted by this process since
// it started: knowledge base → rule → count.
type Firings map[string]map[string]int64

// Firings returns tenant's rule firings on this process since it started
// (rules that never fired are absent). Several engine processes each count
// their own share of the events.
func (e *Engine) Firings(tenant string) Firings {
	m := e.metrics
	out := Firings{}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for k, f := range m.rules {
		if k.tenant != tenant {
			continue
		}
		if out[k.kb] == nil {
			out[k.kb] = map[string]int64{}
		}
		out[k.kb][k.rule] = f.n.Load()
	}
	return out
}
