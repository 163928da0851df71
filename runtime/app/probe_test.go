package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// The probe: hostile input over every ingest path of a running engine
// (embedded NATS, runner, engine, Pebble), each answer checked, and every
// event answered 202 read back from the store exactly as sent. The raw
// NATS path is probed in runtime/runner (TestRawHostile), where a test can
// publish as a producer. docs/hostile-input.md is the catalogue.

const probeKey = "probe-key-0123456789abcdef"

func startProbeApp(t *testing.T) *App {
	t.Helper()
	return startTestApp(t, Config{GRPCAddr: "127.0.0.1:0"})
}

// startTestApp starts serve's app on the embedded server with cfg, on a
// temporary directory and loopback ports, with the demo tenant of probeKey
// and the order schemas, quiet; t.Cleanup shuts it down.
func startTestApp(t *testing.T, cfg Config) *App {
	t.Helper()
	cfg.DataDir, cfg.HTTPAddr, cfg.NATSListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.DemoAPIKey, cfg.Workers, cfg.SchemaFiles = probeKey, 1, orderFiles
	a, err := Start(context.Background(), cfg, runnertest.Registry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return a
}

// sent is an event answered 202, to be found in the store.
type sent struct{ id, source, data string }

type httpProbe struct {
	name   string
	ct     string
	hdr    map[string]string
	query  string
	body   string
	status int
	field  string
	stored []sent
}

const orderData = `{"id":"o-1","amount":1}`

func structured(id, source, extra string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%s,"source":%s,"type":"com.acme.order.created"%s,"data":%s}`, id, source, extra, orderData)
}

func probeCases() []httpProbe {
	sc := ingest.StructuredContentType
	bin := func(id, source string, kv ...string) map[string]string {
		h := map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": source, "ce-type": "com.acme.order.created"}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	batch := func(n int, prefix string) string {
		evs := make([]string, n)
		for i := range evs {
			evs[i] = structured(fmt.Sprintf(`"%s-%d"`, prefix, i), `"/batch"`, "")
		}
		return "[" + strings.Join(evs, ",") + "]"
	}
	batchStored := func(n int, prefix string) []sent {
		out := make([]sent, n)
		for i := range out {
			out[i] = sent{fmt.Sprintf("%s-%d", prefix, i), "/batch", orderData}
		}
		return out
	}
	return []httpProbe{
		{name: "structured ok", ct: sc, body: structured(`"p-ok"`, `"/pos"`, ""), status: 202, stored: []sent{{"p-ok", "/pos", orderData}}},
		{name: "structured Unicode id and source", ct: sc, body: structured(`"p-é\ud83d\ude00"`, `"/café"`, ""), status: 202, stored: []sent{{"p-é😀", "/café", orderData}}},
		{name: "structured invalid UTF-8 id", ct: sc, body: structured("\"coll\xff\"", `"/pos"`, ""), status: 400, field: "id"},
		{name: "structured other invalid byte", ct: sc, body: structured("\"coll\xfe\"", `"/pos"`, ""), status: 400, field: "id"},
		{name: "structured overlong", ct: sc, body: structured("\"coll\xc0\xae\"", `"/pos"`, ""), status: 400, field: "id"},
		{name: "structured lone surrogate", ct: sc, body: structured(`"coll\ud800"`, `"/pos"`, ""), status: 400, field: "id"},
		{name: "structured NUL id", ct: sc, body: structured(`"p\u0000"`, `"/pos"`, ""), status: 400, field: "id"},
		{name: "structured erfired", ct: sc, body: structured(`"p-1"`, `"/pos"`, `,"erfired":"x"`), status: 400, field: "erfired"},
		{name: "structured ertags", ct: sc, body: structured(`"p-2"`, `"/pos"`, `,"ertags":"vip"`), status: 400, field: "ertags"},
		{name: "structured erroute", ct: sc, body: structured(`"p-3"`, `"/pos"`, `,"erroute":"x"`), status: 400, field: "erroute"},
		{name: "structured extension depth 1000", ct: sc, body: structured(`"p-4"`, `"/pos"`, `,"ext":`+strings.Repeat("[", 1000)+strings.Repeat("]", 1000)), status: 400, field: "ext"},
		{name: "structured data and data_base64", ct: sc, body: structured(`"p-5"`, `"/pos"`, `,"data_base64":"e30="`), status: 400, field: "data_base64"},
		{name: "structured source a space", ct: sc, body: structured(`"p-6"`, `" "`, ""), status: 400, field: "source"},
		{name: "structured duplicate id", ct: sc, body: structured(`"p-7"`, `"/pos"`, `,"id":"p-8"`), status: 400, field: "id"},
		{name: "structured extension 1e400", ct: sc, body: structured(`"p-9"`, `"/pos"`, `,"ext":1e400`), status: 400, field: "ext"},
		{name: "structured extension -0", ct: sc, body: structured(`"p-neg0"`, `"/pos"`, `,"ext":-0`), status: 202, stored: []sent{{"p-neg0", "/pos", orderData}}},
		{name: "structured data 10^5 deep", ct: sc, body: strings.Replace(structured(`"p-10"`, `"/pos"`, ""), orderData, strings.Repeat("[", 100000)+strings.Repeat("]", 100000), 1), status: 400, field: "body"},
		{name: "structured truncated", ct: sc, body: structured(`"p-11"`, `"/pos"`, "")[:60], status: 400, field: "body"},
		{name: "structured amount out of int64", ct: sc, body: strings.Replace(structured(`"p-12"`, `"/pos"`, ""), `"amount":1`, `"amount":9223372036854775808`, 1), status: 422, field: "data.$.amount"},
		{name: "structured amount 1e400", ct: sc, body: strings.Replace(structured(`"p-13"`, `"/pos"`, ""), `"amount":1`, `"amount":1e400`, 1), status: 422, field: "data.$.amount"},
		{name: "binary ok", ct: "application/json", hdr: bin("b-ok", "/pos"), body: orderData, status: 202, stored: []sent{{"b-ok", "/pos", orderData}}},
		{name: "binary percent-encoded UTF-8", ct: "application/json", hdr: bin("b-%C3%A9", "/caf%C3%A9"), body: orderData, status: 202, stored: []sent{{"b-é", "/café", orderData}}},
		{name: "binary x-%FF%FE", ct: "application/json", hdr: bin("x-%FF%FE", "/pos"), body: orderData, status: 400, field: "ce-id"},
		{name: "binary NUL", ct: "application/json", hdr: bin("x-%00", "/pos"), body: orderData, status: 400, field: "ce-id"},
		{name: "binary erfired", ct: "application/json", hdr: bin("b-1", "/pos", "ce-erfired", "x"), body: orderData, status: 400, field: "ce-erfired"},
		{name: "binary headers over the event limit", ct: "application/json", hdr: bin("b-2", "/pos", "ce-pad", strings.Repeat("x", 900<<10)), body: `{"id":"o","amount":1,"pad":"` + strings.Repeat("y", 200<<10) + `"}`, status: 413, field: "body"},
		{name: "raw ok", ct: "application/json", hdr: map[string]string{ingest.TypeHeader: "com.acme.order.created", ingest.IdempotencyHeader: "r-ok", ingest.SourceHeader: "/raw"}, body: orderData, status: 202, stored: []sent{{"r-ok", "/raw", orderData}}},
		{name: "raw invalid UTF-8 key", ct: "application/json", hdr: map[string]string{ingest.TypeHeader: "com.acme.order.created", ingest.IdempotencyHeader: "r\xff"}, body: orderData, status: 400, field: ingest.IdempotencyHeader},
		{name: "raw source query %00", ct: "application/json", hdr: map[string]string{ingest.TypeHeader: "com.acme.order.created"}, query: "source=%00", body: orderData, status: 400, field: "?source"},
		{name: "batch of 1000", ct: ingest.BatchContentType, body: batch(1000, "k"), status: 202, stored: batchStored(1000, "k")},
		{name: "batch of 1001", ct: ingest.BatchContentType, body: batch(1001, "z"), status: 413, field: "body"},
		{name: "batch all invalid", ct: ingest.BatchContentType, body: "[" + structured(`"\udead"`, `"/s"`, "") + "," + structured(`"q-2"`, `" "`, "") + "]", status: 400, field: "[0].id"},
		{name: "batch mixed", ct: ingest.BatchContentType, body: "[" + structured(`"m-ok"`, `"/mix"`, "") + "," + structured(`"m-bad"`, `"/mix"`, `,"ertags":"x"`) + "]", status: 207, stored: []sent{{"m-ok", "/mix", orderData}}},
	}
}

func TestProbeIngest(t *testing.T) {
	a := startProbeApp(t)
	base := "http://" + a.HTTPAddr()
	var stored []sent
	for _, tc := range probeCases() {
		url := base + "/v1/events"
		if tc.query != "" {
			url += "?" + tc.query
		}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		req.Header.Set("Authorization", "Bearer "+probeKey)
		for k, v := range tc.hdr {
			req.Header[http.CanonicalHeaderKey(k)] = []string{v}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %.300s", tc.name, resp.StatusCode, tc.status, b)
			continue
		}
		if tc.field != "" {
			var p problem.Problem
			if err := json.Unmarshal(b, &p); err != nil || p.Field != tc.field || p.Status != tc.status || p.Title == "" || p.Detail == "" {
				t.Errorf("%s: problem %.300s, want field %q", tc.name, b, tc.field)
			}
		}
		stored = append(stored, tc.stored...)
	}
	stored = append(stored, probeGRPC(t, a)...)
	checkStored(t, base, stored)
}

// probeGRPC sends hostile events over the generic gRPC service and returns
// those accepted.
func probeGRPC(t *testing.T, a *App) []sent {
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(grpcingest.Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ev := func(id, source string) *cepb.CloudEvent {
		return &cepb.CloudEvent{Id: id, Source: source, SpecVersion: "1.0", Type: "com.acme.order.created", Data: &cepb.CloudEvent_TextData{TextData: orderData}}
	}
	erfired := ev("g-3", "/g")
	erfired.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"erfired": {Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: "x"}}}
	cases := []struct {
		ev    *cepb.CloudEvent
		code  codes.Code
		field string
	}{
		{ev("g-ok", "/g"), codes.OK, ""},
		{ev("g-\xff\xfe", "/g"), codes.InvalidArgument, "id"},
		{ev("g-\x00", "/g"), codes.InvalidArgument, "id"},
		{ev("g-2", " "), codes.InvalidArgument, "source"},
		{erfired, codes.InvalidArgument, "erfired"},
	}
	batch := &cepb.CloudEventBatch{}
	for _, c := range cases {
		batch.Events = append(batch.Events, c.ev)
	}
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "x-api-key", probeKey), 10*time.Second)
	defer cancel()
	resp, err := cepb.NewCloudEventIngestClient(conn).Publish(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if ack := resp.Acks[i]; codes.Code(ack.Code) != c.code || ack.Field != c.field {
			t.Errorf("gRPC %q: code %v field %q (%s), want %v %q", c.ev.Id, codes.Code(ack.Code), ack.Field, ack.Error, c.code, c.field)
		}
	}
	return []sent{{"g-ok", "/g", orderData}}
}

// checkStored reads every accepted event back, once the engine has stored
// it, and compares id, source and data with what was sent; the store holds
// nothing else.
func checkStored(t *testing.T, base string, want []sent) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	byID := map[string]cloudevents.Event{}
	for len(byID) < len(want) && time.Now().Before(deadline) {
		byID = map[string]cloudevents.Event{}
		url := base + "/v1/events?limit=1000"
		for {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+probeKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Events []json.RawMessage
				Next   string
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range page.Events {
				ev, err := cloudevents.ParseStructured(raw) // processed events are valid CloudEvents
				if err != nil {
					t.Fatalf("stored event %s: %v", raw, err)
				}
				byID[ev.ID] = *ev
			}
			if page.Next == "" {
				break
			}
			url = base + "/v1/events?limit=1000&cursor=" + page.Next
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d accepted events read back from the store", len(byID))
	if len(byID) != len(want) {
		t.Fatalf("the store holds %d events, %d were accepted", len(byID), len(want))
	}
	for _, w := range want {
		ev, ok := byID[w.id]
		if !ok {
			t.Errorf("accepted event %q is not stored", w.id)
			continue
		}
		var got, exp bytes.Buffer
		_ = json.Compact(&got, ev.Data)
		_ = json.Compact(&exp, []byte(w.data))
		if ev.Source != w.source || got.String() != exp.String() {
			t.Errorf("event %q stored as source %q data %s, sent source %q data %s", w.id, ev.Source, got.String(), w.source, exp.String())
		}
	}
}
