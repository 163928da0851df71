package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// rejectTypes is an Acceptor that refuses events whose type starts with
// "bad" with a 422 and accepts the rest; it records what it saw.
type rejectTypes struct{ seen []*cloudevents.Event }

func (a *rejectTypes) Accept(_ context.Context, _ string, evs []*cloudevents.Event) []error {
	errs := make([]error, len(evs))
	for i, ev := range evs {
		a.seen = append(a.seen, ev)
		if strings.HasPrefix(ev.Type, "bad") {
			errs[i] = problem.New(http.StatusUnprocessableEntity, "data.$.x", "must be >= 0, got -1")
		}
	}
	return errs
}

func newTestHandler(t *testing.T) (*Handler, *rejectTypes, string) {
	t.Helper()
	reg := tenant.NewRegistry()
	key := tenant.NewKey()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
		t.Fatal(err)
	}
	acc := &rejectTypes{}
	return NewHandler(Config{Auth: reg, Accept: acc}), acc, key
}

func TestHandlerStatuses(t *testing.T) {
	ev := func(id, typ, extra string) string {
		return `{"specversion":"1.0","id":"` + id + `","source":"/s","type":"` + typ + `"` + extra + `,"data":{}}`
	}
	tests := []struct {
		name, ct, body, key string
		status              int
		accepted, rejected  int
	}{
		{"single accepted", StructuredContentType, ev("1", "ok", ""), "", 202, 1, 0},
		{"single invalid", StructuredContentType, ev("1", "bad", ""), "", 422, 0, 0},
		{"batch all accepted", BatchContentType, "[" + ev("1", "ok", "") + "," + ev("2", "ok", "") + "]", "", 202, 2, 0},
		{"batch mixed", BatchContentType, "[" + ev("1", "ok", "") + "," + ev("2", "bad", "") + "]", "", 207, 1, 1},
		{"batch all invalid", BatchContentType, "[" + ev("1", "bad", "") + "]", "", 422, 0, 1},
		{"other tenant", StructuredContentType, ev("1", "ok", `,"tenantid":"globex"`), "", 403, 0, 0},
		{"no key", StructuredContentType, ev("1", "ok", ""), "-", 401, 0, 0},
		{"wrong key", StructuredContentType, ev("1", "ok", ""), "er_nope", 401, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _, key := newTestHandler(t)
			r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			switch tt.key {
			case "":
				r.Header.Set("Authorization", "Bearer "+key)
			case "-":
			default:
				r.Header.Set("X-API-Key", tt.key)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status >= 400 && tt.ct != BatchContentType {
				var p problem.Problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.status || p.Detail == "" {
					t.Fatalf("problem body %s (%v)", w.Body, err)
				}
				if tt.key == "" && (p.EventID != "1" || p.EventSource != "/s") {
					t.Errorf("problem names event %q from %q, want 1 from /s", p.EventID, p.EventSource)
				}
				if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
					t.Fatalf("content type %q", ct)
				}
				return
			}
			var reply BatchReply
			if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil {
				t.Fatal(err)
			}
			if reply.Accepted != tt.accepted || reply.Rejected != tt.rejected {
				t.Fatalf("reply %+v", reply)
			}
			for i, res := range reply.Results {
				if res.ID == "" || res.Source != "/s" {
					t.Errorf("result %d names id %q, source %q: want both", i, res.ID, res.Source)
				}
			}
		})
	}
}

func TestHandlerStampsTenant(t *testing.T) {
	h, acc, key := newTestHandler(t)
	r := httptest.NewRequest(http.MethodPost, "/v1/events?type=com.acme.x", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 202 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if len(acc.seen) != 1 || acc.seen[0].TenantID != "acme" || acc.seen[0].Type != "com.acme.x" {
		t.Fatalf("seen %+v", acc.seen)
	}
}

// TestHandlerRepliesNameSource checks that a batch reply names each event
// by source and id, so two events sharing an id are told apart, also when
// one could not be parsed.
func TestHandlerRepliesNameSource(t *testing.T) {
	h, acc, key := newTestHandler(t)
	body := `[{"specversion":"1.0","id":"same","source":"/a","type":"ok"},` +
		`{"specversion":"1.0","id":"same","source":"/b","type":"ok"},` +
		`{"specversion":"1.0","id":"same","source":"/c"}]`
	r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	r.Header.Set("Content-Type", BatchContentType)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var reply BatchReply
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil || w.Code != http.StatusMultiStatus || len(reply.Results) != 3 {
		t.Fatalf("%d %s (%v)", w.Code, w.Body, err)
	}
	for i, want := range []struct {
		source string
		status int
	}{{"/a", 202}, {"/b", 202}, {"/c", 400}} {
		res := reply.Results[i]
		if res.ID != "same" || res.Source != want.source || res.Status != want.status {
			t.Errorf("result %d: %+v, want same from %s, %d", i, res, want.source, want.status)
		}
		if res.Problem != nil && (res.Problem.EventID != "same" || res.Problem.EventSource != want.source) {
			t.Errorf("result %d: problem names %q from %q", i, res.Problem.EventID, res.Problem.EventSource)
		}
	}
	if len(acc.seen) != 2 || acc.seen[0].Source != "/a" || acc.seen[1].Source != "/b" {
		t.Errorf("accepted %d events, want both sources' same", len(acc.seen))
	}
}
