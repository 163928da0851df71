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

// TestServeWASMOnCluster: two serve processes on one external NATS share
// the deployments: a consumer deployed through one runs on both (the other
// lists it), handles events posted to either, and a removal through the
// other stops it on both. Neither keeps modules in its data directory.
func TestServeWASMOnCluster(t *testing.T) {
	dir := t.TempDir()
	opDir := filepath.Join(dir, "op")
	if out, err := exec.Command(buildBinary(t), "nats", "init", "--dir", opDir, "--resolver-dir", filepath.Join(opDir, "jwt")).CombinedOutput(); err != nil {
		t.Fatalf("nats init: %v\n%s", err, out)
	}
	ns := startOperatorServer(t, opDir)
	seed := filepath.Join(opDir, operatorFileName)
	data1, data2 := filepath.Join(dir, "data1"), filepath.Join(dir, "data2")
	acme := createTenant(t, "acme", "--data-dir", data1) // imported into the shared registry by s1
	s1 := startServer(t, data1, "--nats-url", ns.ClientURL(), "--nats-operator-key", seed)
	s2 := startServer(t, data2, "--nats-url", ns.ClientURL(), "--nats-operator-key", seed)

	work := t.TempDir()
	module, seedFile := filepath.Join(work, "summ.wasm"), filepath.Join(work, "acme.nk")
	os.WriteFile(module, wasmtest.GoGuest(t), 0o644)
	os.WriteFile(seedFile, []byte(acme.SigningSeed), 0o600)
	if out, err := run(t, "wasm", "sign", "--seed", seedFile, "--tenant", "acme", "--name", "summ", module); err != nil {
		t.Fatalf("sign: %v\n%s", err, out)
	}
	if out, err := run(t, "wasm", "deploy", module, "--name", "summ", "--server", s1.httpURL, "--api-key", acme.APIKey, "--pool", "1"); err != nil {
		t.Fatalf("deploy on s1: %v\n%s\n%s", err, out, s1.stderr)
	}
	listed := func(s *server) string {
		out, err := run(t, "wasm", "list", "--server", s.httpURL, "--api-key", acme.APIKey)
		if err != nil {
			t.Fatalf("list: %v\n%s", err, out)
		}
		return out
	}
	waitList := func(s *server, want bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); strings.Contains(listed(s), "summ") != want; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("list on %s: want summ listed %v:\n%s\n%s", s.httpURL, want, listed(s), s.stderr)
			}
		}
	}
	waitList(s2, true)
	if code, _, b := request(t, http.MethodPost, s2.httpURL+"/v1/events", acme.APIKey, "application/cloudevents+json", iotEvent("acme-c1", 70)); code != 202 {
		t.Fatalf("post on s2: %d %s", code, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildBinary(t), "tail", "--nats-url", ns.ClientURL(), "--tenant", "acme", "--password", acme.APIKey,
		"--outputs", "--since", "all", "-n", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"source_id":"acme-c1"`) {
		t.Fatalf("acme's outputs: %v\n%s\n%s\n%s", err, out, s1.stderr, s2.stderr)
	}
	if out, err := run(t, "wasm", "remove", "summ", "--server", s2.httpURL, "--api-key", acme.APIKey); err != nil {
		t.Fatalf("remove on s2: %v\n%s", err, out)
	}
	waitList(s1, false)
	for _, d := range []string{data1, data2} {
		if _, err := os.Stat(filepath.Join(d, "wasm", "modules")); !os.IsNotExist(err) {
			t.Errorf("%s/wasm/modules: %v, want none (the deployments live in JetStream)", d, err)
		}
	}
	s1.stop(t)
	s2.stop(t)
}
