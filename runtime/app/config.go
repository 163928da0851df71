package app

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Config is everything serve can be told. The zero value plus Defaults is
// the embedded default: everything in one process, data under ./data.
type Config struct {
	DataDir string // NATS file store and Pebble store live below it
	// Roles are the parts of the pipeline this process runs; empty = all.
	Roles    Roles
	HTTPAddr string
	// SchemaBaseURL is the HTTP API's absolute URL as producers and
	// consumers reach it: processed events carry the dataschema
	// <SchemaBaseURL>/v1/schemas/<type>/v<N>, where the API serves that
	// schema. Empty derives it from the address HTTP listens on
	// (http://127.0.0.1:8080); behind a proxy, or with several processes,
	// set it to the one public URL.
	SchemaBaseURL string
	// SchemaFiles holds the JSON Schema documents of the bundle,
	// <type>/v<N>.json (schemas.FS); required.
	SchemaFiles fs.FS
	// GRPCAddr is where gRPC ingest listens; empty disables it.
	GRPCAddr string
	// TypedGRPC registers the typed gRPC services generated from the
	// schemas (typedpb.RegisterServices); nil serves the generic one only.
	TypedGRPC TypedServices
	// NATS connects to an external NATS (JetStream enabled, a cluster in
	// production) instead of starting the embedded server, when it names
	// servers.
	NATS bus.ClientConfig
	// NATSReplication replicates every stream, KV bucket and object store
	// eventrunner creates; a change is applied to existing ones at start.
	NATSReplication bus.Replication
	// NATSOperatorKey is the operator seed file of an external NATS whose
	// operator eventrunner is (`eventrunner nats init`): tenants then get
	// accounts of their own there, and eventrunner derives its own
	// credentials from it. Empty with an external NATS: eventrunner runs in
	// the one account NATS's credentials give it.
	NATSOperatorKey string
	// NATSListen is where the embedded NATS server listens, so that tenant
	// consumers and `eventrunner tail` can connect; port 0 picks one.
	NATSListen string
	// NATSSyncAlways fsyncs every JetStream write (slow; see the notes).
	NATSSyncAlways bool

	// DemoTenant is created at start with DemoAPIKey (generated when empty).
	DemoTenant string
	DemoAPIKey string

	// TenantsFile is the tenants registry (YAML); default
	// <DataDir>/tenants.yaml. It is re-read when it changes.
	TenantsFile string
	// AdminKey guards the admin API (/admin/v1/…); empty disables it. It
	// also logs in to the web console's admin view and seals its sessions.
	AdminKey string
	// NoConsole turns the web console (/console, runtime/console) and its
	// endpoints (GET /v1/events/stream, /v1/kbs, /v1/nats) off.
	NoConsole bool

	// RulesDir, when set, runs the GRL under it through grule instead of
	// the compiled knowledge bases, reloading on change.
	RulesDir string
	// RulesPoll is how often RulesDir is checked for changes.
	RulesPoll time.Duration

	Workers int // engine and runner workers; 0 = GOMAXPROCS
	// AckWait is how long a delivered event may stay unacknowledged before
	// JetStream redelivers it (after a crash, say); 0 keeps the default.
	AckWait time.Duration
	// IngestLinger is how long a small ingest request waits for others of
	// its tenant to share one ER_PROC envelope (accept.Acceptor.Linger);
	// 0 keeps the default 1 ms, negative turns group commit off.
	IngestLinger time.Duration
	// MaxEventBytes bounds one event over HTTP.
	MaxEventBytes int64
	// ShutdownTimeout bounds the drain on shutdown.
	ShutdownTimeout time.Duration

	// Cassandra, when Hosts is set, replaces the embedded Pebble store
	// (storage.go).
	Cassandra CassandraConfig
	// ClickHouseDSN, when set, feeds processed events to ClickHouse and
	// serves GET /v1/stats/counts (storage.go).
	ClickHouseDSN string
}

// Defaults fills what c leaves empty.
func (c Config) Defaults() Config {
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.NATSListen == "" {
		c.NATSListen = "127.0.0.1:4222"
	}
	if c.DemoTenant == "" {
		c.DemoTenant = "demo"
	}
	if c.RulesPoll <= 0 {
		c.RulesPoll = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	return c
}

// Check reports every problem of c.
func (c Config) Check() error {
	var errs []error
	if err := tenant.ValidID(c.DemoTenant); err != nil {
		errs = append(errs, fmt.Errorf("demo-tenant: %w", err))
	}
	if c.DemoAPIKey != "" && len(c.DemoAPIKey) < 16 {
		errs = append(errs, errors.New("demo-api-key: must be at least 16 characters"))
	}
	if c.AdminKey != "" && len(c.AdminKey) < 16 {
		errs = append(errs, errors.New("admin-key: must be at least 16 characters"))
	}
	errs = append(errs, c.NATS.Check())
	if c.NATSOperatorKey != "" && c.NATS.Auth() {
		errs = append(errs, errors.New("nats-operator-key: eventrunner derives its NATS credentials from the operator; drop nats-creds/nats-nkey/nats-user/nats-token"))
	}
	if c.NATSOperatorKey != "" && !c.NATS.External() {
		errs = append(errs, errors.New("nats-operator-key: only with nats-url (the embedded server keeps its operator in <data-dir>/nats)"))
	}
	if c.NATSReplication.Replicas < 0 || c.NATSReplication.Replicas > 5 {
		errs = append(errs, fmt.Errorf("nats-replicas: %d: JetStream allows 1 to 5", c.NATSReplication.Replicas))
	}
	if !c.NATS.External() && c.NATSReplication.N() > 1 {
		errs = append(errs, fmt.Errorf("nats-replicas: %d needs a NATS cluster (nats-url); the embedded server is a single node", c.NATSReplication.Replicas))
	}
	if c.SchemaBaseURL != "" {
		if _, err := dataschema.ParseBase(c.SchemaBaseURL); err != nil {
			errs = append(errs, fmt.Errorf("schema-base-url: %w", err))
		}
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("workers: must not be negative"))
	}
	return errors.Join(errs...)
}
