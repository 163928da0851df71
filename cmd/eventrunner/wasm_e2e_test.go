package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/wasm/wasmtest"
)

// run runs the binary and returns its combined output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildBinary(t), args...).CombinedOutput()
	return string(out), err
}

// TestServeWASM: through serve, a tenant signs and deploys a WASM consumer
// and sees its output for its own events only; another tenant cannot deploy
// the module signed for the first.
func TestServeWASM(t *testing.T) {
	dir := t.TempDir()
	acme := createTenant(t, "acme", "--data-dir", dir)
	globex := createTenant(t, "globex", "--data-dir", dir)
	s := startServer(t, dir)
	work := t.TempDir()
	module, seed := filepath.Join(work, "summ.wasm"), filepath.Join(work, "acme.nk")
	os.WriteFile(module, wasmtest.GoGuest(t), 0o644)
	os.WriteFile(seed, []byte(acme.SigningSeed), 0o600)

	if out, err := run(t, "wasm", "sign", "--seed", seed, "--tenant", "acme", "--name", "summ", module); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	if out, err := run(t, "wasm", "deploy", module, "--name", "summ", "--server", s.httpURL, "--api-key", globex.APIKey); err == nil || !strings.Contains(out, `the claims are for tenant "acme", not "globex"`) {
		t.Fatalf("globex deployed acme's module: %v\n%s", err, out)
	}
	if out, err := run(t, "wasm", "deploy", module, "--name", "summ", "--server", s.httpURL, "--api-key", acme.APIKey, "--pool", "2"); err != nil || !strings.Contains(out, "deployed summ for tenant acme") {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	events := s.httpURL + "/v1/events"
	for _, e := range []struct{ key, id string }{{globex.APIKey, "globex-w1"}, {acme.APIKey, "acme-w1"}} {
		if code, _, b := request(t, http.MethodPost, events, e.key, "application/cloudevents+json", iotEvent(e.id, 70)); code != 202 {
			t.Fatalf("post %s: %d %s", e.id, code, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildBinary(t), "tail", "--nats-url", s.natsURL, "--tenant", "acme", "--password", acme.APIKey,
		"--outputs", "--since", "all", "-n", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"source_id":"acme-w1"`) || !strings.Contains(string(out), `"tenant":"acme"`) {
		t.Fatalf("acme's outputs: %v\n%s\n%s", err, out, s.stderr)
	}
	if out, err := run(t, "wasm", "list", "--server", s.httpURL, "--api-key", acme.APIKey); err != nil || !strings.Contains(out, "summ") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, _ := run(t, "wasm", "list", "--server", s.httpURL, "--api-key", globex.APIKey); strings.Contains(out, "summ") {
		t.Fatalf("globex sees acme's consumer:\n%s", out)
	}
	// globex has no outputs at all: its events never reach acme's consumer.
	if out, err := tailOutputsBriefly(t, s.natsURL, "globex", globex.APIKey); err == nil || strings.Contains(out, "source_id") {
		t.Fatalf("globex outputs: %v\n%s", err, out)
	}
	if out, err := run(t, "wasm", "remove", "summ", "--server", s.httpURL, "--api-key", acme.APIKey); err != nil {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	s.stop(t)
}

// tailOutputsBriefly reads a tenant's outputs for a few seconds; with none
// it is killed by its timeout (an error).
func tailOutputsBriefly(t *testing.T, natsURL, tenantID, key string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildBinary(t), "tail", "--nats-url", natsURL, "--tenant", tenantID, "--password", key,
		"--outputs", "--since", "all", "-n", "1").CombinedOutput()
	return string(out), err
}
