package app

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// operatorFile is the embedded server's operator seed, created at the first
// start: every account and user is derived from it.
func (c Config) operatorFile() string { return filepath.Join(c.DataDir, "nats", "operator.nk") }

// loadOperator finds the NATS operator: the embedded server's own, or
// --nats-operator-key for an external NATS whose operator eventrunner is
// (`eventrunner nats init`). An external NATS without it gives eventrunner
// one account: tenants then have no NATS access of their own.
func (a *App) loadOperator() error {
	var err error
	switch {
	case !a.cfg.NATS.External():
		a.tn.keys, err = tenantnats.LoadOrCreateKeys(a.cfg.operatorFile())
	case a.cfg.NATSOperatorKey != "":
		a.tn.keys, err = tenantnats.ReadKeys(a.cfg.NATSOperatorKey)
	}
	return err
}

// startNATS starts the embedded server (or finds the external one), opens
// the control connection, brings the accounts in step with the tenants,
// starts the auth callout and ensures the shared streams.
func (a *App) startNATS(ctx context.Context) error {
	if err := a.loadOperator(); err != nil {
		return err
	}
	url := a.cfg.NATS.URL()
	if !a.cfg.NATS.External() {
		var err error
		if url, err = a.startEmbeddedNATS(); err != nil {
			return err
		}
	}
	a.natsURL = url
	var err error
	if a.nc, a.js, err = a.connect("eventrunner"); err != nil {
		return err
	}
	if a.cfg.NATS.External() {
		if err := a.startSharedTenants(ctx); err != nil { // tenants.go
			return err
		}
	}
	if a.tn.keys == nil {
		a.log.Warn("NATS tenancy is off: the external NATS is not run with eventrunner's operator (--nats-operator-key), so tenants get no NATS access; they use the HTTP and gRPC APIs")
		a.tn.streams = tenantnats.SharedStreams(a.js, a.cfg.NATSReplication)
	} else if err := a.startAccounts(ctx); err != nil {
		return err
	}
	return bus.EnsureStreams(ctx, a.js, bus.StreamsConfig{Replication: a.cfg.NATSReplication})
}

// startEmbeddedNATS starts the in-process server in operator mode with every
// tenant's account preloaded, after moving the streams of a data directory
// written before accounts into theirs.
func (a *App) startEmbeddedNATS() (string, error) {
	host, port, err := splitHostPort(a.cfg.NATSListen)
	if err != nil {
		return "", fmt.Errorf("nats-listen: %w", err)
	}
	dir := filepath.Join(a.cfg.DataDir, "nats")
	moved, err := tenantnats.MigrateSharedStreams(bus.AccountsDir(dir), a.tn.keys)
	if err != nil {
		return "", err
	}
	if len(moved) > 0 {
		a.log.Info("moved the streams of a data directory written before tenant accounts into their accounts", "streams", moved)
		a.tn.migrated = true
	}
	mode, err := a.tn.keys.EmbeddedMode(a.tenants.List())
	if err != nil {
		return "", err
	}
	a.nats, err = bus.StartEmbedded(bus.Options{
		DataDir: dir, Host: host, Port: port,
		SyncAlways: a.cfg.NATSSyncAlways, Logger: a.log.With("component", "nats-server"),
		Operator: mode,
	})
	if err != nil {
		return "", err
	}
	return a.nats.ClientURL(), nil
}

// startAccounts pushes the accounts the servers lack (on an external cluster
// every tenant's; the embedded server was preloaded) and serves the auth
// callout that turns API-key logins into users of the tenants' accounts.
func (a *App) startAccounts(ctx context.Context) error {
	k := a.tn.keys
	sysCreds, err := k.SystemCreds()
	if err != nil {
		return err
	}
	sys, err := a.dial("eventrunner-accounts", sysCreds.Options())
	if err != nil {
		return err
	}
	a.tn.accounts = tenantnats.NewAccounts(sys, k)
	a.tn.accounts.EventReplicas = a.cfg.NATSReplication.N()
	if err := a.tn.accounts.PutFixed(ctx); err != nil {
		return err
	}
	if err := a.tn.accounts.Apply(ctx, a.tenants.List()); err != nil {
		return err
	}
	calloutCreds, err := k.CalloutCreds()
	if err != nil {
		return err
	}
	cnc, err := a.dial("eventrunner-auth-callout", calloutCreds.Options())
	if err != nil {
		return err
	}
	if a.tn.callout, err = tenantnats.StartCallout(cnc, k, a.tenants, a.log.With("component", "auth-callout")); err != nil {
		return err
	}
	a.tn.streams = tenantnats.AccountStreams(a.nc, a.cfg.NATSReplication)
	return nil
}

// engineOptions are the engine's credentials: its user in the engine
// account when eventrunner is the operator, else the configured ones.
func engineOptions(cfg Config, keys *tenantnats.Keys) ([]nats.Option, error) {
	if keys == nil {
		return cfg.NATS.Options(true)
	}
	c, err := keys.EngineCreds()
	if err != nil {
		return nil, err
	}
	transport, _ := cfg.NATS.Options(false) // only credential options can fail
	return append(transport, c.Options()...), nil
}

// ConnectExternal connects to cfg's external NATS as the engine would, for
// a tool that looks at a cluster before starting an engine on it (bench).
func ConnectExternal(cfg Config, name string) (*nats.Conn, error) {
	var keys *tenantnats.Keys
	if cfg.NATSOperatorKey != "" {
		var err error
		if keys, err = tenantnats.ReadKeys(cfg.NATSOperatorKey); err != nil {
			return nil, err
		}
	}
	return connectEngine(cfg, keys, cfg.NATS.URL(), name)
}

// connectEngine connects to url with the engine's credentials; when they
// are the user's own (no operator key), a refusal names their flags.
func connectEngine(cfg Config, keys *tenantnats.Keys, url, name string) (*nats.Conn, error) {
	opts, err := engineOptions(cfg, keys)
	if err != nil {
		return nil, err
	}
	nc, err := bus.Connect(url, append(opts, nats.Name(name))...)
	if err != nil && keys == nil {
		return nil, cfg.NATS.Refused(err)
	}
	return nc, err
}

// transportOptions are the TLS and reconnect settings every connection to
// an external NATS uses, whatever its credentials.
func (a *App) transportOptions() []nats.Option {
	opts, _ := a.cfg.NATS.Options(false) // only credential options can fail
	return opts
}

// dial opens a connection with other credentials than the engine's.
func (a *App) dial(name string, opts []nats.Option) (*nats.Conn, error) {
	opts = append(a.transportOptions(), opts...)
	nc, err := bus.Connect(a.natsURL, append(opts, nats.Name(name))...)
	if err != nil {
		return nil, err
	}
	a.conns = append(a.conns, nc)
	return nc, nil
}

// tenantCreds issues a .creds file of a user of tenant id's account.
func (a *App) tenantCreds(id string, expires time.Time) ([]byte, error) {
	c, err := a.tn.keys.TenantCreds(id, expires)
	if err != nil {
		return nil, err
	}
	return c.File()
}
