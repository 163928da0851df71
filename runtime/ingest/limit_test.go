package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// TestHandlerRateLimit: a tenant over its rate gets 429 with Retry-After and
// the event is not accepted; another tenant is not affected.
func TestHandlerRateLimit(t *testing.T) {
	reg := tenant.NewRegistry()
	slow, free := tenant.NewKey(), tenant.NewKey()
	reg.Add(tenant.Tenant{ID: "slow", KeyHashes: []string{tenant.HashKey(slow)}, RatePerSec: 0.5, Burst: 2})
	reg.Add(tenant.Tenant{ID: "free", KeyHashes: []string{tenant.HashKey(free)}})
	acc := &rejectTypes{}
	h := NewHandler(Config{Auth: reg, Accept: acc, Limiter: tenant.NewLimiter()})
	post := func(key string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/events?type=com.acme.x", strings.NewReader(`{"a":1}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i, want := range []int{202, 202, 429, 429} {
		w := post(slow)
		if w.Code != want {
			t.Fatalf("request %d: status %d, want %d: %s", i, w.Code, want, w.Body)
		}
		if want == 429 {
			// One token refills in 2 s; the header rounds up to whole seconds.
			if ra := w.Header().Get("Retry-After"); ra != "2" && ra != "1" {
				t.Errorf("Retry-After = %q", ra)
			}
			if !strings.Contains(w.Body.String(), "ingest rate") {
				t.Errorf("body %s", w.Body)
			}
		}
	}
	for i := 0; i < 10; i++ {
		if w := post(free); w.Code != 202 {
			t.Fatalf("unlimited tenant: %d", w.Code)
		}
	}
	if len(acc.seen) != 12 {
		t.Fatalf("accepted %d events, want 12", len(acc.seen))
	}
}
