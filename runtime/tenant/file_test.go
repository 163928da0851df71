package tenant

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	in := []Tenant{
		{ID: "zeta", KeyHashes: []string{HashKey("k1")}, RatePerSec: 50, Burst: 100, Retention: Duration(48 * time.Hour), MaxBytes: 1 << 20},
		{ID: "acme", KeyHashes: []string{HashKey("k2")}, MaxEventKB: 64, SigningKeys: []string{"ABC"}},
	}
	if err := WriteFile(path, in); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "retention: 48h0m0s") {
		t.Errorf("retention not written as a duration:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	out, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].ID != "acme" || out[1].Retention != Duration(48*time.Hour) || out[1].Burst != 100 {
		t.Fatalf("read back %+v", out)
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if ts, err := ReadFile(filepath.Join(dir, "missing.yaml")); err != nil || ts != nil {
		t.Fatalf("missing file: %v, %v", ts, err)
	}
	tests := []struct{ name, body, want string }{
		{"empty", "", ""},
		{"bad id", "tenants:\n  - id: Bad\n", `tenant id "Bad"`},
		{"twice", "tenants:\n  - id: a\n  - id: a\n", "listed twice"},
		{"unknown key", "tenants:\n  - id: a\n    colour: red\n", "colour"},
		{"bad hash", "tenants:\n  - id: a\n    key_hashes: [xyz]\n", "not a hex SHA-256"},
		{"bad duration", "tenants:\n  - id: a\n    retention: soon\n", "soon"},
		{"negative", "tenants:\n  - id: a\n    rate_per_sec: -1\n", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".yaml")
			os.WriteFile(p, []byte(tt.body), 0o600)
			_, err := ReadFile(p)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestManager(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	var changed, removed []string
	m := &Manager{Store: &FileStore{Path: path}, Registry: NewRegistry(),
		NewSigningKey: func() (string, string, error) { return "SEED", "PUB", nil },
		Changed:       func(t Tenant) error { changed = append(changed, t.ID); return nil },
		Removed:       func(id string) error { removed = append(removed, id); return nil },
	}
	s, err := m.Create(Tenant{ID: "acme", RatePerSec: 10})
	if err != nil {
		t.Fatal(err)
	}
	if s.SigningSeed != "SEED" || !strings.HasPrefix(s.APIKey, "er_") {
		t.Fatalf("secrets %+v", s)
	}
	if _, err := m.Create(Tenant{ID: "acme"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if got, err := m.Registry.Authenticate(s.APIKey); err != nil || got.ID != "acme" || got.SigningKeys[0] != "PUB" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	rot, err := m.RotateKey("acme", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Registry.Authenticate(s.APIKey); err == nil {
		t.Error("old key still works after rotation")
	}
	rot2, _ := m.RotateKey("acme", true)
	for _, k := range []string{rot.APIKey, rot2.APIKey} {
		if _, err := m.Registry.Authenticate(k); err != nil {
			t.Errorf("key after rotate(keepOld): %v", err)
		}
	}
	if _, err := m.Update(Tenant{ID: "acme", RatePerSec: 99}); err != nil {
		t.Fatal(err)
	}
	// The file is the registry's truth: a fresh load sees every change.
	ts, err := ReadFile(path)
	if err != nil || len(ts) != 1 || ts[0].RatePerSec != 99 || len(ts[0].KeyHashes) != 2 || ts[0].SigningKeys[0] != "PUB" {
		t.Fatalf("file: %+v %v", ts, err)
	}
	if err := m.Delete("acme"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("acme"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ts, _ := ReadFile(path); len(ts) != 0 {
		t.Fatalf("file after delete: %+v", ts)
	}
	if strings.Join(changed, ",") != "acme,acme,acme,acme" || strings.Join(removed, ",") != "acme" {
		t.Errorf("hooks: changed %v removed %v", changed, removed)
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter()
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	acme := Tenant{ID: "acme", RatePerSec: 10, Burst: 5}
	steps := []struct {
		advance time.Duration
		n       int
		ok      bool
		retry   time.Duration
	}{
		{0, 5, true, 0},                        // the burst
		{0, 1, false, 100 * time.Millisecond},  // empty: one token in 1/10 s
		{100 * time.Millisecond, 1, true, 0},   // refilled one
		{0, 1, false, 100 * time.Millisecond},  //
		{time.Second, 20, true, 0},             // full (5), a big batch passes once...
		{0, 1, false, 1600 * time.Millisecond}, // ...and leaves a debt of 15
		{10 * time.Second, 1, true, 0},         // capped at the burst again
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		retry, ok := l.Allow(acme, s.n)
		if ok != s.ok || retry != s.retry {
			t.Errorf("step %d: Allow = %v, %v; want %v, %v", i, retry, ok, s.retry, s.ok)
		}
	}
	for i := 0; i < 1000; i++ {
		if _, ok := l.Allow(Tenant{ID: "free"}, 100); !ok {
			t.Fatal("a tenant without a rate was limited")
		}
	}
}

// TestManagerKeepsABrokenFile: a tenants file that does not parse is
// reported, never overwritten with what the registry holds.
func TestManagerKeepsABrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenants.yaml")
	broken := []byte("tenants:\n  - id: acme\n    colour: red\n")
	os.WriteFile(path, broken, 0o600)
	m := &Manager{Store: &FileStore{Path: path}, Registry: NewRegistry()}
	if _, err := m.Create(Tenant{ID: "other"}); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("create over a broken file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(broken) {
		t.Fatalf("file overwritten:\n%s", b)
	}
}
