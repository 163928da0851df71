package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Config is everything serve can be told. The zero value plus Defaults is
// the embedded default: everything in one process, data under ./data.
type Config struct {
	DataDir  string // NATS file store and Pebble store live below it
	HTTPAddr string
	// GRPCAddr is where gRPC ingest listens; empty disables it.
	GRPCAddr string
	// TypedGRPC registers the typed gRPC services generated from the
	// schemas (typedpb.RegisterServices); nil serves the generic one only.
	TypedGRPC TypedServices
	// NATSURL connects to an external NATS (JetStream enabled) instead of
	// starting the embedded server.
	NATSURL string
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
	// AdminKey guards the admin API (/admin/v1/…); empty disables it.
	AdminKey string

	// RulesDir, when set, runs the GRL under it through grule instead of
	// the compiled knowledge bases, reloading on change.
	RulesDir string
	// RulesPoll is how often RulesDir is checked for changes.
	RulesPoll time.Duration

	Workers int // engine and runner workers; 0 = GOMAXPROCS
	// AckWait is how long a delivered event may stay unacknowledged before
	// JetStream redelivers it (after a crash, say); 0 keeps the default.
	AckWait time.Duration
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
	if c.Workers < 0 {
		errs = append(errs, errors.New("workers: must not be negative"))
	}
	return errors.Join(errs...)
}
