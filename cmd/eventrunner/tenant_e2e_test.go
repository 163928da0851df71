package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

const adminKey = "e2e-admin-key-0123456789"

// createTenant runs `eventrunner tenant create` and returns its secrets.
func createTenant(t *testing.T, args ...string) tenant.Secrets {
	t.Helper()
	out, err := exec.Command(buildBinary(t), append([]string{"tenant", "create", "--json"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tenant create %v: %v\n%s", args, err, out)
	}
	var s tenant.Secrets
	if err := json.Unmarshal(out, &s); err != nil || s.APIKey == "" {
		t.Fatalf("tenant create output %s: %v", out, err)
	}
	return s
}

// request sends one HTTP request with a bearer key.
func request(t *testing.T, method, url, key, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// waitGet polls GET url until it answers 200.
func waitGet(t *testing.T, url, key string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, _, _ := request(t, http.MethodGet, url, key, "", ""); code == 200 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: not 200 after 30s", url)
}

// tail runs `eventrunner tail` for one event (bounded by a timeout).
func tail(t *testing.T, natsURL, tenantID, key string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, buildBinary(t), "tail", "--nats-url", natsURL, "--tenant", tenantID, "--password", key, "--since", "all", "-n", "1").CombinedOutput()
	return string(out), err
}

// TestServeTenants: tenants from the file and from the admin API, each
// reading only its own events over HTTP and NATS, and the rate limit.
func TestServeTenants(t *testing.T) {
	dir := t.TempDir()
	acme := createTenant(t, "acme", "--data-dir", dir)
	globex := createTenant(t, "globex", "--data-dir", dir, "--rate", "0.2", "--burst", "1")
	s := startServer(t, dir, "--admin-key", adminKey)
	events := s.httpURL + "/v1/events"

	if code, _, b := request(t, http.MethodPost, events, acme.APIKey, "application/cloudevents+json", iotEvent("acme-1", 70)); code != 202 {
		t.Fatalf("acme post: %d %s", code, b)
	}
	if code, _, b := request(t, http.MethodPost, events, globex.APIKey, "application/cloudevents+json", iotEvent("globex-1", 70)); code != 202 {
		t.Fatalf("globex post: %d %s", code, b)
	}
	// globex's burst is spent: 429 with Retry-After.
	code, h, b := request(t, http.MethodPost, events, globex.APIKey, "application/cloudevents+json", iotEvent("globex-2", 70))
	if code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("globex over its rate: %d %v %s", code, h, b)
	}
	waitGet(t, events+"/acme-1", acme.APIKey)
	waitGet(t, events+"/globex-1", globex.APIKey)

	// Over HTTP, a key reads its own tenant's events only.
	for _, c := range []struct{ url, key string }{{events + "/globex-1", acme.APIKey}, {events + "/acme-1", globex.APIKey}} {
		if code, _, b := request(t, http.MethodGet, c.url, c.key, "", ""); code != 404 {
			t.Errorf("GET %s with the other tenant's key: %d %s", c.url, code, b)
		}
	}
	if code, _, b := request(t, http.MethodGet, events+"?type=com.acme.iot.reading", acme.APIKey, "", ""); code != 200 || strings.Contains(string(b), "globex-1") || !strings.Contains(string(b), "acme-1") {
		t.Errorf("acme's listing: %d %s", code, b)
	}

	// Over NATS, `tail` with a tenant's credentials sees its own stream only.
	if out, err := tail(t, s.natsURL, "acme", acme.APIKey); err != nil || !strings.Contains(out, `"acme-1"`) {
		t.Errorf("acme tail: %v\n%s", err, out)
	}
	if out, err := tail(t, s.natsURL, "globex", acme.APIKey); err == nil {
		t.Errorf("tail of globex with acme's key worked:\n%s", out)
	}

	// The admin API: guarded, and a tenant it creates works at once.
	if code, _, _ := request(t, http.MethodGet, s.httpURL+"/admin/v1/tenants", acme.APIKey, "", ""); code != 401 {
		t.Errorf("admin API with a tenant key: %d", code)
	}
	code, _, b = request(t, http.MethodPost, s.httpURL+"/admin/v1/tenants", adminKey, "application/json", `{"id":"late"}`)
	var late tenant.Secrets
	if code != 201 || json.Unmarshal(b, &late) != nil {
		t.Fatalf("admin create: %d %s", code, b)
	}
	if code, _, b := request(t, http.MethodPost, events, late.APIKey, "application/cloudevents+json", iotEvent("late-1", 70)); code != 202 {
		t.Fatalf("late post: %d %s", code, b)
	}
	if out, err := tail(t, s.natsURL, "late", late.APIKey); err != nil || !strings.Contains(out, `"late-1"`) {
		t.Errorf("late tail: %v\n%s", err, out)
	}
	// The CLI goes through the admin API with --server.
	if out, err := run(t, "tenant", "create", "viaapi", "--rate", "5", "--server", s.httpURL, "--admin-key", adminKey); err != nil || !strings.Contains(out, "API key") {
		t.Fatalf("tenant create --server: %v\n%s", err, out)
	}
	if out, err := run(t, "tenant", "list", "--server", s.httpURL, "--admin-key", adminKey); err != nil || !strings.Contains(out, "viaapi") || !strings.Contains(out, "rate=5/s") {
		t.Fatalf("tenant list --server: %v\n%s", err, out)
	}
	if out, err := run(t, "tenant", "list", "--server", s.httpURL, "--admin-key", "wrong-admin-key-000"); err == nil {
		t.Fatalf("tenant list with a wrong admin key:\n%s", out)
	}

	// Rotating a key closes the connections made with the old one, which
	// then cannot reconnect; the new key works.
	nc, err := nats.Connect(s.natsURL, append(tenantnats.ClientOptions("acme", acme.APIKey), nats.MaxReconnects(0))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	code, _, b = request(t, http.MethodPost, s.httpURL+"/admin/v1/tenants/acme/rotate-key", adminKey, "", "")
	var rotated tenant.Secrets
	if code != 200 || json.Unmarshal(b, &rotated) != nil {
		t.Fatalf("rotate: %d %s", code, b)
	}
	for deadline := time.Now().Add(10 * time.Second); !nc.IsClosed() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.IsClosed() {
		t.Error("a connection with the rotated-out key stayed open")
	}
	if _, err := nats.Connect(s.natsURL, tenantnats.ClientOptions("acme", acme.APIKey)...); err == nil {
		t.Error("the rotated-out key still connects")
	}
	if code, _, _ := request(t, http.MethodGet, events+"/acme-1", rotated.APIKey, "", ""); code != 200 {
		t.Errorf("new key: %d", code)
	}
	if code, _, _ := request(t, http.MethodGet, events+"/acme-1", acme.APIKey, "", ""); code != 401 {
		t.Errorf("old key: %d", code)
	}

	// Deleting a tenant revokes its key at once.
	if code, _, b := request(t, http.MethodDelete, s.httpURL+"/admin/v1/tenants/late", adminKey, "", ""); code != 204 {
		t.Fatalf("admin delete: %d %s", code, b)
	}
	if code, _, _ := request(t, http.MethodGet, events+"/late-1", late.APIKey, "", ""); code != 401 {
		t.Errorf("deleted tenant's key: %d", code)
	}
	s.stop(t)
}
