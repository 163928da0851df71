package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/query"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// TestSDKsAcceptEvents: the CloudEvents SDKs for Go (sdk-go's
// event.Validate) and JavaScript (npm cloudevents, run by node) accept
// every sample event under rules/ and every processed event serve answers
// (GET /v1/events/{id}, GET /v1/events) and streams to the tenant; each
// processed event's dataschema is the absolute URL serve answers that
// schema at. The short form, which both SDKs refuse, is accepted on input
// and rewritten.
func TestSDKsAcceptEvents(t *testing.T) {
	samples := readSamples(t)
	for _, s := range samples {
		if err := validateGo(s.raw); err != nil {
			t.Errorf("sdk-go refuses sample %s: %v", s.where, err)
		}
	}
	// Why the short form is not used on processed events.
	short := `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","dataschema":"com.acme.iot.reading/v1","data":{}}`
	if err := validateGo([]byte(short)); err == nil || !strings.Contains(err.Error(), "dataschema") {
		t.Errorf("sdk-go accepts the short form (%v); then it need not be rewritten", err)
	}

	s := startServer(t, t.TempDir())
	sent, want := sdkBatch(t, samples)
	// Some samples break their schema on purpose (the rules' tests show
	// what happens to them): those are answered 422 and not processed.
	code, body := s.post(t, "application/cloudevents-batch+json", nil, "["+strings.Join(sent, ",")+"]")
	var reply struct {
		Results []struct {
			ID, Source string
			Status     int
		}
	}
	if (code != http.StatusAccepted && code != http.StatusMultiStatus) || json.Unmarshal(body, &reply) != nil || len(reply.Results) != len(sent) {
		t.Fatalf("batch of %d events: %d %s", len(sent), code, body)
	}
	for _, r := range reply.Results {
		if r.Status != http.StatusAccepted {
			delete(want, eventKey{r.Source, r.ID})
		}
	}
	if len(want) < len(sent)/2 || want[eventKey{"/sdk", "sdk-short"}] == "" || want[eventKey{"/sdk", "sdk-other-base"}] == "" {
		t.Fatalf("only %d of %d events accepted: %s", len(want), len(sent), body)
	}
	code, body = s.post(t, "application/cloudevents+json", nil,
		`{"specversion":"1.0","id":"mismatch","source":"/sdk","type":"com.acme.iot.reading","dataschema":"`+s.httpURL+`/v1/schemas/com.acme.order.created/v1","data":{}}`)
	var p struct{ Field, Detail string }
	if code != http.StatusUnprocessableEntity || json.Unmarshal(body, &p) != nil || p.Field != "dataschema" {
		t.Errorf("dataschema of another type: %d %s, want 422 naming dataschema", code, body)
	}

	var processed [][]byte
	dropped := 0
	for key, id := range want {
		raw := s.waitEventRaw(t, key.id, key.source)
		processed = append(processed, raw)
		var ev struct {
			Type, DataSchema string
			Dropped          bool `json:"erdropped"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if url := s.httpURL + dataschema.Path + "/" + id; ev.DataSchema != url {
			t.Errorf("processed %s: dataschema %q, want %q", key.id, ev.DataSchema, url)
		}
		if ev.Dropped {
			dropped++
		}
	}
	listed := s.listAll(t)
	if len(listed) != len(want) {
		t.Errorf("GET /v1/events lists %d events, want %d", len(listed), len(want))
	}
	streamed := readTenantBodies(t, s.natsURL, "demo", testKey, len(want)-dropped)
	all := append(append(processed, listed...), streamed...)
	for i, raw := range all {
		if err := validateGo(raw); err != nil {
			t.Errorf("sdk-go refuses processed event %d: %v\n%s", i, err, raw)
		}
	}
	checkSchemaURLs(t, want, s.httpURL)

	t.Run("js", func(t *testing.T) {
		dir := filepath.Join("testdata", "sdkjs")
		if reason := jsSDKMissing(dir); reason != "" {
			missing(t, reason)
		}
		events := filepath.Join(t.TempDir(), "processed.jsonl")
		if err := os.WriteFile(events, append(bytes.Join(all, []byte("\n")), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", "rules", "*", "samples.jsonl"))
		out, err := exec.Command("node", append([]string{filepath.Join(dir, "validate.mjs")}, append(files, events)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("the JavaScript SDK refuses events: %v\n%s", err, out)
		}
		if want := fmt.Sprintf("%d passed, 0 failed", len(samples)+len(all)); !strings.Contains(string(out), want) {
			t.Errorf("node validate.mjs: %s, want %q", out, want)
		}
		// The same check refuses the short form: the test has teeth.
		neg := filepath.Join(t.TempDir(), "short.jsonl")
		_ = os.WriteFile(neg, []byte(short+"\n"), 0o644)
		out, err = exec.Command("node", filepath.Join(dir, "validate.mjs"), neg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "/dataschema") {
			t.Errorf("the JavaScript SDK accepts the short form dataschema (%v):\n%s", err, out)
		}
	})
	s.stop(t)
}

type sample struct {
	where string
	raw   []byte
}

// readSamples reads every line of rules/*/samples.jsonl.
func readSamples(t *testing.T) []sample {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "rules", "*", "samples.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var out []sample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out = append(out, sample{where: fmt.Sprintf("%s:%d", f, n), raw: append([]byte(nil), line...)})
			}
		}
	}
	return out
}

// validateGo reads raw as sdk-go does a structured event and validates it.
func validateGo(raw []byte) error {
	e := event.New()
	if err := json.Unmarshal(raw, &e); err != nil {
		return fmt.Errorf("unmarshal: %w", err)
	}
	return e.Validate()
}

type eventKey struct{ source, id string }

// sdkBatch is the samples as the demo tenant's events (their tenantid
// names other tenants), plus one in each other accepted dataschema form;
// want maps each to the schema version it must be processed as.
func sdkBatch(t *testing.T, samples []sample) ([]string, map[eventKey]string) {
	t.Helper()
	reg := generated.Registry()
	want := map[eventKey]string{}
	var sent []string
	add := func(ev map[string]any) {
		delete(ev, "tenantid")
		typ, _ := ev["type"].(string)
		id := ""
		if ds, ok := ev["dataschema"].(string); ok {
			var err error
			if id, err = dataschema.ID(typ, ds); err != nil {
				t.Fatalf("event %v: %v", ev["id"], err)
			}
		} else if s, ok := reg.Latest(typ); ok {
			id = s.ID
		}
		want[eventKey{ev["source"].(string), ev["id"].(string)}] = id
		b, _ := json.Marshal(ev)
		sent = append(sent, string(b))
	}
	for _, s := range samples {
		var ev map[string]any
		if err := json.Unmarshal(s.raw, &ev); err != nil {
			t.Fatalf("%s: %v", s.where, err)
		}
		add(ev)
	}
	var first map[string]any
	_ = json.Unmarshal(samples[0].raw, &first)
	typ := first["type"].(string)
	latest, _ := reg.Latest(typ)
	for id, ds := range map[string]string{
		"sdk-short":      latest.ID,
		"sdk-other-base": "https://schemas.acme.com/eventrunner/v1/schemas/" + latest.ID,
	} {
		ev := map[string]any{}
		for k, v := range first {
			ev[k] = v
		}
		ev["id"], ev["source"], ev["dataschema"] = id, "/sdk", ds
		add(ev)
	}
	return sent, want
}

// waitEventRaw polls GET /v1/events/{id}?source= until the processed event
// is there and returns it as answered.
func (s *server) waitEventRaw(t *testing.T, id, source string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, b := s.getRaw(t, query.EventURL(id, source)); code == http.StatusOK {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("event %s from %s not stored after 30s:\n%s", id, source, s.stderr)
	return nil
}

func (s *server) getRaw(t *testing.T, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.httpURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// listAll pages through GET /v1/events.
func (s *server) listAll(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for path := "/v1/events?limit=10"; ; {
		code, b := s.getRaw(t, path)
		var page query.ListReply
		if code != http.StatusOK || json.Unmarshal(b, &page) != nil {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
		for _, ev := range page.Events {
			out = append(out, []byte(ev))
		}
		if page.Next == "" {
			return out
		}
		path = "/v1/events?limit=10&cursor=" + page.Next
	}
}

// readTenantBodies reads n processed events from the tenant's stream, as
// the tenant does.
func readTenantBodies(t *testing.T, url, tenant, key string, n int) [][]byte {
	t.Helper()
	nc, err := nats.Connect(url, tenantnats.ClientOptions(tenant, key)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, tenantnats.StreamName(tenant), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"er.t." + tenant + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(out) < n && ctx.Err() == nil {
		msgs, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range msgs.Messages() {
			out = append(out, m.Data())
		}
	}
	if len(out) < n {
		t.Fatalf("the tenant stream holds %d processed events, want %d", len(out), n)
	}
	return out
}

// checkSchemaURLs dereferences each processed event's dataschema, without
// an API key: the JSON Schema served there has that URL as its $id, and
// its ETag revalidates.
func checkSchemaURLs(t *testing.T, want map[eventKey]string, base string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range want {
		url := base + dataschema.Path + "/" + id
		if seen[url] {
			continue
		}
		seen[url] = true
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var doc struct {
			ID string `json:"$id"`
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/schema+json" || json.Unmarshal(b, &doc) != nil || doc.ID != url {
			t.Errorf("GET %s: %d %s $id %q\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), doc.ID, b)
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s: %d, want 304", url, resp.Header.Get("ETag"), again.StatusCode)
		}
	}
	var cat struct{ Types []struct{ Type string } }
	resp, err := http.Get(base + dataschema.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil || len(cat.Types) == 0 {
		t.Errorf("GET /v1/schemas: %v %+v", err, cat)
	}
}

// jsSDKMissing says why the JavaScript SDK cannot run, or "".
func jsSDKMissing(dir string) string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed: the JavaScript CloudEvents SDK check needs it (and .ci/sdkjs.sh)"
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "cloudevents", "package.json")); err != nil {
		return "the cloudevents npm package is not installed: run .ci/sdkjs.sh (npm ci in " + dir + ")"
	}
	return ""
}

// TestSchemaBaseURL: --schema-base-url names the API's public URL in every
// processed event's dataschema and in the served documents' $id; an
// invalid one stops serve with the flag named.
func TestSchemaBaseURL(t *testing.T) {
	const base = "https://events.acme.com/eventrunner"
	s := startServer(t, t.TempDir(), "--schema-base-url", base+"/")
	if code, body := s.post(t, "application/cloudevents+json", nil, iotEvent("base-1", 212)); code != http.StatusAccepted {
		t.Fatalf("post: %d %s", code, body)
	}
	var ev struct{ DataSchema string }
	if err := json.Unmarshal(s.waitEventRaw(t, "base-1", "/e2e"), &ev); err != nil || ev.DataSchema != base+"/v1/schemas/com.acme.iot.reading/v1" {
		t.Errorf("dataschema %q (%v), want %s/v1/schemas/com.acme.iot.reading/v1", ev.DataSchema, err, base)
	}
	resp, err := http.Get(s.httpURL + "/v1/schemas/com.acme.iot.reading/v1")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID string `json:"$id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.ID != base+"/v1/schemas/com.acme.iot.reading/v1" {
		t.Errorf("served $id %q (%v)", doc.ID, err)
	}
	s.stop(t)

	out, err := exec.Command(buildBinary(t), "serve", "--data-dir", t.TempDir(), "--schema-base-url", "events.acme.com").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `schema-base-url: schema base URL "events.acme.com": must be an absolute http:// or https:// URL`) {
		t.Errorf("serve with a relative schema base URL: %v\n%s", err, out)
	}
}
