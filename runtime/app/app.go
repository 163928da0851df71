package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// App is a running engine.
type App struct {
	cfg     Config
	log     *slog.Logger
	reg     *rules.Registry
	metrics *prometheus.Registry

	nats    *bus.Server // nil with an external NATS
	nc      *nats.Conn  // control connection (streams, readiness)
	natsURL string
	conns   []*nats.Conn // every connection, closed on shutdown
	js      jetstream.JetStream
	store   store.Store // Pebble, or Cassandra (storage.go)
	tenants *tenant.Registry
	tn      tenancy   // tenants file, admin manager, limiter (tenants.go)
	wasm    wasmState // WASM consumers (wasm.go)
	runner  *runner.Runner
	engine  *engine.Engine
	pub     *bus.Publisher
	http    *http.Server
	httpLn  net.Listener
	grpc    *grpcServing // gRPC ingest (grpc.go); nil when disabled

	analytics *analytics.Store // ClickHouse feeder's store (storage.go); nil when disabled

	stopWork context.CancelFunc
	work     sync.WaitGroup
	ready    bool
	mu       sync.Mutex
}

// Start brings every part up, in dependency order, and returns once the
// HTTP API accepts requests. On error, what was started is stopped.
func Start(ctx context.Context, cfg Config, reg *rules.Registry, log *slog.Logger) (a *App, err error) {
	cfg = cfg.Defaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	a = &App{cfg: cfg, log: log, reg: reg, metrics: prometheus.NewRegistry()}
	started := a // `return nil, err` below sets a to nil before this defer runs
	defer func() {
		if err != nil {
			started.close()
		}
	}()
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"tenants", a.startTenants}, // before NATS: the embedded server authenticates against it
		{"nats", a.startNATS},
		{"tenant-streams", a.startTenantStreams},
		{"store", a.openStore},
		{"pipeline", a.startPipeline},
		{"analytics", a.startAnalytics}, // ClickHouse feeder when --clickhouse-dsn (storage.go)
		{"http", a.startHTTP},
		{"grpc", a.startGRPC},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("start %s: %w", s.name, err)
		}
	}
	a.mu.Lock()
	a.ready = true
	a.mu.Unlock()
	return a, nil
}

func (a *App) startNATS(ctx context.Context) error {
	url := a.cfg.NATSURL
	if url == "" {
		host, port, err := splitHostPort(a.cfg.NATSListen)
		if err != nil {
			return fmt.Errorf("nats-listen: %w", err)
		}
		a.nats, err = bus.StartEmbedded(bus.Options{
			DataDir: filepath.Join(a.cfg.DataDir, "nats"), Host: host, Port: port,
			SyncAlways: a.cfg.NATSSyncAlways, Logger: a.log.With("component", "nats-server"),
			Auth: a.natsAuth(),
		})
		if err != nil {
			return err
		}
		url = a.nats.ClientURL()
	}
	a.natsURL = url
	var err error
	if a.nc, a.js, err = a.connect("eventrunner"); err != nil {
		return err
	}
	return bus.EnsureStreams(ctx, a.js, bus.StreamsConfig{})
}

// connect opens one more connection to NATS. Ingest, runner and engine each
// get their own: the server reads each client connection on one goroutine,
// so a shared connection serialises all of the engine's traffic on one core.
func (a *App) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := bus.Connect(a.natsURL, append(a.natsClientOptions(), nats.Name(name))...)
	if err != nil {
		return nil, nil, err
	}
	a.conns = append(a.conns, nc)
	js, err := bus.NewJetStream(nc)
	return nc, js, err
}

// openStore opens Pebble, or Cassandra when configured (storage.go).
func (a *App) openStore(ctx context.Context) error {
	s, err := a.openStoreBackend(ctx)
	if err != nil {
		return err
	}
	a.store = s
	return nil
}

// startPipeline starts the runner (ER_RAW → ER_PROC) and the engine
// (ER_PROC → store, tenant streams). They stop when Shutdown cancels workCtx.
func (a *App) startPipeline(ctx context.Context) error {
	_, ingestJS, err := a.connect("eventrunner-ingest")
	if err != nil {
		return err
	}
	a.pub = bus.NewPublisher(ingestJS, bus.PublisherOptions{})
	_, runnerJS, err := a.connect("eventrunner-runner")
	if err != nil {
		return err
	}
	_, engineJS, err := a.connect("eventrunner-engine")
	if err != nil {
		return err
	}
	rs, err := a.initialRules()
	if err != nil {
		return err
	}
	a.runner, err = runner.New(ctx, runnerJS, runner.Options{Registry: a.reg, Workers: a.cfg.Workers, AckWait: a.cfg.AckWait,
		Publisher: bus.NewPublisher(runnerJS, bus.PublisherOptions{}), Metrics: a.metrics, Logger: a.log.With("component", "runner")})
	if err != nil {
		return err
	}
	a.engine, err = engine.New(ctx, engineJS, engine.Options{Registry: a.reg, Rules: rs, Store: a.store, Workers: a.cfg.Workers, AckWait: a.cfg.AckWait,
		Publisher: bus.NewPublisher(engineJS, bus.PublisherOptions{}), Metrics: a.metrics, Logger: a.log.With("component", "engine")})
	if err != nil {
		return err
	}
	workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopWork = cancel
	a.goWork("runner", a.runner.Run, workCtx)
	a.goWork("engine", a.engine.Run, workCtx)
	if a.cfg.RulesDir != "" {
		a.goWork("rules-reload", a.watchRules, workCtx)
	}
	a.goWork("tenants-reload", a.watchTenants, workCtx)
	if err := a.startWASM(workCtx); err != nil { // wasm.go
		return err
	}
	return nil
}

func (a *App) goWork(name string, run func(context.Context) error, ctx context.Context) {
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("stopped with an error", "component", name, "err", err)
		}
	}()
}

func (a *App) startHTTP(context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return err
	}
	a.httpLn = ln
	a.http = &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// HTTPAddr is the address the HTTP API listens on.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// NATSURL is the URL of the NATS server the engine uses.
func (a *App) NATSURL() string { return a.nc.ConnectedUrl() }

// DemoAPIKey is the demo tenant's API key.
func (a *App) DemoAPIKey() string { return a.cfg.DemoAPIKey }

// DemoTenant is the demo tenant's id.
func (a *App) DemoTenant() string { return a.cfg.DemoTenant }

// Shutdown drains in-flight work: the HTTP server stops accepting and
// finishes its requests (each waits for its PubAcks), then the runner and the
// engine finish and ack the batches in hand, then the store and NATS close.
func (a *App) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	a.ready = false
	a.mu.Unlock()
	var errs []error
	if a.http != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
	}
	a.stopGRPC(ctx)
	if a.stopWork != nil {
		a.stopWork()
		done := make(chan struct{})
		go func() { a.work.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("pipeline did not drain: %w", ctx.Err()))
		}
	}
	errs = append(errs, a.close())
	return errors.Join(errs...)
}

// close releases the store and NATS.
func (a *App) close() error {
	var errs []error
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	errs = append(errs, a.closeAnalytics())
	for _, nc := range a.conns {
		nc.Close()
	}
	if a.nats != nil {
		a.nats.Shutdown()
	}
	return errors.Join(errs...)
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}

// Store is the engine's store (for tools that run the engine in-process,
// like the bench command).
func (a *App) Store() store.Store { return a.store }

// NATS returns the engine's NATS connection.
func (a *App) NATS() *nats.Conn { return a.nc }
