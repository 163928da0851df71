package query

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// TestCanonicalDataschema: events are answered with the canonical
// dataschema of their schema version, also those stored with the short
// form or another base before; the rest of the event is unchanged.
func TestCanonicalDataschema(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const base = "https://events.acme.com"
	const want = base + "/v1/schemas/com.acme.order.created/v1"
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	stored := map[string]string{
		"short":     `{"specversion":"1.0","id":"short","source":"/s","type":"com.acme.order.created","dataschema":"com.acme.order.created/v1","tenantid":"acme","erkb":"orders@1.0.0","erdropped":false,"data":{"id":"o","amount":1}}`,
		"otherbase": `{"specversion":"1.0","id":"otherbase","source":"/s","type":"com.acme.order.created","dataschema":"http://127.0.0.1:8080/v1/schemas/com.acme.order.created/v1","tenantid":"acme","data":{"id":"o"}}`,
		"none":      `{"specversion":"1.0","id":"none","source":"/s","type":"com.acme.order.created","tenantid":"acme","data":{"id":"o"}}`,
		"canonical": `{"specversion":"1.0","id":"canonical","source":"/s","type":"com.acme.order.created","dataschema":"` + want + `","tenantid":"acme","data":{"id":"o"}}`,
	}
	var recs []store.Record
	for id, ev := range stored {
		recs = append(recs, store.Record{Tenant: "acme", ID: id, Type: "com.acme.order.created", Source: "/s", Time: at,
			SchemaID: "com.acme.order.created/v1", Event: []byte(ev)})
	}
	if err := st.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	reg := tenant.NewRegistry()
	key := tenant.NewKey()
	_ = reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}})
	mux := http.NewServeMux()
	(&Handler{Store: st, Auth: reg, SchemaBase: base}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	check := func(how string, raw []byte) {
		t.Helper()
		ev, err := cloudevents.ParseStructured(raw)
		if err != nil {
			t.Fatalf("%s: %v: %s", how, err, raw)
		}
		orig, _ := cloudevents.ParseStructured([]byte(stored[ev.ID]))
		if ev.DataSchema != want {
			t.Errorf("%s %s: dataschema %q, want %q", how, ev.ID, ev.DataSchema, want)
		}
		if ev.ID == "canonical" && string(raw) != stored[ev.ID] {
			t.Errorf("%s: an event already canonical was re-encoded:\n%s\n%s", how, raw, stored[ev.ID])
		}
		orig.DataSchema = want
		a, _ := json.Marshal(orig)
		b, _ := json.Marshal(ev)
		if string(a) != string(b) {
			t.Errorf("%s %s: more than dataschema changed:\n%s\n%s", how, ev.ID, b, a)
		}
	}
	for id := range stored {
		var raw json.RawMessage
		if code := get(t, srv.URL+"/v1/events/"+id, key, &raw); code != 200 {
			t.Fatalf("GET %s: %d", id, code)
		}
		check("GET", raw)
	}
	var list ListReply
	if code := get(t, srv.URL+"/v1/events", key, &list); code != 200 || len(list.Events) != len(stored) {
		t.Fatalf("list: %d, %d events", code, len(list.Events))
	}
	for _, raw := range list.Events {
		check("list", raw)
	}
}
