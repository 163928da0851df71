package wasm

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-consumer counters, labelled by tenant and consumer.
type Metrics struct {
	events   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	emitted  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the WASM consumer metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventrunner_wasm_events_total",
			Help: "Events handled by WASM consumers, by result: ok, retry (naked with backoff), dead_letter."}, []string{"tenant", "consumer", "result"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventrunner_wasm_errors_total",
			Help: "Failed guest calls by kind: timeout, trap, exit, limit, result, abi."}, []string{"tenant", "consumer", "kind"}),
		emitted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eventrunner_wasm_emitted_total",
			Help: "Events emitted by WASM consumers to er.out.<tenant>.<consumer>."}, []string{"tenant", "consumer"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "eventrunner_wasm_handle_seconds",
			Help: "Time in the guest per event.", Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10)}, []string{"tenant", "consumer"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.errors, m.emitted, m.duration)
	}
	return m
}

// forget drops a removed consumer's series.
func (m *Metrics) forget(tenant, consumer string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"tenant": tenant, "consumer": consumer}
	m.events.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.emitted.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
}
