package tenant

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAdminAPI(t *testing.T) {
	m := &Manager{Registry: NewRegistry()}
	mux := http.NewServeMux()
	NewAdminHandler(m, "admin-secret-0123").Register(mux)
	do := func(method, path, key, body string) (int, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var v map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		return w.Code, v
	}
	const admin = "admin-secret-0123"
	tests := []struct {
		method, path, key, body string
		status                  int
	}{
		{"GET", "/admin/v1/tenants", "", "", 401},
		{"GET", "/admin/v1/tenants", "wrong-key", "", 401},
		{"POST", "/admin/v1/tenants", admin, `{"id":"acme","rate_per_sec":5,"retention":"24h"}`, 201},
		{"POST", "/admin/v1/tenants", admin, `{"id":"acme"}`, 409},
		{"POST", "/admin/v1/tenants", admin, `{"id":"Bad"}`, 422},
		{"POST", "/admin/v1/tenants", admin, `{"id":"x","bogus":1}`, 400},
		{"GET", "/admin/v1/tenants/acme", admin, "", 200},
		{"GET", "/admin/v1/tenants.yaml", "", "", 401},
		{"GET", "/admin/v1/tenants.yaml", admin, "", 200},
		{"GET", "/admin/v1/tenants/nope", admin, "", 404},
		{"PUT", "/admin/v1/tenants/acme", admin, `{"rate_per_sec":7}`, 200},
		{"POST", "/admin/v1/tenants/acme/rotate-key", admin, "", 200},
		{"DELETE", "/admin/v1/tenants/acme", admin, "", 204},
		{"DELETE", "/admin/v1/tenants/acme", admin, "", 404},
	}
	for _, tt := range tests {
		if got, body := do(tt.method, tt.path, tt.key, tt.body); got != tt.status {
			t.Errorf("%s %s = %d %v, want %d", tt.method, tt.path, got, body, tt.status)
		}
	}
	// Secrets are shown once, at creation, and never listed.
	_, created := do("POST", "/admin/v1/tenants", admin, `{"id":"globex"}`)
	key, _ := created["api_key"].(string)
	if got, err := m.Registry.Authenticate(key); err != nil || got.ID != "globex" {
		t.Fatalf("created key does not authenticate: %v", err)
	}
	_, list := do("GET", "/admin/v1/tenants", admin, "")
	if b, _ := json.Marshal(list); strings.Contains(string(b), "key_hashes") || !strings.Contains(string(b), "globex") {
		t.Errorf("list = %s", b)
	}
}

func TestAdminAPIDisabled(t *testing.T) {
	mux := http.NewServeMux()
	NewAdminHandler(&Manager{Registry: NewRegistry()}, "").Register(mux)
	r := httptest.NewRequest("GET", "/admin/v1/tenants", nil)
	r.Header.Set("Authorization", "Bearer ")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 403 {
		t.Fatalf("status %d, want 403", w.Code)
	}
}
