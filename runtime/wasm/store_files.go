package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileStore keeps each deployment in Dir/<tenant>/<name>.json and its
// module next to it in <name>.wasm: the store of one process (the embedded
// NATS server), which no one else changes.
type FileStore struct{ Dir string }

var _ Store = (*FileStore)(nil)

// Shared is false: only this process writes Dir.
func (s *FileStore) Shared() bool { return false }

// Follow applies every stored deployment, by file name; nothing follows.
func (s *FileStore) Follow(_ context.Context, apply func(Change)) error {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*", "*.json"))
	if err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		c := Change{Tenant: filepath.Base(filepath.Dir(f)), Name: strings.TrimSuffix(filepath.Base(f), ".json")}
		c.Deployment, c.Err = readDeployment(f, c.Tenant, c.Name)
		apply(c)
	}
	return nil
}

func readDeployment(file, tenantID, name string) (Deployment, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Deployment{}, fmt.Errorf("wasm: %w", err)
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return Deployment{}, fmt.Errorf("wasm: %s: %w", file, err)
	}
	return d, checkStored(d, tenantID, name)
}

func (s *FileStore) base(tenantID, name string) string { return filepath.Join(s.Dir, tenantID, name) }

// Module reads <name>.wasm.
func (s *FileStore) Module(_ context.Context, d Deployment) ([]byte, error) {
	b, err := os.ReadFile(s.base(d.Tenant, d.Name) + ".wasm")
	if err != nil {
		return nil, fmt.Errorf("wasm: module of %s/%s: %w", d.Tenant, d.Name, err)
	}
	return b, nil
}

// Put writes the module, then the deployment.
func (s *FileStore) Put(_ context.Context, d Deployment, module []byte) (uint64, error) {
	if err := os.MkdirAll(filepath.Join(s.Dir, d.Tenant), 0o755); err != nil {
		return 0, fmt.Errorf("wasm: %w", err)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("wasm: %s/%s: %w", d.Tenant, d.Name, err)
	}
	base := s.base(d.Tenant, d.Name)
	if err := os.WriteFile(base+".wasm", module, 0o644); err != nil {
		return 0, fmt.Errorf("wasm: %w", err)
	}
	if err := os.WriteFile(base+".json", b, 0o644); err != nil {
		return 0, fmt.Errorf("wasm: %w", err)
	}
	return 0, nil
}

// Delete removes both files.
func (s *FileStore) Delete(_ context.Context, tenantID, name string) (uint64, error) {
	base := s.base(tenantID, name)
	if err := os.Remove(base + ".json"); errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%s/%s: %w", tenantID, name, ErrNotDeployed)
	} else if err != nil {
		return 0, fmt.Errorf("wasm: %w", err)
	}
	if err := os.Remove(base + ".wasm"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("wasm: %w", err)
	}
	return 0, nil
}

// DeleteTenant removes the tenant's directory.
func (s *FileStore) DeleteTenant(_ context.Context, tenantID string) error {
	if err := os.RemoveAll(filepath.Join(s.Dir, tenantID)); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	return nil
}

// Prune has nothing to do: each deployment's module goes with it.
func (s *FileStore) Prune(context.Context, ...string) error { return nil }
