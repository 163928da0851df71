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
	"sync"
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

// Tenant is one tenant and the digests of its API keys.
type Tenant struct {
	ID         string   `yaml:"id" json:"id"`
	KeyHashes  []string `yaml:"key_hashes" json:"key_hashes"` // hex SHA-256 of each key
	MaxEventKB int      `yaml:"max_event_kb,omitempty" json:"max_event_kb,omitempty"`
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
	if err := ValidID(t.ID); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tenants[t.ID] = &t
	return nil
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
