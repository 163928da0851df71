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

// Encode is ts as a tenants file, sorted by id: what WriteFile writes,
// `eventrunner tenant export` prints and Parse reads back. It holds the
// keys' SHA-256 digests, never the keys.
func Encode(ts []Tenant) ([]byte, error) {
	ts = append([]Tenant(nil), ts...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	var buf bytes.Buffer
	buf.WriteString("# eventrunner tenants: managed by `eventrunner tenant` and the admin API.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(File{Tenants: ts}); err != nil {
		return nil, fmt.Errorf("tenants file: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes ts atomically (temporary file, then rename), sorted by
// id, readable by the owner only: the file holds key digests.
func WriteFile(path string, ts []Tenant) error {
	b, err := Encode(ts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tenants-*.yaml")
	if err != nil {
		return fmt.Errorf("tenants file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
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
	for _, q := range []struct {
		name string
		n    int64
	}{{"nats-connections", int64(t.NATS.MaxConnections)}, {"nats-storage", t.NATS.MaxStorage},
		{"nats-streams", int64(t.NATS.MaxStreams)}, {"nats-consumers", int64(t.NATS.MaxConsumers)}} {
		if q.n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", q.name, q.n))
		}
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}

func must(b []byte, _ error) []byte { return b }
