package grpcingest

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Metrics counts gRPC ingest outcomes per tenant and code, and how long a
// batch waits for durable storage. A nil *Metrics records nothing.
type Metrics struct {
	events *prometheus.CounterVec
	batch  *prometheus.HistogramVec
}

// NewMetrics registers the gRPC ingest metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventrunner_grpc_ingest_events_total",
			Help: "Events received over gRPC, by tenant and gRPC code (OK once stored).",
		}, []string{"tenant", "code"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eventrunner_grpc_ingest_batch_seconds",
			Help:    "Time from a batch of a call or stream to its durable acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"tenant"}),
	}
	reg.MustRegister(m.events, m.batch)
	return m
}

func (m *Metrics) observe(tenant string, sts []*status.Status, d time.Duration) {
	if m == nil {
		return
	}
	for _, st := range sts {
		code := codes.OK
		if st != nil {
			code = st.Code()
		}
		m.events.WithLabelValues(tenant, code.String()).Inc()
	}
	m.batch.WithLabelValues(tenant).Observe(d.Seconds())
}
