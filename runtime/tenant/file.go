package tenant

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// File is the tenants file:
//
//	tenants:
//	  - id: acme
//	    key_hashes: [9f86d0…]
//	    rate_per_sec: 1000
//	    retention: 168h
//	    signing_keys: [ABJ…]
type File struct {
	Tenants []Tenant `yaml:"tenants"`
}

// ReadFile reads a tenants file; a missing file is an empty registry.
func ReadFile(path string) ([]Tenant, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tenants file: %w", err)
	}
	ts, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tenants file %s: %w", path, err)
	}
	return ts, nil
}

// Parse reads the YAML of a tenants file and checks every tenant.
func Parse(b []byte) ([]Tenant, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	seen := map[string]bool{}
	var errs []error
	for _, t := range f.Tenants {
		if err := t.Check(); err != nil {
			errs = append(errs, err)
		}
		if seen[t.ID] {
			errs = append(errs, fmt.Errorf("tenant %s: listed twice", t.ID))
		}
		seen[t.ID] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f.Tenants, nil
}

// WriteFile writes ts atomically (temporary file, then rename), sorted by
// id, readable by the owner only: the file holds key digests.
func WriteFile(path string, ts []Tenant) error {
	ts = append([]Tenant(nil), ts...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	var buf bytes.Buffer
	buf.WriteString("# eventrunner tenants: managed by `eventrunner tenant` and the admin API.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(File{Tenants: ts}); err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tenants-*.yaml")
	if err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("tenants file: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("tenants file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	return nil
}

// Secrets are what creating a tenant or rotating its key hands out once;
// only their digests or public halves are stored.
type Secrets struct {
	Tenant string `json:"tenant"`
	// APIKey authenticates HTTP and gRPC requests, and is the tenant's NATS
	// password (user = tenant id).
	APIKey string `json:"api_key"`
	// SigningSeed signs the tenant's WASM modules (an nkeys account seed);
	// empty when the caller brought its own public key or on rotation.
	SigningSeed string `json:"signing_seed,omitempty"`
}

// ErrExists and ErrNotFound are returned by Manager for an id that is
// already, or not, a tenant.
var (
	ErrExists   = errors.New("tenant already exists")
	ErrNotFound = errors.New("no such tenant")
)

// Manager changes tenants in a file-backed registry: every change is
// written to Path (when set) before the registry sees it, and Hooks learn
// about it so that streams and consumers follow. It is what the CLI and
// the admin API both use.
type Manager struct {
	Path     string
	Registry *Registry
	// NewSigningKey returns a fresh signing key pair (seed, public key);
	// nil creates tenants without one.
	NewSigningKey func() (seed, public string, err error)
	// Changed runs after a tenant was created or changed, Removed after it
	// was deleted; either may be nil.
	Changed func(Tenant) error
	Removed func(id string) error
	// KeysRevoked runs after RotateKey dropped the old keys (to close
	// connections made with them); may be nil.
	KeysRevoked func(id string)

	mu sync.Mutex
}

// Create adds a tenant with a fresh API key (and a signing key unless t
// already names signing keys).
func (m *Manager) Create(t Tenant) (Secrets, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ValidID(t.ID); err != nil {
		return Secrets{}, err
	}
	if _, ok := m.Registry.Get(t.ID); ok {
		return Secrets{}, fmt.Errorf("tenant %s: %w", t.ID, ErrExists)
	}
	s := Secrets{Tenant: t.ID, APIKey: NewKey()}
	t.KeyHashes = []string{HashKey(s.APIKey)}
	if len(t.SigningKeys) == 0 && m.NewSigningKey != nil {
		seed, pub, err := m.NewSigningKey()
		if err != nil {
			return Secrets{}, err
		}
		s.SigningSeed, t.SigningKeys = seed, []string{pub}
	}
	if err := m.put(t); err != nil {
		return Secrets{}, err
	}
	return s, nil
}

// Update replaces a tenant's limits and signing keys, keeping its API keys.
func (m *Manager) Update(t Tenant) (Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.Registry.Get(t.ID)
	if !ok {
		return Tenant{}, fmt.Errorf("tenant %s: %w", t.ID, ErrNotFound)
	}
	t.KeyHashes = old.KeyHashes
	if t.SigningKeys == nil {
		t.SigningKeys = old.SigningKeys
	}
	return t, m.put(t)
}

// RotateKey issues a new API key. With keepOld the previous keys stay valid
// (for a rollover), otherwise they stop working at once.
func (m *Manager) RotateKey(id string, keepOld bool) (Secrets, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.Registry.Get(id)
	if !ok {
		return Secrets{}, fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	s := Secrets{Tenant: id, APIKey: NewKey()}
	if keepOld {
		t.KeyHashes = append(append([]string(nil), t.KeyHashes...), HashKey(s.APIKey))
	} else {
		t.KeyHashes = []string{HashKey(s.APIKey)}
	}
	if err := m.put(t); err != nil {
		return Secrets{}, err
	}
	if !keepOld && m.KeysRevoked != nil {
		m.KeysRevoked(id)
	}
	return s, nil
}

// Delete removes a tenant.
func (m *Manager) Delete(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.Registry.Get(id); !ok {
		return fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	rest, err := m.without(id)
	if err != nil {
		return err
	}
	if err := m.save(rest); err != nil {
		return err
	}
	m.Registry.Remove(id)
	if m.Removed != nil {
		return m.Removed(id)
	}
	return nil
}

func (m *Manager) put(t Tenant) error {
	if err := t.Check(); err != nil {
		return err
	}
	rest, err := m.without(t.ID)
	if err != nil {
		return err
	}
	if err := m.save(append(rest, t)); err != nil {
		return err
	}
	if err := m.Registry.Add(t); err != nil {
		return err
	}
	if m.Changed != nil {
		return m.Changed(t)
	}
	return nil
}

// without lists the stored tenants but id. With a file, the file is the
// truth (the registry may also hold in-memory tenants such as the demo); a
// file that does not parse is an error, never overwritten.
func (m *Manager) without(id string) ([]Tenant, error) {
	all := m.Registry.List()
	if m.Path != "" {
		var err error
		if all, err = ReadFile(m.Path); err != nil {
			return nil, err
		}
	}
	out := all[:0]
	for _, t := range all {
		if t.ID != id {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *Manager) save(ts []Tenant) error {
	if m.Path == "" {
		return nil
	}
	return WriteFile(m.Path, ts)
}

// FormatLimits is a one-line summary of t's limits for listings.
func FormatLimits(t Tenant) string {
	var parts []string
	if t.RatePerSec > 0 {
		parts = append(parts, fmt.Sprintf("rate=%g/s burst=%d", t.RatePerSec, t.Burst))
	}
	if t.MaxEventKB > 0 {
		parts = append(parts, fmt.Sprintf("max-event=%dKB", t.MaxEventKB))
	}
	if t.Retention > 0 {
		parts = append(parts, "retention="+string(must(t.Retention.MarshalText())))
	}
	if t.MaxBytes > 0 {
		parts = append(parts, fmt.Sprintf("max-bytes=%d", t.MaxBytes))
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}

func must(b []byte, _ error) []byte { return b }
