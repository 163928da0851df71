package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// tenancy is the app's tenant state: the registry loaded from the tenants
// file (plus the demo tenant), the manager the admin API changes it with,
// the ingest rate limiter, and the NATS side: the operator keys, the
// accounts they issue and the tenants' streams (natsauth.go).
type tenancy struct {
	path     string
	manager  *tenant.Manager
	limiter  *tenant.Limiter
	shared   *tenantnats.KVStore // the registry on an external NATS; nil on the embedded server
	unfollow context.CancelFunc  // stops following shared
	// started is closed once accounts and streams are up: changes the
	// shared registry delivers before then wait for it.
	started chan struct{}
	stopped <-chan struct{} // the follow context's Done
	demo    bool            // a demo tenant is served (see startTenants)

	keys     *tenantnats.Keys     // nil when the NATS operator is not eventrunner
	accounts *tenantnats.Accounts // nil without keys
	streams  *tenantnats.Streams
	callout  *tenantnats.Callout
	migrated bool // the embedded server's streams were moved into accounts at this start
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
// before NATS starts, since the embedded server is configured with the
// tenants' accounts. With an external NATS the registry is the shared KV
// bucket instead, opened once connected (startSharedTenants); the demo
// tenant exists there only when its key was given (--demo-api-key), since
// every process would otherwise invent a different one.
func (a *App) startTenants(context.Context) error {
	a.tn = tenancy{path: a.cfg.tenantsFile(), limiter: tenant.NewLimiter()}
	a.tenants = tenant.NewRegistry()
	a.tn.demo = !a.cfg.NATS.External() || a.cfg.DemoAPIKey != ""
	if !a.tn.demo {
		a.cfg.DemoTenant = ""
		return nil
	}
	if a.cfg.DemoAPIKey == "" {
		a.cfg.DemoAPIKey = tenant.NewKey()
	}
	if a.cfg.NATS.External() {
		return nil
	}
	if err := a.loadTenants(); err != nil {
		return err
	}
	a.tn.manager = &tenant.Manager{Store: &tenant.FileStore{Path: a.tn.path}, Registry: a.tenants, NewSigningKey: NewSigningKey,
		Changed: a.tenantChanged, Removed: a.tenantRemoved}
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

// startSharedTenants opens the registry every process on an external NATS
// shares (tenantnats.RegistryBucket), imports the tenants file when there
// is one (tenants the bucket already has are kept as they are), puts the
// demo tenant's key in, and follows the bucket from then on.
func (a *App) startSharedTenants(ctx context.Context) error {
	kv, err := tenantnats.OpenKVStore(ctx, a.js, a.cfg.NATSReplication)
	if err != nil {
		return err
	}
	a.tn.shared = kv
	if err := a.importTenantsFile(kv); err != nil {
		return err
	}
	if a.tn.demo {
		if err := a.putDemoKey(kv); err != nil {
			return err
		}
	}
	followCtx, unfollow := context.WithCancel(context.WithoutCancel(ctx))
	a.tn.unfollow, a.tn.stopped, a.tn.started = unfollow, followCtx.Done(), make(chan struct{})
	ts, err := kv.Follow(followCtx, a.applySharedChange)
	if err != nil {
		return err
	}
	if err := a.tenants.Replace(ts); err != nil {
		return err
	}
	a.tn.manager = &tenant.Manager{Store: kv, Shared: true, Registry: a.tenants, NewSigningKey: NewSigningKey,
		Changed: a.tenantChanged, Removed: a.tenantRemoved}
	return nil
}

// importTenantsFile copies the tenants of the tenants file into the shared
// registry, skipping those it has (the registry is the truth once shared).
func (a *App) importTenantsFile(kv *tenantnats.KVStore) error {
	ts, err := tenant.ReadFile(a.tn.path)
	if err != nil || len(ts) == 0 {
		return err
	}
	var imported, kept []string
	for _, t := range ts {
		_, err := kv.Modify(t.ID, func(old tenant.Tenant, ok bool) (tenant.Tenant, error) {
			if ok {
				return tenant.Tenant{}, tenant.ErrExists
			}
			return t, nil
		})
		switch {
		case errors.Is(err, tenant.ErrExists):
			kept = append(kept, t.ID)
		case err != nil:
			return fmt.Errorf("import %s: %w", a.tn.path, err)
		default:
			imported = append(imported, t.ID)
		}
	}
	a.log.Info("tenants file imported into the shared registry", "file", a.tn.path, "bucket", tenantnats.RegistryBucket,
		"imported", imported, "already_there", kept)
	return nil
}

// putDemoKey makes the demo tenant's key valid in the shared registry.
func (a *App) putDemoKey(kv *tenantnats.KVStore) error {
	hash := tenant.HashKey(a.cfg.DemoAPIKey)
	_, err := kv.Modify(a.cfg.DemoTenant, func(t tenant.Tenant, ok bool) (tenant.Tenant, error) {
		if !ok {
			t = tenant.Tenant{ID: a.cfg.DemoTenant}
		}
		if !slices.Contains(t.KeyHashes, hash) {
			t.KeyHashes = append(t.KeyHashes, hash)
		}
		return t, nil
	})
	return err
}

// applySharedChange applies one change of the shared registry, made by any
// process, to this one: the registry, then the hooks (all idempotent, so
// every process running them is harmless).
func (a *App) applySharedChange(c tenantnats.Change) {
	select {
	case <-a.tn.started:
	case <-a.tn.stopped:
		return
	}
	switch {
	case c.Err != nil:
		a.log.Error("tenant registry: skipping a value that does not decode; the tenant keeps its previous settings", "tenant", c.ID, "err", c.Err)
	case c.Deleted:
		if !a.tenants.Remove(c.ID) {
			return
		}
		if err := a.tenantRemoved(c.ID); err != nil {
			a.log.Error("tenant removal", "tenant", c.ID, "err", err)
		}
	default:
		if old, ok := a.tenants.Get(c.ID); ok && reflect.DeepEqual(old, c.Tenant) {
			return
		}
		if err := a.tenants.Add(c.Tenant); err != nil {
			a.log.Error("tenant registry", "tenant", c.ID, "err", err)
			return
		}
		if err := a.tenantChanged(c.Tenant); err != nil {
			a.log.Error("tenant change", "tenant", c.ID, "err", err)
		}
	}
}

// startTenantStreams creates or updates every tenant's stream, then lets
// the changes of a shared registry through.
func (a *App) startTenantStreams(ctx context.Context) error {
	for _, t := range a.tenants.List() {
		if err := a.tn.streams.Ensure(ctx, t); err != nil {
			return err
		}
	}
	if a.tn.started != nil {
		close(a.tn.started)
	}
	return nil
}

// watchTenants polls the tenants file and applies what changed, so that
// `eventrunner tenant …` run against the same file takes effect without a
// restart.
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
		if err := a.reloadTenants(); err != nil {
			a.log.Error("tenants file reload failed; keeping the previous tenants", "file", a.tn.path, "err", err)
		}
	}
}

func (a *App) reloadTenants() error {
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
	}
	for id := range before {
		if err := a.tenantRemoved(id); err != nil {
			a.log.Error("tenant removal", "tenant", id, "err", err)
		}
	}
	a.log.Info("tenants reloaded", "file", a.tn.path, "tenants", len(a.tenants.List()))
	return nil
}

// tenantChanged follows a created or changed tenant: its account (API keys
// are signing keys there, so a revoked key's connections close at once),
// the engine's imports from it, its stream, its WASM consumers and the
// ClickHouse feeder's consumer on it.
func (a *App) tenantChanged(t tenant.Tenant) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.tn.limiter.Forget(t.ID)
	if a.tn.accounts != nil {
		if err := a.tn.accounts.PutTenant(ctx, t); err != nil {
			return err
		}
		if err := a.tn.accounts.PutEngine(ctx, a.tenantIDs()); err != nil {
			return err
		}
	}
	if err := a.tn.streams.Ensure(ctx, t); err != nil {
		return err
	}
	a.tenantWASMChanged(t.ID) // wasm.go
	return a.feedTenant(ctx, t.ID)
}

// tenantRemoved stops a deleted tenant's WASM consumers and its feed to
// ClickHouse, deletes its stream (and the consumers on it) and retires its
// account, which closes its NATS connections.
func (a *App) tenantRemoved(id string) error {
	a.tn.limiter.Forget(id)
	a.stopTenantWASM(id)
	a.unfeedTenant(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	errs = append(errs, a.tn.streams.Delete(ctx, id))
	if a.tn.accounts != nil {
		if err := a.tn.accounts.PutEngine(ctx, a.tenantIDs()); err != nil {
			return errors.Join(append(errs, err)...)
		}
		errs = append(errs, a.tn.accounts.RemoveTenant(ctx, id))
	}
	return errors.Join(errs...)
}

func (a *App) tenantIDs() []string {
	ts := a.tenants.List()
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
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

// redriveLimit charges a dead-letter redrive to the tenant's ingest rate,
// the bucket ingest draws from (dlq.Options.Limit).
func (a *App) redriveLimit(id string, n int) (time.Duration, bool) {
	t, ok := a.tenants.Get(id)
	if !ok {
		return 0, true // the redrive finds no dead letters of a tenant that is gone
	}
	return a.tn.limiter.Allow(t, n)
}
