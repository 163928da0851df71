package ingest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadEvents(t *testing.T) {
	const structured = `{"specversion":"1.0","id":"e1","source":"/s","type":"com.acme.order.created","data":{"a":1}}`
	tests := []struct {
		name    string
		ct      string
		headers map[string]string
		body    string
		wantN   int
		status  int    // whole-request problem, 0 when none
		field   string // field named by the problem
	}{
		{name: "structured", ct: "application/cloudevents+json; charset=utf-8", body: structured, wantN: 1},
		{name: "structured case-insensitive", ct: "Application/CloudEvents+JSON", body: structured, wantN: 1},
		{name: "batch", ct: BatchContentType, body: "[" + structured + "," + structured + "]", wantN: 2},
		{name: "binary", ct: "application/json", headers: map[string]string{
			"ce-specversion": "1.0", "ce-id": "e%201", "ce-source": "/s", "ce-type": "t.x", "ce-time": "2026-11-28T10:00:00Z",
		}, body: `{"a":1}`, wantN: 1},
		{name: "raw with header type", ct: "application/json", headers: map[string]string{TypeHeader: "com.acme.order.created"}, body: `{"a":1}`, wantN: 1},
		{name: "raw without type", ct: "application/json", body: `{"a":1}`, status: 400, field: TypeHeader},
		{name: "raw malformed", ct: "application/json", headers: map[string]string{TypeHeader: "t"}, body: `{"a":`, status: 400, field: "body"},
		{name: "structured malformed", ct: StructuredContentType, body: `{"id":`, status: 400, field: "body"},
		{name: "structured missing id", ct: StructuredContentType, body: `{"specversion":"1.0","source":"/s","type":"t"}`, status: 400, field: "id"},
		{name: "structured bad specversion", ct: StructuredContentType, body: `{"specversion":"0.3","id":"1","source":"/s","type":"t"}`, status: 400, field: "specversion"},
		{name: "binary bad time", ct: "application/json", headers: map[string]string{
			"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-time": "yesterday",
		}, body: `{}`, status: 400, field: "ce-time"},
		{name: "binary bad percent", ct: "application/json", headers: map[string]string{
			"ce-specversion": "1.0", "ce-id": "%zz", "ce-source": "/s", "ce-type": "t",
		}, body: `{}`, status: 400, field: "ce-id"},
		{name: "binary non-json data", ct: "text/plain", headers: map[string]string{
			"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t",
		}, body: `hello`, status: 415, field: "Content-Type"},
		{name: "unsupported type", ct: "text/csv", body: "a,b", status: 415, field: "Content-Type"},
		{name: "too large", ct: StructuredContentType, body: structured + strings.Repeat(" ", 2000), status: 413, field: "body"},
		{name: "empty batch", ct: BatchContentType, body: "[]", status: 400, field: "body"},
	}
	lim := Limits{MaxEventBytes: 1024, MaxRequestBytes: 1 << 20}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			evs, p := readEvents(httptest.NewRecorder(), r, lim.withDefaults(), RawDefaults{})
			if tt.status != 0 {
				if p == nil || p.Status != tt.status || p.Field != tt.field {
					t.Fatalf("problem = %+v, want status %d field %q", p, tt.status, tt.field)
				}
				return
			}
			if p != nil {
				t.Fatalf("unexpected problem %+v", p)
			}
			if len(evs) != tt.wantN {
				t.Fatalf("got %d events, want %d", len(evs), tt.wantN)
			}
			for _, in := range evs {
				if in.problem != nil {
					t.Fatalf("event problem %+v", in.problem)
				}
			}
		})
	}
}

func TestBinaryPercentDecoding(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("ce-specversion", "1.0")
	r.Header.Set("ce-id", "a%20b+c%25")
	r.Header.Set("ce-source", "/s")
	r.Header.Set("ce-type", "t")
	r.Header.Set("ce-region", "eu%2Dwest")
	evs, p := readEvents(httptest.NewRecorder(), r, Limits{}.withDefaults(), RawDefaults{})
	if p != nil {
		t.Fatal(p)
	}
	ev := evs[0].ev
	if ev.ID != "a b+c%" {
		t.Errorf("id = %q", ev.ID)
	}
	if string(ev.Extensions["region"]) != `"eu-west"` {
		t.Errorf("region = %s", ev.Extensions["region"])
	}
}

func TestBatchItemProblems(t *testing.T) {
	body := `[{"specversion":"1.0","id":"ok","source":"/s","type":"t"},{"specversion":"1.0","id":"bad","type":"t"}]`
	r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	r.Header.Set("Content-Type", BatchContentType)
	evs, p := readEvents(httptest.NewRecorder(), r, Limits{}.withDefaults(), RawDefaults{})
	if p != nil {
		t.Fatal(p)
	}
	if evs[0].problem != nil || evs[1].problem == nil {
		t.Fatalf("problems = %+v, %+v", evs[0].problem, evs[1].problem)
	}
	if got := evs[1].problem; got.Field != "source" || got.EventID != "bad" {
		t.Errorf("problem = %+v", got)
	}
}
