package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// tenancy is the app's tenant state: the registry loaded from the tenants
// file (plus the demo tenant), the manager the admin API changes it with,
// the ingest rate limiter and the embedded server's credentials.
type tenancy struct {
	path       string
	manager    *tenant.Manager
	limiter    *tenant.Limiter
	enginePass string // the engine's NATS password, fresh at every start
}

// tenantsFile is where the tenants live: --tenants-file or
// <data-dir>/tenants.yaml.
func (c Config) tenantsFile() string {
	if c.TenantsFile != "" {
		return c.TenantsFile
	}
	return filepath.Join(c.DataDir, "tenants.yaml")
}

// startTenants loads the tenants file and adds the demo tenant. It runs
// before NATS starts, since the embedded server authenticates against it.
func (a *App) startTenants(context.Context) error {
	a.tn = tenancy{path: a.cfg.tenantsFile(), limiter: tenant.NewLimiter(), enginePass: tenant.NewKey()}
	a.tenants = tenant.NewRegistry()
	if a.cfg.DemoAPIKey == "" {
		a.cfg.DemoAPIKey = tenant.NewKey()
	}
	if err := a.loadTenants(); err != nil {
		return err
	}
	a.tn.manager = &tenant.Manager{Path: a.tn.path, Registry: a.tenants, NewSigningKey: NewSigningKey,
		Changed: a.tenantChanged, Removed: a.tenantRemoved, KeysRevoked: a.disconnectTenant}
	return nil
}

// loadTenants reads the file into the registry. The demo tenant is kept in
// memory only; when the file also defines it, the demo key is added to the
// file's keys.
func (a *App) loadTenants() error {
	ts, err := tenant.ReadFile(a.tn.path)
	if err != nil {
		return err
	}
	demoHash := tenant.HashKey(a.cfg.DemoAPIKey)
	found := false
	for i := range ts {
		if ts[i].ID == a.cfg.DemoTenant {
			ts[i].KeyHashes = append(ts[i].KeyHashes, demoHash)
			found = true
		}
	}
	if !found {
		ts = append(ts, tenant.Tenant{ID: a.cfg.DemoTenant, KeyHashes: []string{demoHash}})
	}
	return a.tenants.Replace(ts)
}

// natsAuth is the embedded server's authenticator: nil with an external
// NATS, whose operator configures its own accounts.
func (a *App) natsAuth() server.Authentication {
	return tenantnats.NewAuth(a.tenants, a.tn.enginePass)
}

// natsClientOptions are the engine's credentials on the embedded server.
func (a *App) natsClientOptions() []nats.Option {
	if a.cfg.NATSURL != "" {
		return nil
	}
	return []nats.Option{nats.UserInfo(tenantnats.EngineUser, a.tn.enginePass)}
}

// startTenantStreams creates or updates every tenant's stream and starts
// watching the tenants file, so that `eventrunner tenant …` run against the
// same file takes effect without a restart.
func (a *App) startTenantStreams(ctx context.Context) error {
	for _, t := range a.tenants.List() {
		if err := tenantnats.EnsureStream(ctx, a.js, t); err != nil {
			return err
		}
	}
	return nil
}

// watchTenants polls the tenants file and applies what changed.
func (a *App) watchTenants(ctx context.Context) error {
	last, _ := os.ReadFile(a.tn.path)
	tick := time.NewTicker(a.cfg.RulesPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur, err := os.ReadFile(a.tn.path)
		if (err != nil && !os.IsNotExist(err)) || bytes.Equal(cur, last) {
			continue
		}
		last = cur
		if err := a.reloadTenants(ctx); err != nil {
			a.log.Error("tenants file reload failed; keeping the previous tenants", "file", a.tn.path, "err", err)
		}
	}
}

func (a *App) reloadTenants(ctx context.Context) error {
	before := map[string]tenant.Tenant{}
	for _, t := range a.tenants.List() {
		before[t.ID] = t
	}
	if err := a.loadTenants(); err != nil {
		return err
	}
	for _, t := range a.tenants.List() {
		old, existed := before[t.ID]
		delete(before, t.ID)
		if existed && fmt.Sprint(old) == fmt.Sprint(t) {
			continue
		}
		if err := a.tenantChanged(t); err != nil {
			a.log.Error("tenant change", "tenant", t.ID, "err", err)
		}
		if existed && !subset(old.KeyHashes, t.KeyHashes) {
			a.disconnectTenant(t.ID)
		}
	}
	for id := range before {
		if err := a.tenantRemoved(id); err != nil {
			a.log.Error("tenant removal", "tenant", id, "err", err)
		}
	}
	a.log.Info("tenants reloaded", "file", a.tn.path, "tenants", len(a.tenants.List()))
	return nil
}

// tenantChanged follows a created or changed tenant: its stream and limits.
func (a *App) tenantChanged(t tenant.Tenant) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.tn.limiter.Forget(t.ID)
	if err := tenantnats.EnsureStream(ctx, a.js, t); err != nil {
		return err
	}
	return a.ensureAnalyticsStream(ctx)
}

// tenantRemoved stops a deleted tenant's WASM consumers, closes its NATS
// connections and deletes its stream.
func (a *App) tenantRemoved(id string) error {
	a.tn.limiter.Forget(id)
	a.stopTenantWASM(id)
	a.disconnectTenant(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.ensureAnalyticsStream(ctx); err != nil { // stop sourcing from it first
		return err
	}
	return tenantnats.DeleteStream(ctx, a.js, id)
}

func (a *App) disconnectTenant(id string) {
	if a.nats == nil {
		return
	}
	if n, err := tenantnats.Disconnect(a.nats.NATS(), id); err != nil || n > 0 {
		a.log.Info("closed the tenant's NATS connections", "tenant", id, "closed", n, "err", err)
	}
}

func subset(a, b []string) bool {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	for _, s := range a {
		if !in[s] {
			return false
		}
	}
	return true
}

// NewSigningKey returns a fresh nkeys account key pair for signing a
// tenant's WASM modules: the seed (kept by the tenant) and the public key
// (stored in the registry).
func NewSigningKey() (seed, public string, err error) {
	kp, err := nkeys.CreateAccount()
	if err != nil {
		return "", "", fmt.Errorf("signing key: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", "", err
	}
	pub, err := kp.PublicKey()
	return string(s), pub, err
}

// Tenants is the manager of the running engine's tenants.
func (a *App) Tenants() *tenant.Manager { return a.tn.manager }
