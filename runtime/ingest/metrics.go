package ingest

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts ingest outcomes per tenant and status, and request latency.
// A nil *Metrics records nothing.
type Metrics struct {
	events  *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewMetrics registers the ingest metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_ingest_events_total",
			Help: "Events received over HTTP, by tenant and reply status.",
		}, []string{"tenant", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventrunner_ingest_request_seconds",
			Help:    "Time from request to durable acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"tenant"}),
	}
	reg.MustRegister(m.events, m.latency)
	return m
}

func (m *Metrics) observe(tenant string, results []Result, d time.Duration) {
	if m == nil {
		return
	}
	for _, r := range results {
		m.events.WithLabelValues(tenant, strconv.Itoa(r.Status)).Inc()
	}
	m.latency.WithLabelValues(tenant).Observe(d.Seconds())
}

func (m *Metrics) rejected(tenant string, status, n int) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(tenant, strconv.Itoa(status)).Add(float64(max(n, 1)))
}
