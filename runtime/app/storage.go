package app

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/cassandra"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// CassandraConfig points serve at Cassandra or ScyllaDB instead of the
// embedded Pebble store (flags --cassandra-*). Hosts empty keeps Pebble.
type CassandraConfig struct {
	Hosts              string // comma-separated host[:port]
	Keyspace           string
	Username, Password string
	TLS                bool // encrypt, verifying the server's certificate against the system roots
	Consistency        string
	TTL                time.Duration
	BucketSize         time.Duration
	LocalDC            string
}

// openStoreBackend opens the Cassandra store when configured, else Pebble
// under DataDir.
func (a *App) openStoreBackend(ctx context.Context) (store.Store, error) {
	return OpenStore(ctx, a.cfg.Cassandra, filepath.Join(a.cfg.DataDir, "store"), a.log)
}

// OpenStore opens the store serve would: Cassandra when c.Hosts is set,
// else Pebble in pebbleDir. Commands that read what serve stored (rules
// diff) open it the same way.
func OpenStore(ctx context.Context, c CassandraConfig, pebbleDir string, log *slog.Logger) (store.Store, error) {
	if c.Hosts == "" {
		s, err := pebble.Open(pebbleDir, pebble.Options{Logger: log.With("component", "pebble")})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	opts := cassandra.Options{
		Hosts: cassandra.ParseHosts(c.Hosts), Keyspace: c.Keyspace,
		Username: c.Username, Password: c.Password,
		Consistency: c.Consistency, TTL: c.TTL, BucketSize: c.BucketSize, LocalDC: c.LocalDC,
		Logger: log.With("component", "cassandra"),
	}
	if c.TLS {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := cassandra.Open(octx, opts)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// startAnalytics opens ClickHouse and starts the feeder when ClickHouseDSN
// is set: a durable consumer on every tenant's stream, over a connection
// of its own (tenantChanged and tenantRemoved add and remove tenants while
// it runs). The feeder stops with the pipeline (Shutdown's stopWork), so
// that what it pulled is inserted and acked first; its ClickHouse
// connection closes in close().
func (a *App) startAnalytics(ctx context.Context) error {
	if a.cfg.ClickHouseDSN == "" {
		return nil
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := analytics.Open(octx, a.cfg.ClickHouseDSN)
	if err != nil {
		return err
	}
	a.analytics = s
	nc, js, err := a.connect("eventrunner-analytics")
	if err != nil {
		return err
	}
	streams := tenantnats.SharedStreams(js, a.cfg.NATSReplication)
	if a.tn.streams.Isolated() {
		streams = tenantnats.AccountStreams(nc, a.cfg.NATSReplication)
	}
	f, err := analytics.NewFeeder(streams, s, analytics.FeederOptions{Metrics: a.metrics, Logger: a.log.With("component", "analytics")})
	if err != nil {
		return err
	}
	a.feeder.Store(f) // before Sync: a tenant added meanwhile is added, not missed
	if err := f.Sync(ctx, a.tenantIDs()); err != nil {
		return err
	}
	workCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	prev := a.stopWork
	a.stopWork = func() {
		if prev != nil {
			prev()
		}
		stop()
	}
	a.goWork("analytics", f.Run, workCtx)
	return nil
}

// feedTenant starts feeding a new (or changed) tenant's stream to
// ClickHouse when analytics is on.
func (a *App) feedTenant(ctx context.Context, id string) error {
	if f := a.feeder.Load(); f != nil {
		return f.Add(ctx, id)
	}
	return nil
}

// unfeedTenant stops feeding a tenant whose stream is about to go.
func (a *App) unfeedTenant(id string) {
	if f := a.feeder.Load(); f != nil {
		f.Remove(id)
	}
}

// registerStats serves GET /v1/stats/counts when analytics is on; without
// it the route answers 404 with a problem saying how to enable it.
func (a *App) registerStats(mux *http.ServeMux) {
	if a.analytics == nil {
		mux.HandleFunc("GET /v1/stats/counts", func(w http.ResponseWriter, r *http.Request) {
			problem.Write(w, problem.New(http.StatusNotFound, "path", "analytics is disabled: start serve with --clickhouse-dsn"))
		})
		return
	}
	(&analytics.Handler{Store: a.analytics, Auth: a.tenants}).Register(mux)
}

// closeAnalytics closes the ClickHouse connection.
func (a *App) closeAnalytics() error {
	if a.analytics == nil {
		return nil
	}
	return a.analytics.Close()
}
