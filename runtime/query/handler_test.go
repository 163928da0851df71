package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// newServer serves the query API over a real Pebble store holding 5 events
// of tenant acme (one of another type) and 1 of globex with the same id, and
// acme events that share an id across sources: dup/1 from two, many from
// more than a 300 reply lists.
func newServer(t *testing.T) (*httptest.Server, string, string) {
	t.Helper()
	st, err := pebble.Open(t.TempDir(), pebble.Options{NoSync: true})
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
			Event: []byte(fmt.Sprintf(`{"id":%q,"source":"/s","tenantid":"acme"}`, id))})
	}
	recs = append(recs, store.Record{Tenant: "globex", ID: "e0", Type: "com.acme.order.created", Source: "/s", Time: base,
		Event: []byte(`{"id":"e0","source":"/s","tenantid":"globex"}`)})
	// One id from two sources (one that needs escaping in a query), and an
	// id that needs escaping in a path.
	for i, src := range []string{"/shop", "urn:a&b=c d"} {
		recs = append(recs, store.Record{Tenant: "acme", ID: "dup/1", Type: "com.acme.order.duplicated", Source: src,
			Time: base.Add(time.Duration(i) * time.Hour), Event: []byte(fmt.Sprintf(`{"id":"dup/1","source":%q,"tenantid":"acme"}`, src)),
			Input: []byte(fmt.Sprintf(`{"from":%q}`, src))})
	}
	for i := range maxCandidates + 1 {
		src := fmt.Sprintf("/many/%02d", i)
		recs = append(recs, store.Record{Tenant: "acme", ID: "many", Type: "com.acme.order.duplicated", Source: src, Time: base,
			Event: []byte(fmt.Sprintf(`{"id":"many","source":%q}`, src))})
	}
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
	code, _ := getH(t, url, key, into)
	return code
}

// getH is get that also returns the reply's headers.
func getH(t *testing.T, url, key string, into any) (int, http.Header) {
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
	return resp.StatusCode, resp.Header
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

// TestGetBySourceAndID covers GET /v1/events/{id}: the only match (200),
// several sources (300 with the candidates, whose URLs each answer 200),
// ?source= to pick (200, or 404 for a source without that id), 404 for an
// unknown id and 400 for an empty ?source=.
func TestGetBySourceAndID(t *testing.T) {
	srv, keyA, keyG := newServer(t)
	type event struct{ ID, Source, Tenantid string }
	var ev event
	code, h := getH(t, srv.URL+"/v1/events/e1", keyA, &ev)
	if code != 200 || ev.ID != "e1" || h.Get("Content-Type") != "application/cloudevents+json" || h.Get("Content-Location") != "/v1/events/e1?source=%2Fs" {
		t.Fatalf("single match: %d %+v %v", code, ev, h)
	}

	var amb struct {
		Type, Title, Detail, Field, ID string
		Status                         int
		Candidates                     []Candidate
		Truncated                      bool
	}
	code, h = getH(t, srv.URL+"/v1/events/dup%2F1", keyA, &amb)
	if code != http.StatusMultipleChoices || h.Get("Content-Type") != "application/problem+json" || amb.Status != 300 ||
		amb.Field != "source" || amb.ID != "dup/1" || len(amb.Candidates) != 2 || amb.Truncated || !strings.Contains(amb.Detail, "?source=") {
		t.Fatalf("two sources: %d %+v", code, amb)
	}
	if links := h.Values("Link"); len(links) != 2 || !strings.Contains(links[0], amb.Candidates[0].Href) {
		t.Errorf("Link headers of the 300: %q", links)
	}
	for i, want := range []string{"/shop", "urn:a&b=c d"} {
		c := amb.Candidates[i]
		if c.Source != want || c.Type != "com.acme.order.duplicated" || c.Time == "" {
			t.Errorf("candidate %d: %+v, want source %q", i, c, want)
		}
		var got event
		if code := get(t, srv.URL+c.Href, keyA, &got); code != 200 || got.Source != want || got.ID != "dup/1" {
			t.Errorf("following candidate %d (%s): %d %+v", i, c.Href, code, got)
		}
	}
	if code := get(t, srv.URL+"/v1/events/dup%2F1?source="+url.QueryEscape("urn:a&b=c d"), keyA, &ev); code != 200 || ev.Source != "urn:a&b=c d" {
		t.Errorf("?source= picking the second: %d %+v", code, ev)
	}

	code = get(t, srv.URL+"/v1/events/many", keyA, &amb)
	if code != 300 || len(amb.Candidates) != maxCandidates || !amb.Truncated || amb.Candidates[0].Source != "/many/00" {
		t.Errorf("more sources than a reply lists: %d, %d candidates, truncated %t", code, len(amb.Candidates), amb.Truncated)
	}

	var p struct {
		Status int
		Field  string
		Detail string
	}
	for _, c := range []struct {
		path, key string
		code      int
		field     string
	}{
		{"/v1/events/nope", keyA, 404, "id"},
		{"/v1/events/e1?source=%2Fother", keyA, 404, "id"},
		{"/v1/events/dup%2F1?source=%2Fsho", keyA, 404, "id"},
		{"/v1/events/dup%2F1", keyG, 404, "id"}, // another tenant's
		{"/v1/events/dup%2F1?source=%2Fshop", keyG, 404, "id"},
		{"/v1/events/e1?source=", keyA, 400, "source"},
	} {
		p.Status, p.Field = 0, ""
		if code := get(t, srv.URL+c.path, c.key, &p); code != c.code || p.Status != c.code || p.Field != c.field {
			t.Errorf("GET %s: %d %+v, want %d naming %s", c.path, code, p, c.code, c.field)
		}
	}
}

// TestGetInput reads an event's data as it arrived, picked as the event is;
// a record stored without it answers 404.
func TestGetInput(t *testing.T) {
	srv, keyA, keyG := newServer(t)
	var in struct{ From string }
	path := "/v1/events/dup%2F1/input?source=" + url.QueryEscape("urn:a&b=c d")
	code, h := getH(t, srv.URL+path, keyA, &in)
	if code != 200 || in.From != "urn:a&b=c d" || h.Get("Content-Type") != "application/json" || h.Get("Content-Location") != path {
		t.Fatalf("input of dup/1 from the second source: %d %+v %v", code, in, h)
	}
	var amb struct{ Candidates []Candidate }
	if code := get(t, srv.URL+"/v1/events/dup%2F1/input", keyA, &amb); code != 300 || len(amb.Candidates) != 2 {
		t.Fatalf("input of an ambiguous id: %d %+v", code, amb)
	}
	for _, c := range amb.Candidates {
		in.From = ""
		if code := get(t, srv.URL+c.Href, keyA, &in); code != 200 || in.From != c.Source {
			t.Errorf("following %s: %d %+v", c.Href, code, in)
		}
	}
	var p struct{ Field string }
	for _, c := range []struct {
		path, key string
		code      int
	}{
		{"/v1/events/e1/input", keyA, 404},         // stored without input
		{"/v1/events/dup%2F1/input", keyG, 404},    // another tenant's
		{"/v1/events/dup%2F1/input", "", 401},      // no key
		{"/v1/events/e1/input?source=", keyA, 400}, // empty source
	} {
		if code := get(t, srv.URL+c.path, c.key, &p); code != c.code {
			t.Errorf("GET %s: %d, want %d", c.path, code, c.code)
		}
	}
}

// TestListNamesSourceAndID checks that list results carry each event's
// source and id (the stored CloudEvent), so two events sharing an id are
// told apart.
func TestListNamesSourceAndID(t *testing.T) {
	srv, keyA, _ := newServer(t)
	var reply ListReply
	if code := get(t, srv.URL+"/v1/events?limit=1000", keyA, &reply); code != 200 {
		t.Fatalf("status %d", code)
	}
	seen := map[string]bool{}
	for _, raw := range reply.Events {
		var ev struct{ ID, Source string }
		if err := json.Unmarshal(raw, &ev); err != nil || ev.ID == "" || ev.Source == "" {
			t.Errorf("listed event without id or source: %s", raw)
		}
		seen[ev.Source+" "+ev.ID] = true
	}
	if !seen["/shop dup/1"] || !seen["urn:a&b=c d dup/1"] {
		t.Errorf("list does not show both dup/1 events: %v", seen)
	}
}
