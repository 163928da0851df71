package tenant

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ErrExists and ErrNotFound are returned by Manager for an id that is
// already, or not, a tenant.
var (
	ErrExists   = errors.New("tenant already exists")
	ErrNotFound = errors.New("no such tenant")
)

// Store is where a Manager keeps tenants: the tenants file (FileStore) on a
// single node, a NATS KV bucket shared by every process on a cluster
// (tenantnats.KVStore).
type Store interface {
	// Load returns every stored tenant.
	Load() ([]Tenant, error)
	// Modify stores change's result for tenant id atomically: change sees
	// the stored tenant (ok false when there is none) and its error aborts.
	Modify(id string, change func(old Tenant, ok bool) (Tenant, error)) (Tenant, error)
	// Delete removes tenant id; ErrNotFound when there is none.
	Delete(id string) error
}

// Manager changes tenants: every change is stored (when Store is set)
// before the registry sees it, and the hooks learn about it so that
// accounts, streams and consumers follow. It is what the CLI and the admin
// API both use.
type Manager struct {
	Store Store // nil keeps tenants in Registry only
	// Shared says Store is shared by several processes and applies every
	// change itself, in order, on each of them (tenantnats.KVStore: its
	// watcher updates Registry and runs the hooks before Modify and Delete
	// return): the Manager then only stores.
	Shared   bool
	Registry *Registry
	// NewSigningKey returns a fresh signing key pair (seed, public key);
	// nil creates tenants without one.
	NewSigningKey func() (seed, public string, err error)
	// Changed runs after a tenant was created or changed (its keys
	// rotated included: NATS logins use the keys, and dropping one must
	// close the connections it opened), Removed after it was deleted;
	// either may be nil.
	Changed func(Tenant) error
	Removed func(id string) error

	mu sync.Mutex
}

// Create adds a tenant with a fresh API key (and a signing key unless t
// already names signing keys).
func (m *Manager) Create(t Tenant) (Secrets, error) {
	if err := ValidID(t.ID); err != nil {
		return Secrets{}, err
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
	_, err := m.modify(t.ID, func(_ Tenant, ok bool) (Tenant, error) {
		if ok {
			return Tenant{}, fmt.Errorf("tenant %s: %w", t.ID, ErrExists)
		}
		return t, nil
	})
	if err != nil {
		return Secrets{}, err
	}
	return s, nil
}

// Update replaces a tenant's limits and signing keys, keeping its API keys.
func (m *Manager) Update(t Tenant) (Tenant, error) {
	return m.modify(t.ID, func(old Tenant, ok bool) (Tenant, error) {
		if !ok {
			return Tenant{}, fmt.Errorf("tenant %s: %w", t.ID, ErrNotFound)
		}
		t.KeyHashes = old.KeyHashes
		if t.SigningKeys == nil {
			t.SigningKeys = old.SigningKeys
		}
		return t, nil
	})
}

// RotateKey issues a new API key. With keepOld the previous keys stay valid
// (for a rollover), otherwise they stop working at once.
func (m *Manager) RotateKey(id string, keepOld bool) (Secrets, error) {
	s := Secrets{Tenant: id, APIKey: NewKey()}
	_, err := m.modify(id, func(t Tenant, ok bool) (Tenant, error) {
		if !ok {
			return Tenant{}, fmt.Errorf("tenant %s: %w", id, ErrNotFound)
		}
		if keepOld {
			t.KeyHashes = append(slices.Clone(t.KeyHashes), HashKey(s.APIKey))
		} else {
			t.KeyHashes = []string{HashKey(s.APIKey)}
		}
		return t, nil
	})
	if err != nil {
		return Secrets{}, err
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
	if m.Store != nil {
		if err := m.Store.Delete(id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if m.Shared {
		return nil
	}
	m.Registry.Remove(id)
	if m.Removed != nil {
		return m.Removed(id)
	}
	return nil
}

// modify applies change to tenant id in the store, then to the registry,
// then tells the hook. A tenant the registry holds but the store does not
// (the demo tenant, kept in memory) is changed from the registry's copy.
func (m *Manager) modify(id string, change func(old Tenant, ok bool) (Tenant, error)) (Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	checked := func(old Tenant, ok bool) (Tenant, error) {
		if !ok {
			old, ok = m.Registry.Get(id)
		}
		t, err := change(old, ok)
		if err != nil {
			return Tenant{}, err
		}
		return t, t.Check()
	}
	var t Tenant
	var err error
	if m.Store != nil {
		t, err = m.Store.Modify(id, checked)
	} else {
		t, err = checked(m.Registry.Get(id))
	}
	if err != nil || m.Shared {
		return t, err
	}
	if err := m.Registry.Add(t); err != nil {
		return Tenant{}, err
	}
	if m.Changed != nil {
		return t, m.Changed(t)
	}
	return t, nil
}

// FileStore keeps tenants in a tenants file (see File). The file is the
// truth: one that does not parse is an error, never overwritten.
type FileStore struct {
	Path string
	mu   sync.Mutex
}

// Load reads the file; a missing file holds no tenants.
func (f *FileStore) Load() ([]Tenant, error) { return ReadFile(f.Path) }

// Modify rewrites the file with change's result for id.
func (f *FileStore) Modify(id string, change func(old Tenant, ok bool) (Tenant, error)) (Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := ReadFile(f.Path)
	if err != nil {
		return Tenant{}, err
	}
	i := slices.IndexFunc(all, func(t Tenant) bool { return t.ID == id })
	var old Tenant
	if i >= 0 {
		old = all[i]
	}
	t, err := change(old, i >= 0)
	if err != nil {
		return Tenant{}, err
	}
	if i >= 0 {
		all[i] = t
	} else {
		all = append(all, t)
	}
	return t, WriteFile(f.Path, all)
}

// Delete rewrites the file without tenant id.
func (f *FileStore) Delete(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	all, err := ReadFile(f.Path)
	if err != nil {
		return err
	}
	rest := slices.DeleteFunc(all, func(t Tenant) bool { return t.ID == id })
	if len(rest) == len(all) {
		return fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	return WriteFile(f.Path, rest)
}
