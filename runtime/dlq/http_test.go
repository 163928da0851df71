package dlq_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/dlq"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

const (
	keyA     = "acme-key-0123456789"
	keyB     = "beta-key-0123456789"
	adminKey = "admin-key-0123456789"
)

func newServer(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	reg := tenant.NewRegistry()
	if err := reg.Replace([]tenant.Tenant{{ID: bustest.Tenant, KeyHashes: []string{tenant.HashKey(keyA)}}, {ID: other, KeyHashes: []string{tenant.HashKey(keyB)}}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&dlq.Handler{DLQ: f.dlq, Auth: reg, Admin: tenant.NewAdminHandler(nil, adminKey)}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call sends a request with key and returns the status and body.
func call(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.Header.Get("Content-Type") != problem.ContentType {
		t.Errorf("%s %s: %d with Content-Type %q, want problem+json", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, b
}

// TestDLQHTTPTenantScope: who may see and act on which dead letters, and
// the 400s of bad requests; every error is problem+json.
func TestDLQHTTPTenantScope(t *testing.T) {
	f := newFixture(t)
	dls := f.seed(t)
	srv := newServer(t, f)
	seq := strconv.FormatUint(dls["r-1"].Seq, 10)
	sel := `{"seqs":[` + seq + `]}`
	for _, tt := range []struct {
		name, method, path, key, body string
		want                          int
	}{
		{"no key", "GET", "/v1/dlq", "", "", 401},
		{"wrong key", "GET", "/v1/dlq", "nope-nope-nope-nope", "", 401},
		{"other shows", "GET", "/v1/dlq/" + seq, keyB, "", 404},
		{"other redrives", "POST", "/v1/dlq/redrive", keyB, sel, 404},
		{"other purges", "POST", "/v1/dlq/purge", keyB, sel, 404},
		{"other names the tenant", "GET", "/v1/dlq?tenant=acme", keyB, "", 403},
		{"admin without tenant", "GET", "/v1/dlq", adminKey, "", 400},
		{"admin for acme", "GET", "/v1/dlq/" + seq + "?tenant=acme", adminKey, "", 200},
		{"admin for beta", "GET", "/v1/dlq/" + seq + "?tenant=beta", adminKey, "", 404},
		{"not a seq", "GET", "/v1/dlq/x", keyA, "", 404},
		{"absent", "GET", "/v1/dlq/999999", keyA, "", 404},
		{"no selection", "POST", "/v1/dlq/redrive", keyA, `{}`, 400},
		{"seqs and filter", "POST", "/v1/dlq/purge", keyA, `{"seqs":[1],"kind":"x"}`, 400},
		{"unknown member", "POST", "/v1/dlq/purge", keyA, `{"everything":true}`, 400},
		{"bad since", "GET", "/v1/dlq?since=yesterday", keyA, "", 400},
		{"bad limit", "GET", "/v1/dlq?limit=0", keyA, "", 400},
		{"own", "GET", "/v1/dlq/" + seq, keyA, "", 200},
	} {
		if code, body := call(t, srv, tt.method, tt.path, tt.key, tt.body); code != tt.want {
			t.Errorf("%s: %s %s: %d %s, want %d", tt.name, tt.method, tt.path, code, body, tt.want)
		}
	}
	var page dlq.Page
	code, body := call(t, srv, "GET", "/v1/dlq", keyB, "")
	if code != 200 || json.Unmarshal(body, &page) != nil || len(page.DeadLetters) != 0 || page.Next != nil {
		t.Errorf("beta lists: %d %s", code, body)
	}
}

// TestDLQHTTPRedriveAndList: a redrive by filter, then the list's wire
// format (the console's contract) and its pages, and an admin purge.
func TestDLQHTTPRedriveAndList(t *testing.T) {
	f := newFixture(t)
	dls := f.seed(t)
	srv := newServer(t, f)
	code, body := call(t, srv, "POST", "/v1/dlq/redrive", keyA, `{"kind":"unknown-schema"}`)
	var rep dlq.Report
	if code != 200 || json.Unmarshal(body, &rep) != nil || rep.Accepted != 2 || rep.Rejected != 0 {
		t.Fatalf("redrive: %d %s", code, body)
	}
	// The wire format the console reads.
	code, body = call(t, srv, "GET", "/v1/dlq?limit=2", keyA, "")
	var page struct {
		DeadLetters []map[string]any `json:"dead_letters"`
		Next        *uint64          `json:"next"`
	}
	if code != 200 || json.Unmarshal(body, &page) != nil || len(page.DeadLetters) != 2 || page.Next == nil {
		t.Fatalf("list: %d %s", code, body)
	}
	first := page.DeadLetters[0]
	for _, k := range []string{"seq", "time", "stage", "kind", "field", "reason", "event", "content_type", "data", "redriven"} {
		if _, ok := first[k]; !ok {
			t.Errorf("a dead letter lacks %q: %v", k, first)
		}
	}
	if ev, _ := first["event"].(map[string]any); ev["id"] != "r-1" || ev["source"] != "/shop" || ev["dataschema"] != "com.acme.order.created/v2" {
		t.Errorf("event %v", first["event"])
	}
	if r, _ := first["redriven"].(map[string]any); r["outcome"] != "accepted" || r["count"] != 1.0 || r["at"] == "" {
		t.Errorf("redriven %v", first["redriven"])
	}
	code, body = call(t, srv, "GET", "/v1/dlq?after="+strconv.FormatUint(*page.Next, 10), keyA, "")
	if code != 200 || json.Unmarshal(body, &page) != nil || len(page.DeadLetters) != 1 || page.Next != nil {
		t.Errorf("second page: %d %s", code, body)
	}
	code, body = call(t, srv, "POST", "/v1/dlq/purge?tenant=acme", adminKey, `{"seqs":[`+strconv.FormatUint(dls["bad-1"].Seq, 10)+`]}`)
	if code != 200 || strings.TrimSpace(string(body)) != `{"purged":1}` {
		t.Errorf("admin purge: %d %s", code, body)
	}
}
