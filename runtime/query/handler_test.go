package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// newServer serves the query API over a real Pebble store holding 5 events
// of tenant acme (one of another type) and 1 of globex with the same id.
func newServer(t *testing.T) (*httptest.Server, string, string) {
	t.Helper()
	st, err := store.OpenPebble(t.TempDir(), store.PebbleOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	var recs []store.Record
	for i := 0; i < 5; i++ {
		typ := "com.acme.order.created"
		if i == 4 {
			typ = "com.acme.payment.captured"
		}
		id := fmt.Sprintf("e%d", i)
		recs = append(recs, store.Record{Tenant: "acme", ID: id, Type: typ, Source: "/s", Time: base.Add(time.Duration(i) * time.Minute),
			Event: []byte(fmt.Sprintf(`{"id":%q,"tenantid":"acme"}`, id))})
	}
	recs = append(recs, store.Record{Tenant: "globex", ID: "e0", Type: "com.acme.order.created", Source: "/s", Time: base,
		Event: []byte(`{"id":"e0","tenantid":"globex"}`)})
	if err := st.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	reg := tenant.NewRegistry()
	keyA, keyG := tenant.NewKey(), tenant.NewKey()
	_ = reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(keyA)}})
	_ = reg.Add(tenant.Tenant{ID: "globex", KeyHashes: []string{tenant.HashKey(keyG)}})
	mux := http.NewServeMux()
	(&Handler{Store: st, Auth: reg}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, keyA, keyG
}

func get(t *testing.T, url, key string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return resp.StatusCode
}

func TestGetIsTenantScoped(t *testing.T) {
	srv, keyA, keyG := newServer(t)
	var ev map[string]string
	if code := get(t, srv.URL+"/v1/events/e0", keyA, &ev); code != 200 || ev["tenantid"] != "acme" {
		t.Fatalf("acme: %d %v", code, ev)
	}
	if code := get(t, srv.URL+"/v1/events/e0", keyG, &ev); code != 200 || ev["tenantid"] != "globex" {
		t.Fatalf("globex: %d %v", code, ev)
	}
	if code := get(t, srv.URL+"/v1/events/e3", keyG, nil); code != 404 {
		t.Fatalf("globex reading acme's e3: %d, want 404", code)
	}
	if code := get(t, srv.URL+"/v1/events/e0", "", nil); code != 401 {
		t.Fatalf("no key: %d", code)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	srv, keyA, _ := newServer(t)
	var ids []string
	url := srv.URL + "/v1/events?type=com.acme.order.created&limit=2"
	for page := 0; page < 5; page++ {
		var reply ListReply
		if code := get(t, url, keyA, &reply); code != 200 {
			t.Fatalf("status %d", code)
		}
		for _, raw := range reply.Events {
			var ev map[string]string
			_ = json.Unmarshal(raw, &ev)
			ids = append(ids, ev["id"])
		}
		if reply.Next == "" {
			break
		}
		url = srv.URL + "/v1/events?type=com.acme.order.created&limit=2&cursor=" + reply.Next
	}
	if fmt.Sprint(ids) != "[e3 e2 e1 e0]" {
		t.Fatalf("ids %v, want newest first, orders only", ids)
	}
	var reply ListReply
	get(t, srv.URL+"/v1/events?from=2026-11-28T09:01:00Z&to=2026-11-28T09:03:00Z", keyA, &reply)
	if len(reply.Events) != 2 {
		t.Fatalf("time range: %d events, want 2", len(reply.Events))
	}
}

func TestListBadInput(t *testing.T) {
	srv, keyA, _ := newServer(t)
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"limit=0", "limit"},
		{"cursor=%21%21", "cursor"},
	} {
		var p struct {
			Status int
			Field  string
		}
		if code := get(t, srv.URL+"/v1/events?"+tc.query, keyA, &p); code != 400 || p.Field != tc.field {
			t.Errorf("%s: %d %+v, want 400 naming %s", tc.query, code, p, tc.field)
		}
	}
}
