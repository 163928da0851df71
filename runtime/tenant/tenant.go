package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"
)

// idPattern is the shape of tenant ids: they become NATS subject tokens and
// store key prefixes.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidID reports whether id can name a tenant.
func ValidID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("tenant id %q must match %s", id, idPattern)
	}
	return nil
}

// Tenant is one tenant, the digests of its API keys and its limits. A zero
// limit means "the engine's default".
type Tenant struct {
	ID        string   `yaml:"id" json:"id"`
	KeyHashes []string `yaml:"key_hashes" json:"key_hashes,omitempty"` // hex SHA-256 of each key
	// MaxEventKB bounds one event over HTTP.
	MaxEventKB int `yaml:"max_event_kb,omitempty" json:"max_event_kb,omitempty"`
	// RatePerSec is the sustained ingest rate in events per second; beyond
	// it ingest answers 429 with Retry-After. 0 = unlimited.
	RatePerSec float64 `yaml:"rate_per_sec,omitempty" json:"rate_per_sec,omitempty"`
	// Burst is how many events may arrive at once above the rate; default
	// one second's worth.
	Burst int `yaml:"burst,omitempty" json:"burst,omitempty"`
	// Retention is how long the tenant's stream keeps events (default 7 days).
	Retention Duration `yaml:"retention,omitempty" json:"retention,omitempty"`
	// MaxBytes caps the tenant's stream, oldest events discarded first.
	MaxBytes int64 `yaml:"max_bytes,omitempty" json:"max_bytes,omitempty"`
	// SigningKeys are the nkeys public keys (account keys, "A…") whose
	// signatures the tenant's WASM modules may carry.
	SigningKeys []string `yaml:"signing_keys,omitempty" json:"signing_keys,omitempty"`
	// NATS are the quotas NATS itself enforces on the tenant's account.
	NATS NATSLimits `yaml:"nats,omitempty" json:"nats,omitzero"`
}

// NATSLimits are a tenant's quotas in its NATS account, enforced by the
// server for the tenant's own connections, streams and consumers; 0 is
// unlimited. The tenant's event stream (ER_T_<tenant>, written by the
// engine) never counts against them: the tenant cannot starve it.
type NATSLimits struct {
	// MaxConnections bounds the tenant's connections at once (API-key
	// logins and creds files alike); the next one is refused.
	MaxConnections int `yaml:"max_connections,omitempty" json:"max_connections,omitempty"`
	// MaxStorage is the file storage of the tenant's own streams, in bytes,
	// beside the event stream's max_bytes, which is reserved for it (so
	// max_bytes is required with it).
	MaxStorage int64 `yaml:"max_storage,omitempty" json:"max_storage,omitempty"`
	// MaxStreams is how many streams the tenant may create, beside the
	// event stream.
	MaxStreams int `yaml:"max_streams,omitempty" json:"max_streams,omitempty"`
	// MaxConsumers bounds the tenant's consumers on each stream; on the
	// event stream the engine's own (analytics, WASM) come on top.
	MaxConsumers int `yaml:"max_consumers,omitempty" json:"max_consumers,omitempty"`
}

// Check reports every problem of t.
func (t Tenant) Check() error {
	var errs []error
	if err := ValidID(t.ID); err != nil {
		errs = append(errs, err)
	}
	for _, h := range t.KeyHashes {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			errs = append(errs, fmt.Errorf("tenant %s: key hash %q is not a hex SHA-256", t.ID, h))
		}
	}
	if t.MaxEventKB < 0 || t.RatePerSec < 0 || t.Burst < 0 || t.Retention < 0 || t.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("tenant %s: limits must not be negative", t.ID))
	}
	n := t.NATS
	if n.MaxConnections < 0 || n.MaxStorage < 0 || n.MaxStreams < 0 || n.MaxConsumers < 0 {
		errs = append(errs, fmt.Errorf("tenant %s: nats limits must not be negative", t.ID))
	}
	if n.MaxStorage > 0 && t.MaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("tenant %s: nats.max_storage needs max_bytes: the event stream's size is reserved in the account beside the tenant's own storage", t.ID))
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written as "168h" in YAML and JSON.
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a time.ParseDuration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ErrUnknownKey is returned for an API key no tenant holds.
var ErrUnknownKey = errors.New("tenant: unknown API key")

// Registry maps API keys to tenants. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	tenants map[string]*Tenant
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{tenants: map[string]*Tenant{}} }

// Add adds or replaces a tenant.
func (r *Registry) Add(t Tenant) error {
	if err := t.Check(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tenants[t.ID] = &t
	return nil
}

// Replace makes ts the registry's whole content, as after a reload.
func (r *Registry) Replace(ts []Tenant) error {
	m := make(map[string]*Tenant, len(ts))
	var errs []error
	for i := range ts {
		if err := ts[i].Check(); err != nil {
			errs = append(errs, err)
		}
		m[ts[i].ID] = &ts[i]
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	r.mu.Lock()
	r.tenants = m
	r.mu.Unlock()
	return nil
}

// Remove deletes a tenant and reports whether it existed.
func (r *Registry) Remove(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.tenants[id]
	delete(r.tenants, id)
	return ok
}

// List returns every tenant, by id.
func (r *Registry) List() []Tenant {
	r.mu.RLock()
	out := make([]Tenant, 0, len(r.tenants))
	for _, t := range r.tenants {
		out = append(out, *t)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Get returns a tenant by id.
func (r *Registry) Get(id string) (Tenant, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tenants[id]
	if !ok {
		return Tenant{}, false
	}
	return *t, true
}

// Authenticate returns the tenant holding key. Every stored digest is
// compared, in constant time, so timing tells nothing about the keys.
func (r *Registry) Authenticate(key string) (Tenant, error) {
	if key == "" {
		return Tenant{}, ErrUnknownKey
	}
	sum := sha256.Sum256([]byte(key))
	r.mu.RLock()
	defer r.mu.RUnlock()
	var found *Tenant
	for _, t := range r.tenants {
		for _, h := range t.KeyHashes {
			want, err := hex.DecodeString(h)
			if err == nil && subtle.ConstantTimeCompare(want, sum[:]) == 1 {
				found = t
			}
		}
	}
	if found == nil {
		return Tenant{}, ErrUnknownKey
	}
	return *found, nil
}

// HashKey returns the stored form of an API key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// NewKey returns a fresh random API key with a recognisable prefix.
func NewKey() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("tenant: crypto/rand failed: %v", err))
	}
	return "er_" + base64.RawURLEncoding.EncodeToString(b[:])
}
