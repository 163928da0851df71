package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// Deployment is a deployed consumer, as stored next to its module.
type Deployment struct {
	Tenant      string    `json:"tenant"`
	Name        string    `json:"name"`
	Claims      Claims    `json:"claims"`
	Signature   string    `json:"signature"`
	Limits      Limits    `json:"limits"`
	MaxAttempts int       `json:"max_attempts"`
	Deliver     string    `json:"deliver"` // "new" or "all"
	Deployed    time.Time `json:"deployed"`
}

// Info is a deployment and what its consumer did on this process.
type Info struct {
	Deployment
	Stats Stats `json:"stats"`
	// Error says why this process does not run the deployment (its module
	// no longer verifies, …); empty when it runs it.
	Error string `json:"error,omitempty"`
}

// DeployRequest is what a tenant uploads.
type DeployRequest struct {
	Name      string `json:"name"`
	Module    []byte `json:"module"`    // the .wasm file (base64 in JSON)
	Signature string `json:"signature"` // from `eventrunner wasm sign`
	// Optional settings; zero takes the defaults.
	Pool         int    `json:"pool,omitempty"`
	TimeoutMS    int    `json:"timeout_ms,omitempty"`
	MemoryMB     int    `json:"memory_mb,omitempty"`
	MaxEmitBytes int    `json:"max_emit_bytes,omitempty"`
	MaxAttempts  int    `json:"max_attempts,omitempty"`
	Deliver      string `json:"deliver,omitempty"` // "new" (default) or "all" of the tenant's stream
}

// TenantLookup finds a tenant by id (tenant.Registry is one).
type TenantLookup interface {
	Get(id string) (tenant.Tenant, bool)
}

// Manager deploys, runs and removes the tenants' consumers. It runs every
// deployment of its Store: restarted by Start and, with a shared store,
// started, replaced and stopped as any process changes the store. Every
// process runs a deployment with the same durable consumer, so they share
// its events.
type Manager struct {
	// Store keeps the deployments; nil is a FileStore in Dir.
	Store Store
	Dir   string
	Host  *Host
	// JS publishes the consumers' outputs and dead letters (the engine's
	// account); Streams reaches each tenant's stream.
	JS      jetstream.JetStream
	Streams *tenantnats.Streams
	Tenants TenantLookup
	Metrics *Metrics
	Log     *slog.Logger
	// Backoff overrides DefaultBackoff (tests use short delays).
	Backoff []time.Duration
	// MaxPerTenant bounds a tenant's consumers, so that one tenant cannot
	// take the host's memory and cores from the others; default 8.
	MaxPerTenant int

	// changing serialises starting and stopping consumers: the store's
	// changes, TenantChanged, RemoveTenant and Close.
	changing sync.Mutex

	mu         sync.Mutex
	ctx        context.Context
	stopFollow context.CancelFunc
	deps       map[string]*slot     // by tenant + "/" + name; nil when not started or closed
	prepared   map[string]*prepared // modules Deploy loaded, for the change it stored
	progress   *bus.Progress        // how far this process applied the store's changes
}

// slot is a stored deployment and, when this process runs it, its consumer.
type slot struct {
	d     Deployment
	rev   uint64
	c     *consumer // nil when not running here
	err   error     // why not
	tries int       // failed starts of this revision in a row
}

// startRetry spaces the retries of a start that failed on something that
// passes: the module or the tenant's stream not answering while the
// cluster elects a leader, or a replica that is behind.
var startRetry = []time.Duration{250 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 15 * time.Second}

// prepared is a module Deploy verified and loaded before storing d (as
// JSON), handed to the change that brings d back.
type prepared struct {
	d   []byte
	mod *Module
}

// ErrNotDeployed is returned for a consumer name a tenant has not deployed.
var ErrNotDeployed = errors.New("no such WASM consumer")

func key(tenantID, name string) string { return tenantID + "/" + name }

// Start runs the stored deployments and, with a shared store, follows it;
// ctx bounds the consumers' lives. A deployment that no longer loads (its
// tenant is gone, its module changed, its signing key was withdrawn) is
// logged and kept, not running, with the reason (Info.Error).
func (m *Manager) Start(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.Backoff == nil {
		m.Backoff = DefaultBackoff
	}
	if m.Store == nil {
		m.Store = &FileStore{Dir: m.Dir}
	}
	followCtx, stop := context.WithCancel(ctx)
	m.mu.Lock()
	m.ctx, m.stopFollow, m.progress = ctx, stop, &bus.Progress{}
	m.deps, m.prepared = map[string]*slot{}, map[string]*prepared{}
	m.mu.Unlock()
	if err := m.Store.Follow(followCtx, m.apply); err != nil {
		stop()
		return err
	}
	if m.Store.Shared() {
		pctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		m.prune(pctx)
	}
	return nil
}

// apply brings one stored change to this process.
func (m *Manager) apply(c Change) {
	defer m.setApplied(c.Rev)
	m.changing.Lock()
	defer m.changing.Unlock()
	switch {
	case c.Err != nil:
		m.Log.Error("WASM deployment does not decode; left as it was", "tenant", c.Tenant, "consumer", c.Name, "err", c.Err)
	case c.Deleted:
		m.drop(key(c.Tenant, c.Name))
	default:
		m.start(c.Deployment, c.Rev)
	}
}

// start runs d, replacing the consumer of the same name. The caller holds
// m.changing.
func (m *Manager) start(d Deployment, rev uint64) {
	k := key(d.Tenant, d.Name)
	m.mu.Lock()
	if m.deps == nil {
		m.mu.Unlock()
		return
	}
	ctx, old := m.ctx, m.deps[k]
	mod := m.takePrepared(k, d)
	m.mu.Unlock()
	tries := 0
	if old != nil && old.rev == rev && old.c == nil {
		tries = old.tries
	}
	var err error
	passing := false // err may pass: worth trying again
	if mod == nil {
		d, mod, err = m.load(ctx, d)
		passing = errors.Is(err, errStore)
	}
	if old != nil && old.c != nil {
		old.c.stop(ctx)
	}
	var c *consumer
	if err == nil {
		if c, err = m.startConsumer(d, mod); err != nil {
			mod.Close(context.Background())
			passing = true
		}
	}
	if err != nil {
		tries++
	}
	m.mu.Lock()
	if m.deps != nil {
		m.deps[k] = &slot{d: d, rev: rev, c: c, err: err, tries: tries}
	}
	m.mu.Unlock()
	if err != nil {
		m.Log.Error("WASM consumer not running on this process", "tenant", d.Tenant, "consumer", d.Name, "err", err, "tries", tries, "retry", passing)
		if passing {
			m.retryStart(k, rev, startRetry[min(tries, len(startRetry))-1])
		}
		return
	}
	m.Log.Info("WASM consumer running", "tenant", d.Tenant, "consumer", d.Name, "pool", d.Limits.Pool, "module_sha256", d.Claims.ModuleSHA256)
}

// load fetches d's module, verifies it again (the tenant's signing keys
// may have changed since it was deployed, the stored module may not be
// the one signed) and loads it. It returns d with the verified claims.
func (m *Manager) load(ctx context.Context, d Deployment) (Deployment, *Module, error) {
	t, ok := m.Tenants.Get(d.Tenant)
	if !ok {
		return d, nil, fmt.Errorf("tenant %s: %w", d.Tenant, tenant.ErrNotFound)
	}
	module, err := m.Store.Module(ctx, d)
	if err != nil {
		return d, nil, fmt.Errorf("%w: %w", errStore, err)
	}
	if got := ModuleSHA256(module); got != d.Claims.ModuleSHA256 {
		return d, nil, &SignatureError{Reason: fmt.Sprintf("the stored module's sha256 %s is not the %s its claims name", got, d.Claims.ModuleSHA256)}
	}
	claims, err := Verify(d.Signature, module, t.ID, t.SigningKeys)
	if err != nil {
		return d, nil, err
	}
	if claims.Name != d.Name {
		return d, nil, &SignatureError{Reason: fmt.Sprintf("the claims are for consumer %q, not %q", claims.Name, d.Name)}
	}
	d.Claims = claims
	mod, err := m.Host.Load(ctx, module, claims.Capabilities, d.Limits)
	return d, mod, err
}

// errStore marks a start that failed on reading the store, not on the
// deployment itself.
var errStore = errors.New("reading the module")

// retryStart starts deployment k again after delay, unless by then it runs,
// another revision replaced it or the manager stopped.
func (m *Manager) retryStart(k string, rev uint64, delay time.Duration) {
	time.AfterFunc(delay, func() {
		m.changing.Lock()
		defer m.changing.Unlock()
		m.mu.Lock()
		s, stopped := m.deps[k], m.deps == nil || m.ctx.Err() != nil
		m.mu.Unlock()
		if stopped || s == nil || s.rev != rev || s.c != nil {
			return
		}
		m.start(s.d, rev)
	})
}

func (m *Manager) startConsumer(d Deployment, mod *Module) (*consumer, error) {
	tjs, err := m.Streams.JetStream(d.Tenant)
	if err != nil {
		return nil, err
	}
	return startConsumer(m.ctx, m.JS, tjs, d, mod, m.Metrics, m.Log, m.Backoff)
}

// drop stops and forgets deployment k. The caller holds m.changing.
func (m *Manager) drop(k string) {
	m.mu.Lock()
	s := m.deps[k]
	delete(m.deps, k)
	m.mu.Unlock()
	if s == nil {
		return
	}
	if s.c != nil {
		s.c.stop(context.Background())
	}
	m.Metrics.forget(s.d.Tenant, s.d.Name)
	m.Log.Info("WASM consumer stopped", "tenant", s.d.Tenant, "consumer", s.d.Name)
}

// Deploy verifies a tenant's upload, loads it (so that a module that does
// not load is refused before it is stored), stores it and runs it,
// replacing a consumer of the same name (which keeps its position in the
// stream). With a shared store it returns once this process runs it; the
// others start it as they see the change.
func (m *Manager) Deploy(ctx context.Context, tenantID string, req DeployRequest) (Info, error) {
	d, err := m.check(tenantID, req)
	if err != nil {
		return Info{}, err
	}
	mod, err := m.Host.Load(ctx, req.Module, d.Claims.Capabilities, d.Limits)
	if err != nil {
		return Info{}, err
	}
	k := key(d.Tenant, d.Name)
	p, oldSHA, err := m.prepare(k, d, mod)
	if err != nil {
		return Info{}, err
	}
	defer m.unprepare(k, p)
	rev, err := m.Store.Put(ctx, d, req.Module)
	if err != nil {
		return Info{}, err
	}
	if !m.Store.Shared() {
		m.apply(Change{Tenant: d.Tenant, Name: d.Name, Deployment: d})
	} else if err := m.waitApplied(ctx, k, rev); err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	s := m.deps[k]
	m.mu.Unlock()
	if s != nil && s.rev == rev && s.err != nil {
		return Info{}, fmt.Errorf("wasm: %s/%s stored but not started: %w", d.Tenant, d.Name, s.err)
	}
	if oldSHA != "" && oldSHA != d.Claims.ModuleSHA256 {
		m.prune(ctx, oldSHA)
	}
	return m.info(d.Tenant, d.Name)
}

// check verifies req and returns the deployment it asks for.
func (m *Manager) check(tenantID string, req DeployRequest) (Deployment, error) {
	t, ok := m.Tenants.Get(tenantID)
	if !ok {
		return Deployment{}, fmt.Errorf("tenant %s: %w", tenantID, tenant.ErrNotFound)
	}
	if err := CheckName(req.Name); err != nil {
		return Deployment{}, &GuestError{Kind: "abi", Reason: err.Error()}
	}
	claims, err := Verify(req.Signature, req.Module, t.ID, t.SigningKeys)
	if err != nil {
		return Deployment{}, err
	}
	if claims.Name != req.Name {
		return Deployment{}, &SignatureError{Reason: fmt.Sprintf("the claims are for consumer %q, not %q", claims.Name, req.Name)}
	}
	if n, max := m.count(t.ID, req.Name), m.maxPerTenant(); n >= max {
		return Deployment{}, &GuestError{Kind: "limit", Reason: fmt.Sprintf("tenant %s already runs %d WASM consumers, the most allowed", t.ID, max)}
	}
	if req.Deliver != "" && req.Deliver != "new" && req.Deliver != "all" {
		return Deployment{}, &GuestError{Kind: "abi", Reason: fmt.Sprintf("deliver %q: want new or all", req.Deliver)}
	}
	d := Deployment{Tenant: t.ID, Name: req.Name, Claims: claims, Signature: req.Signature, Deliver: req.Deliver,
		MaxAttempts: req.MaxAttempts, Deployed: time.Now().UTC().Round(0),
		Limits: Limits{Pool: req.Pool, Timeout: time.Duration(req.TimeoutMS) * time.Millisecond, MemoryMB: req.MemoryMB, MaxEmitBytes: req.MaxEmitBytes}.WithDefaults()}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.Deliver == "" {
		d.Deliver = "new"
	}
	return d, nil
}

// prepare keeps mod for the change that will bring d back, and returns the
// module the deployment it replaces ran.
func (m *Manager) prepare(k string, d Deployment, mod *Module) (*prepared, string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		mod.Close(context.Background())
		return nil, "", fmt.Errorf("wasm: %s: %w", k, err)
	}
	p := &prepared{d: b, mod: mod}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deps == nil {
		mod.Close(context.Background())
		return nil, "", errors.New("wasm: manager not started")
	}
	if old := m.prepared[k]; old != nil { // a concurrent deploy of the same name: its change loads from the store
		old.mod.Close(context.Background())
	}
	m.prepared[k] = p
	var oldSHA string
	if s := m.deps[k]; s != nil {
		oldSHA = s.d.Claims.ModuleSHA256
	}
	return p, oldSHA, nil
}

// takePrepared returns the module Deploy loaded for d, if any. The caller
// holds m.mu.
func (m *Manager) takePrepared(k string, d Deployment) *Module {
	p := m.prepared[k]
	if p == nil {
		return nil
	}
	if b, err := json.Marshal(d); err != nil || !bytes.Equal(b, p.d) {
		return nil
	}
	delete(m.prepared, k)
	return p.mod
}

// unprepare closes p's module unless a change took it.
func (m *Manager) unprepare(k string, p *prepared) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.prepared[k] == p {
		delete(m.prepared, k)
		p.mod.Close(context.Background())
	}
}

// waitApplied returns once this process applied revision rev.
func (m *Manager) waitApplied(ctx context.Context, k string, rev uint64) error {
	m.mu.Lock()
	p := m.progress
	m.mu.Unlock()
	if err := p.Wait(ctx, rev); err != nil {
		return fmt.Errorf("wasm: %s: stored but %w", k, err)
	}
	return nil
}

func (m *Manager) setApplied(rev uint64) {
	m.mu.Lock()
	p := m.progress
	m.mu.Unlock()
	if p != nil {
		p.Set(rev)
	}
}

// prune deletes the modules of shas (every one, when empty) that no
// deployment references any more; a failure only leaves them stored.
func (m *Manager) prune(ctx context.Context, shas ...string) {
	if err := m.Store.Prune(ctx, shas...); err != nil {
		m.Log.Warn("unreferenced WASM modules not deleted", "err", err)
	}
}

// count is how many consumers a tenant has deployed besides one named
// except.
func (m *Manager) count(tenantID, except string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.deps {
		if s.d.Tenant == tenantID && s.d.Name != except {
			n++
		}
	}
	return n
}

func (m *Manager) maxPerTenant() int {
	if m.MaxPerTenant > 0 {
		return m.MaxPerTenant
	}
	return 8
}

// List returns a tenant's consumers, by name.
func (m *Manager) List(tenantID string) []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Info
	for _, s := range m.deps {
		if s.d.Tenant == tenantID {
			out = append(out, s.info())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if out == nil {
		out = []Info{}
	}
	return out
}

// Get returns one consumer.
func (m *Manager) Get(tenantID, name string) (Info, error) { return m.info(tenantID, name) }

func (m *Manager) info(tenantID, name string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.deps[key(tenantID, name)]
	if s == nil {
		return Info{}, fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	}
	return s.info(), nil
}

func (s *slot) info() Info {
	i := Info{Deployment: s.d}
	if s.c != nil {
		i.Stats = s.c.stats()
	}
	if s.err != nil {
		i.Error = "not running on this process: " + s.err.Error()
	}
	return i
}

// Remove deletes a deployment (with a shared store every process stops
// it; this one before Remove returns), then its durable consumer.
func (m *Manager) Remove(ctx context.Context, tenantID, name string) error {
	if CheckName(name) != nil {
		return fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	}
	k := key(tenantID, name)
	var sha string
	m.mu.Lock()
	if s := m.deps[k]; s != nil {
		sha = s.d.Claims.ModuleSHA256
	}
	m.mu.Unlock()
	rev, err := m.Store.Delete(ctx, tenantID, name)
	if errors.Is(err, ErrNotDeployed) {
		return m.finishRemoval(ctx, tenantID, name, err)
	}
	if err != nil {
		return err
	}
	if !m.Store.Shared() {
		m.apply(Change{Tenant: tenantID, Name: name, Deleted: true})
	} else if err := m.waitApplied(ctx, k, rev); err != nil {
		return err
	}
	if err := m.deleteDurable(ctx, tenantID, name); err != nil {
		return err
	}
	if sha != "" {
		m.prune(ctx, sha)
	}
	return nil
}

// finishRemoval completes a removal that deleted the deployment but not
// its durable consumer (the tenant's stream had no leader for longer than
// the caller waited): removing the name again deletes the durable, which
// would otherwise hold the tenant's events and count against its consumer
// quota forever. With no durable either, the name was never deployed
// (notDeployed).
func (m *Manager) finishRemoval(ctx context.Context, tenantID, name string, notDeployed error) error {
	m.mu.Lock()
	_, deployed := m.deps[key(tenantID, name)] // deployed again meanwhile: its durable is in use
	m.mu.Unlock()
	if deployed {
		return notDeployed
	}
	tjs, err := m.Streams.JetStream(tenantID)
	if err != nil {
		return notDeployed
	}
	if _, err := tjs.Consumer(ctx, tenantnats.StreamName(tenantID), durableName(name)); err != nil {
		return notDeployed
	}
	m.Log.Info("deleting the durable consumer an earlier removal left", "tenant", tenantID, "consumer", name)
	return m.deleteDurable(ctx, tenantID, name)
}

// deleteDurable deletes a removed deployment's JetStream consumer. Only
// the process removing it does: one that stopped it later would delete the
// durable of a deployment of the same name made meanwhile.
func (m *Manager) deleteDurable(ctx context.Context, tenantID, name string) error {
	tjs, err := m.Streams.JetStream(tenantID)
	if err != nil {
		return err
	}
	err = bus.RetrySettling(ctx, func(ctx context.Context) error { // an election on the tenant's stream
		return tjs.DeleteConsumer(ctx, tenantnats.StreamName(tenantID), durableName(name))
	})
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("wasm: remove %s/%s: %w", tenantID, name, err)
	}
	return nil
}

// RemoveTenant stops and deletes every deployment of a deleted tenant, and
// their durable consumers. With a shared store every process runs it (the
// tenant's deletion reaches each): it stops its own consumers at once and
// deletes the keys still there.
func (m *Manager) RemoveTenant(ctx context.Context, tenantID string) {
	m.changing.Lock()
	m.mu.Lock()
	var gone []*slot
	for k, s := range m.deps {
		if s.d.Tenant == tenantID {
			gone = append(gone, s)
			delete(m.deps, k)
		}
	}
	m.mu.Unlock()
	var shas []string
	for _, s := range gone {
		if s.c != nil {
			s.c.stop(ctx)
		}
		m.Metrics.forget(s.d.Tenant, s.d.Name)
		shas = append(shas, s.d.Claims.ModuleSHA256)
	}
	m.changing.Unlock()
	for _, s := range gone {
		if err := m.deleteDurable(ctx, tenantID, s.d.Name); err != nil {
			m.Log.Error("removing a deleted tenant's WASM consumer", "tenant", tenantID, "consumer", s.d.Name, "err", err)
		}
	}
	if err := m.Store.DeleteTenant(ctx, tenantID); err != nil {
		m.Log.Error("removing a deleted tenant's WASM deployments", "tenant", tenantID, "err", err)
	}
	if len(shas) > 0 {
		m.prune(ctx, shas...)
	}
}

// TenantChanged follows a change of tenant id: its deployments not running
// here are tried again (a shared store's change can reach this process
// before the tenant, or the signing key, it needs), and those signed by a
// key it no longer has are stopped.
func (m *Manager) TenantChanged(id string) {
	t, ok := m.Tenants.Get(id)
	if !ok {
		return
	}
	m.changing.Lock()
	defer m.changing.Unlock()
	m.mu.Lock()
	var mine []*slot
	for _, s := range m.deps {
		if s.d.Tenant == id {
			mine = append(mine, s)
		}
	}
	m.mu.Unlock()
	for _, s := range mine {
		switch {
		case s.c == nil:
			m.start(s.d, s.rev)
		case !slices.Contains(t.SigningKeys, s.d.Claims.Issuer):
			s.c.stop(context.Background())
			err := &SignatureError{Reason: fmt.Sprintf("signed by %s, which is no longer a signing key of tenant %s", s.d.Claims.Issuer, id)}
			m.mu.Lock()
			if m.deps != nil {
				m.deps[key(s.d.Tenant, s.d.Name)] = &slot{d: s.d, rev: s.rev, err: err}
			}
			m.mu.Unlock()
			m.Log.Warn("WASM consumer stopped", "tenant", id, "consumer", s.d.Name, "err", err)
		}
	}
}

// Close stops following the store and every consumer (the deployments and
// their durable consumers stay, for the next Start and the other
// processes).
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	stop := m.stopFollow
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	m.changing.Lock()
	defer m.changing.Unlock()
	m.mu.Lock()
	deps, prep := m.deps, m.prepared
	m.deps, m.prepared = nil, nil
	if m.progress != nil {
		m.progress.Close() // wakes waitApplied
	}
	m.mu.Unlock()
	for _, s := range deps {
		if s.c != nil {
			s.c.stop(ctx)
		}
	}
	for _, p := range prep {
		p.mod.Close(context.Background())
	}
}

// ModuleSHA256 is the hex digest a module's claims must name.
func ModuleSHA256(module []byte) string {
	sum := sha256.Sum256(module)
	return hex.EncodeToString(sum[:])
}
