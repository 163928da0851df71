package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// Info is a deployment and what its consumer did.
type Info struct {
	Deployment
	Stats Stats `json:"stats"`
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

// Manager deploys, runs and removes the tenants' consumers. Modules and
// deployments are kept under Dir/<tenant>/<name>.{wasm,json} and restarted
// by Start.
type Manager struct {
	Dir     string
	Host    *Host
	JS      jetstream.JetStream
	Tenants TenantLookup
	Metrics *Metrics
	Log     *slog.Logger
	// Backoff overrides DefaultBackoff (tests use short delays).
	Backoff []time.Duration
	// MaxPerTenant bounds a tenant's consumers, so that one tenant cannot
	// take the host's memory and cores from the others; default 8.
	MaxPerTenant int

	mu      sync.Mutex
	ctx     context.Context
	running map[string]*consumer // by tenant + "/" + name
}

// ErrNotDeployed is returned for a consumer name a tenant has not deployed.
var ErrNotDeployed = errors.New("no such WASM consumer")

func key(tenantID, name string) string { return tenantID + "/" + name }

// Start restarts the stored deployments; ctx bounds the consumers' lives.
// A deployment that no longer loads (its tenant is gone, its module file
// changed) is logged and skipped.
func (m *Manager) Start(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	if m.Backoff == nil {
		m.Backoff = DefaultBackoff
	}
	m.mu.Lock()
	m.ctx, m.running = ctx, map[string]*consumer{}
	m.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(m.Dir, "*", "*.json"))
	sort.Strings(files)
	for _, f := range files {
		if err := m.restart(ctx, f); err != nil {
			m.Log.Error("WASM consumer not restarted", "file", f, "err", err)
		}
	}
	return nil
}

func (m *Manager) restart(ctx context.Context, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	module, err := os.ReadFile(strings.TrimSuffix(file, ".json") + ".wasm")
	if err != nil {
		return err
	}
	t, ok := m.Tenants.Get(d.Tenant)
	if !ok {
		return fmt.Errorf("tenant %s no longer exists", d.Tenant)
	}
	// Verified again: the tenant's signing keys may have changed.
	if _, err := Verify(d.Signature, module, t.ID, t.SigningKeys); err != nil {
		return err
	}
	return m.run(ctx, d, module)
}

// Deploy verifies a tenant's upload and runs it, replacing a consumer of
// the same name (which keeps its position in the stream).
func (m *Manager) Deploy(ctx context.Context, tenantID string, req DeployRequest) (Info, error) {
	t, ok := m.Tenants.Get(tenantID)
	if !ok {
		return Info{}, fmt.Errorf("tenant %s: %w", tenantID, tenant.ErrNotFound)
	}
	if err := CheckName(req.Name); err != nil {
		return Info{}, &GuestError{Kind: "abi", Reason: err.Error()}
	}
	claims, err := Verify(req.Signature, req.Module, t.ID, t.SigningKeys)
	if err != nil {
		return Info{}, err
	}
	if claims.Name != req.Name {
		return Info{}, &SignatureError{Reason: fmt.Sprintf("the claims are for consumer %q, not %q", claims.Name, req.Name)}
	}
	if n, max := m.count(t.ID, req.Name), m.maxPerTenant(); n >= max {
		return Info{}, &GuestError{Kind: "limit", Reason: fmt.Sprintf("tenant %s already runs %d WASM consumers, the most allowed", t.ID, max)}
	}
	if req.Deliver != "" && req.Deliver != "new" && req.Deliver != "all" {
		return Info{}, &GuestError{Kind: "abi", Reason: fmt.Sprintf("deliver %q: want new or all", req.Deliver)}
	}
	d := Deployment{Tenant: t.ID, Name: req.Name, Claims: claims, Signature: req.Signature, Deliver: req.Deliver,
		MaxAttempts: req.MaxAttempts, Deployed: time.Now().UTC(),
		Limits: Limits{Pool: req.Pool, Timeout: time.Duration(req.TimeoutMS) * time.Millisecond, MemoryMB: req.MemoryMB, MaxEmitBytes: req.MaxEmitBytes}.WithDefaults()}
	if d.MaxAttempts <= 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.Deliver == "" {
		d.Deliver = "new"
	}
	if err := m.run(ctx, d, req.Module); err != nil {
		return Info{}, err
	}
	if err := m.save(d, req.Module); err != nil {
		return Info{}, err
	}
	return m.info(d.Tenant, d.Name)
}

// count is how many consumers a tenant runs besides one named except.
func (m *Manager) count(tenantID, except string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.running {
		if c.d.Tenant == tenantID && c.d.Name != except {
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

// run loads the module and starts (or replaces) its consumer.
func (m *Manager) run(ctx context.Context, d Deployment, module []byte) error {
	mod, err := m.Host.Load(ctx, module, d.Claims.Capabilities, d.Limits)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running == nil {
		mod.Close(ctx)
		return errors.New("wasm: manager not started")
	}
	if old := m.running[key(d.Tenant, d.Name)]; old != nil {
		old.stop(ctx)
	}
	c, err := startConsumer(m.ctx, m.JS, d, mod, m.Metrics, m.Log, m.Backoff)
	if err != nil {
		mod.Close(ctx)
		delete(m.running, key(d.Tenant, d.Name))
		return err
	}
	m.running[key(d.Tenant, d.Name)] = c
	m.Log.Info("WASM consumer running", "tenant", d.Tenant, "consumer", d.Name, "pool", d.Limits.Pool, "module_sha256", d.Claims.ModuleSHA256)
	return nil
}

func (m *Manager) save(d Deployment, module []byte) error {
	dir := filepath.Join(m.Dir, d.Tenant)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, d.Name+".wasm"), module, 0o644); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, d.Name+".json"), b, 0o644); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	return nil
}

// List returns a tenant's consumers, by name.
func (m *Manager) List(tenantID string) []Info {
	m.mu.Lock()
	var names []string
	for _, c := range m.running {
		if c.d.Tenant == tenantID {
			names = append(names, c.d.Name)
		}
	}
	m.mu.Unlock()
	sort.Strings(names)
	out := make([]Info, 0, len(names))
	for _, n := range names {
		if i, err := m.info(tenantID, n); err == nil {
			out = append(out, i)
		}
	}
	return out
}

// Get returns one consumer.
func (m *Manager) Get(tenantID, name string) (Info, error) { return m.info(tenantID, name) }

func (m *Manager) info(tenantID, name string) (Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.running[key(tenantID, name)]
	if c == nil {
		return Info{}, fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	}
	return Info{Deployment: c.d, Stats: c.stats()}, nil
}

// Remove stops a consumer, deletes its durable consumer and its files.
func (m *Manager) Remove(ctx context.Context, tenantID, name string) error {
	m.mu.Lock()
	c := m.running[key(tenantID, name)]
	delete(m.running, key(tenantID, name))
	m.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	}
	c.stop(ctx)
	m.Metrics.forget(tenantID, name)
	err := m.JS.DeleteConsumer(ctx, tenantnats.StreamName(tenantID), durableName(name))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("wasm: remove %s/%s: %w", tenantID, name, err)
	}
	base := filepath.Join(m.Dir, tenantID, name)
	os.Remove(base + ".json")
	os.Remove(base + ".wasm")
	return nil
}

// RemoveTenant removes every consumer of a deleted tenant.
func (m *Manager) RemoveTenant(ctx context.Context, tenantID string) {
	m.mu.Lock()
	var names []string
	for _, c := range m.running {
		if c.d.Tenant == tenantID {
			names = append(names, c.d.Name)
		}
	}
	m.mu.Unlock()
	for _, n := range names {
		if err := m.Remove(ctx, tenantID, n); err != nil {
			m.Log.Error("removing a deleted tenant's WASM consumer", "tenant", tenantID, "consumer", n, "err", err)
		}
	}
	os.RemoveAll(filepath.Join(m.Dir, tenantID))
}

// Close stops every consumer (their durable consumers and files stay, for
// the next Start).
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	cs := m.running
	m.running = nil
	m.mu.Unlock()
	for _, c := range cs {
		c.stop(ctx)
	}
}

// ModuleSHA256 is the hex digest a module's claims must name.
func ModuleSHA256(module []byte) string {
	sum := sha256.Sum256(module)
	return hex.EncodeToString(sum[:])
}
