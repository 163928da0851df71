package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/schemas"
)

// startOnNATS runs the app in-process on a plain nats-server of its own
// (started in-process, used as an external NATS: the tenant registry is the
// shared ER_TENANTS bucket), importing tenantsFile when set.
func startOnNATS(t *testing.T, tenantsFile string, logs *syncBuffer) *app.App {
	t.Helper()
	srv, err := bus.StartEmbedded(bus.Options{DataDir: t.TempDir(), ServerName: "external"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	cfg := app.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", NATS: bus.ClientConfig{URLs: []string{srv.ClientURL()}},
		DemoAPIKey: testKey, AdminKey: adminKey, TenantsFile: tenantsFile, SchemaFiles: schemas.FS}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, generated.Registry(), slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// TestTenantExportRoundTrip: tenants created through the admin API of an
// engine whose registry is the shared KV bucket are exported by `tenant
// export --server`; an engine on another NATS started with that file as
// --tenants-file imports them. There every API key authenticates as its
// tenant, the limits are kept, and exporting again gives the same file;
// `tenant export --tenants-file` reads the file as the import does. The
// file holds no key in clear.
func TestTenantExportRoundTrip(t *testing.T) {
	logs := &syncBuffer{}
	a := startOnNATS(t, "", logs)
	server := []string{"--server", "http://" + a.HTTPAddr(), "--admin-key", adminKey}
	keys := map[string]string{}
	for _, args := range [][]string{{"acme", "--rate", "100", "--burst", "200"}, {"globex", "--retention", "72h", "--max-bytes", "1048576"}} {
		var s tenant.Secrets
		out := mustCLI(t, append(append([]string{"tenant", "create", "--json"}, args...), server...)...)
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("tenant create: %v: %s", err, out)
		}
		keys[s.Tenant] = s.APIKey
	}
	var rotated tenant.Secrets // a tenant with two valid keys
	if err := json.Unmarshal([]byte(mustCLI(t, append([]string{"tenant", "rotate-key", "globex", "--keep-old", "--json"}, server...)...)), &rotated); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "tenants.yaml")
	mustCLI(t, append([]string{"tenant", "export", "-o", file}, server...)...)
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", st.Mode().Perm())
	}
	for _, k := range []string{keys["acme"], keys["globex"], rotated.APIKey, testKey} {
		if bytes.Contains(exported, []byte(k)) {
			t.Errorf("the export holds an API key in clear:\n%s", exported)
		}
	}
	parsed, err := tenant.Parse(exported)
	if err != nil {
		t.Fatalf("the export does not parse as a tenants file: %v\n%s", err, exported)
	}
	if len(parsed) != 3 { // acme, globex, demo
		t.Errorf("exported %d tenants, want acme, globex and demo:\n%s", len(parsed), exported)
	}

	b := startOnNATS(t, file, logs)
	reg := b.Tenants().Registry
	for _, k := range []struct{ id, key string }{{"acme", keys["acme"]}, {"globex", keys["globex"]}, {"globex", rotated.APIKey}, {"demo", testKey}} {
		if got, err := reg.Authenticate(k.key); err != nil || got.ID != k.id {
			t.Errorf("imported: a key of %s: authenticates as %q, %v", k.id, got.ID, err)
		}
	}
	if acme, _ := reg.Get("acme"); acme.RatePerSec != 100 || acme.Burst != 200 {
		t.Errorf("imported acme: limits %s", tenant.FormatLimits(acme))
	}
	again := mustCLI(t, "tenant", "export", "--server", "http://"+b.HTTPAddr(), "--admin-key", adminKey)
	if again != string(exported) {
		t.Errorf("exported after import:\n%s\nwant as imported:\n%s", again, exported)
	}
	if fromFile := mustCLI(t, "tenant", "export", "--tenants-file", file); fromFile != string(exported) {
		t.Errorf("export --tenants-file:\n%s\nwant:\n%s", fromFile, exported)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}
