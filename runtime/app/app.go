package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/analytics"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/console"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/dlq"
	"github.com/eventrunner/eventrunner/runtime/engine"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
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
	// acceptor publishes what HTTP and gRPC ingest accept, so that their
	// small requests share envelopes (accept.Acceptor's group commit).
	acceptor *accept.Acceptor
	// dlq redrives and purges dead letters (the ingest role's /v1/dlq).
	dlq    *dlq.DLQ
	http   *http.Server
	httpLn net.Listener
	// schemaBase prefixes the canonical dataschema (Config.SchemaBaseURL,
	// else derived from httpLn); schemas serves what it points to.
	schemaBase dataschema.Base
	schemas    *schemaAPI
	grpc       *grpcServing     // gRPC ingest (grpc.go); nil when disabled
	console    *console.Console // the web console (console.go); nil with NoConsole

	analytics *analytics.Store                 // ClickHouse feeder's store (storage.go); nil when disabled
	feeder    atomic.Pointer[analytics.Feeder] // its feeder, which tenant changes reach (tenants.go)

	started  time.Time // when Start began: the console's counts run from it
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
	a = &App{cfg: cfg, log: log, reg: reg, metrics: prometheus.NewRegistry(), started: time.Now().UTC()}
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
		{"http-listen", a.listenHTTP}, // before the pipeline: the schema base may come from the port
		{"pipeline", a.startPipeline},
		{"analytics", a.forRole(RoleAnalytics, a.startAnalytics)}, // ClickHouse feeder when --clickhouse-dsn (storage.go)
		{"http", a.startHTTP},
		{"grpc", a.forRole(RoleIngest, a.startGRPC)},
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

// connect opens one more connection to NATS. Ingest, runner and engine each
// get their own: the server reads each client connection on one goroutine,
// so a shared connection serialises all of the engine's traffic on one core.
func (a *App) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := connectEngine(a.cfg, a.tn.keys, a.natsURL, name)
	if err != nil {
		return nil, nil, err
	}
	a.conns = append(a.conns, nc)
	js, err := bus.NewJetStream(nc)
	return nc, js, err
}

// openStore opens Pebble, or Cassandra when configured (storage.go).
func (a *App) openStore(ctx context.Context) error {
	if !a.cfg.Roles.needsStore() {
		return nil
	}
	a.warnLocalStore()
	s, err := a.openStoreBackend(ctx)
	if err != nil {
		return err
	}
	a.store = s
	return nil
}

// startPipeline starts the parts of the pipeline this process's roles
// name: the runner (ER_RAW → ER_PROC), the engine (ER_PROC → store, tenant
// streams) and the WASM consumers. They stop when Shutdown cancels workCtx.
// The runner's normaliser is built even without the runner role: ingest
// normalises and validates with it.
func (a *App) startPipeline(ctx context.Context) error {
	roles := a.cfg.Roles
	_, ingestJS, err := a.connect("eventrunner-ingest")
	if err != nil {
		return err
	}
	a.pub = bus.NewPublisher(ingestJS, bus.PublisherOptions{})
	_, runnerJS, err := a.connect("eventrunner-runner")
	if err != nil {
		return err
	}
	a.runner, err = runner.New(ctx, runnerJS, runner.Options{Registry: a.reg, SchemaBase: a.schemaBase, Workers: a.cfg.Workers, AckWait: a.cfg.AckWait,
		Publisher: bus.NewPublisher(runnerJS, bus.PublisherOptions{}), Metrics: a.metrics, Logger: a.log.With("component", "runner")})
	if err != nil {
		return err
	}
	workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.stopWork = cancel
	a.acceptor = &accept.Acceptor{Normalizer: a.runner.Normalizer(), Publisher: a.pub, Linger: a.cfg.IngestLinger}
	if roles.Has(RoleIngest) {
		// Redrive goes through the ingest path; raw NATS events are read
		// as the runner reads them.
		a.dlq, err = dlq.Open(ctx, a.js, dlq.Options{Acceptor: a.acceptor, Publisher: a.pub, ReadRaw: a.runner.Event,
			Replication: a.cfg.NATSReplication, Metrics: a.metrics, Limit: a.redriveLimit})
		if err != nil {
			return err
		}
	}
	if roles.Has(RoleRunner) {
		a.goWork("runner", a.runner.Run, workCtx)
	}
	if roles.Has(RoleEngine) {
		if err := a.startEngine(ctx, workCtx); err != nil {
			return err
		}
	}
	if a.tn.shared == nil {
		a.goWork("tenants-reload", a.watchTenants, workCtx) // the tenants file; a shared registry is followed (tenants.go)
	}
	if roles.Has(RoleWASM) {
		if err := a.startWASM(workCtx); err != nil { // wasm.go
			return err
		}
	}
	return nil
}

// startEngine starts the engine with the rules, their reloading with
// --rules-dir, and the forwarder of dead letters into the tenants' accounts.
func (a *App) startEngine(ctx, workCtx context.Context) error {
	_, engineJS, err := a.connect("eventrunner-engine")
	if err != nil {
		return err
	}
	rs, err := a.initialRules()
	if err != nil {
		return err
	}
	a.engine, err = engine.New(ctx, engineJS, engine.Options{Registry: a.reg, Rules: rs, Store: a.store, SchemaBase: a.schemaBase, Workers: a.cfg.Workers, AckWait: a.cfg.AckWait,
		Publisher: bus.NewPublisher(engineJS, bus.PublisherOptions{TenantAcks: a.tn.streams.Isolated()}), Metrics: a.metrics, Logger: a.log.With("component", "engine")})
	if err != nil {
		return err
	}
	a.goWork("engine", a.engine.Run, workCtx)
	if a.cfg.RulesDir != "" {
		a.goWork("rules-reload", a.watchRules, workCtx)
	}
	if a.tn.streams.Isolated() {
		fwd, err := tenantnats.NewDLQForwarder(ctx, engineJS, bus.NewPublisher(engineJS, bus.PublisherOptions{}), a.tenants,
			a.tn.migrated, a.log.With("component", "dlq-forwarder"))
		if err != nil {
			return err
		}
		a.goWork("dlq-forwarder", fwd.Run, workCtx)
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

// listenHTTP binds the API's address, fixes the schema base (from the
// configuration, else from the bound address, so that port 0 works) and
// prepares the schema API.
func (a *App) listenHTTP(context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return err
	}
	a.httpLn = problemListener(ln, defaultHTTPLimits().MaxHeaderBytes)
	if a.schemaBase, err = a.resolveSchemaBase(ln.Addr().String()); err != nil {
		return err
	}
	a.schemas, err = newSchemaAPI(a.reg, a.cfg.SchemaFiles, a.schemaBase)
	return err
}

func (a *App) resolveSchemaBase(addr string) (dataschema.Base, error) {
	if a.cfg.SchemaBaseURL != "" {
		return dataschema.ParseBase(a.cfg.SchemaBaseURL)
	}
	b, wildcard, err := dataschema.BaseFromAddr(addr)
	if err == nil && wildcard {
		a.log.Warn("dataschema URLs name localhost, reachable only on this machine: set --schema-base-url to the API's public URL",
			"schema_base_url", string(b), "http_addr", addr)
	}
	return b, err
}

// startHTTP serves the API with deliberate timeouts and problem details
// even for what net/http answers itself (httpserver.go).
func (a *App) startHTTP(context.Context) error {
	h, err := a.routes()
	if err != nil {
		return err
	}
	a.http = newHTTPServer(h, defaultHTTPLimits(), slog.NewLogLogger(a.log.Handler(), slog.LevelWarn))
	if a.console != nil {
		a.http.RegisterOnShutdown(a.console.Close) // live tails are never idle: end them, or Shutdown waits out its timeout
	}
	ln := a.httpLn
	go func() {
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// SchemaBase is the prefix of the canonical dataschema of processed events.
func (a *App) SchemaBase() string { return string(a.schemaBase) }

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
	if a.http == nil && a.httpLn != nil { // bound, never served
		_ = a.httpLn.Close()
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	errs = append(errs, a.closeAnalytics())
	if a.tn.unfollow != nil {
		a.tn.unfollow()
	}
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
