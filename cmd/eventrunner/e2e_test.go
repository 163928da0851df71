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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// The end-to-end tests run the real binary: `serve` with an embedded NATS
// server and Pebble store in a temporary directory, on random ports.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

const testKey = "e2e-key-0123456789abcdef"

// buildBinary builds cmd/eventrunner once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "eventrunner-e2e")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "eventrunner")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// server is a running `eventrunner serve`.
type server struct {
	cmd      *exec.Cmd
	httpURL  string
	natsURL  string
	grpcAddr string
	stderr   *bytes.Buffer
	done     chan struct{}
}

var (
	httpLine = regexp.MustCompile(`HTTP\s+(http://\S+)`)
	grpcLine = regexp.MustCompile(`gRPC\s+(\d\S+:\d+)`)
	natsLine = regexp.MustCompile(`NATS\s+(nats://\S+)`)
)

// startServer starts serve on dataDir and waits for its banner.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
		"--demo-api-key", testKey, "--log-level", "warn"}, extra...)
	cmd := exec.Command(buildBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.kill() })
	banner := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := httpLine.FindStringSubmatch(line); m != nil && s.httpURL == "" {
				s.httpURL = m[1]
			}
			if m := grpcLine.FindStringSubmatch(line); m != nil && s.grpcAddr == "" {
				s.grpcAddr = m[1]
			}
			if m := natsLine.FindStringSubmatch(line); m != nil && s.natsURL == "" {
				s.natsURL = m[1]
				close(banner)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-banner:
	case <-s.done:
		t.Fatalf("serve exited before its banner:\n%s", s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("no banner after 60s:\n%s", s.stderr)
	}
	return s
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// stop sends SIGTERM and waits for the graceful exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", s.stderr)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
}

// post sends body to /v1/events and returns the status and body.
func (s *server) post(t *testing.T, contentType string, headers map[string]string, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.httpURL+"/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+testKey)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitEvent polls GET /v1/events/{id} until the processed event is there.
func (s *server) waitEvent(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, s.httpURL+"/v1/events/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				var ev map[string]any
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatalf("event %s: %v: %s", id, err, b)
				}
				return ev
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("event %s not stored after 30s:\n%s", id, s.stderr)
	return nil
}

func iotEvent(id string, fahrenheit float64) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/e2e","type":"com.acme.iot.reading","data":{"deviceId":"dev-e2e1","sensor":"temperature","value":%g,"unit":"F","recordedAt":"2026-11-28T09:00:00Z"}}`, id, fahrenheit)
}

func TestServeEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir())
	data := `{"deviceId":"dev-e2e1","sensor":"temperature","value":212,"unit":"F","recordedAt":"2026-11-28T09:00:00Z"}`
	posts := []struct {
		mode, ct string
		headers  map[string]string
		body     string
		ids      []string
	}{
		{"structured", "application/cloudevents+json", nil, iotEvent("s-1", 212), []string{"s-1"}},
		{"binary", "application/json", map[string]string{"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/e2e",
			"ce-type": "com.acme.iot.reading", "ce-subject": "dev%20e2e"}, data, []string{"b-1"}},
		{"batch", "application/cloudevents-batch+json", nil, "[" + iotEvent("m-1", 212) + "," + iotEvent("m-2", 212) + "]", []string{"m-1", "m-2"}},
		{"raw", "application/json", map[string]string{"Eventrunner-Type": "com.acme.iot.reading", "Idempotency-Key": "r-1"}, data, []string{"r-1"}},
	}
	var all []string
	for _, p := range posts {
		code, body := s.post(t, p.ct, p.headers, p.body)
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", p.mode, code, body)
		}
		all = append(all, p.ids...)
	}
	for _, id := range all {
		ev := s.waitEvent(t, id)
		d := ev["data"].(map[string]any)
		if d["unit"] != "C" || d["value"] != 100.0 || ev["tenantid"] != "demo" || !strings.Contains(fmt.Sprint(ev["erfired"]), "FahrenheitToCelsius") {
			t.Errorf("%s not processed as expected: %v", id, ev)
		}
		if ev["erbundle"] == "" || ev["erkb"] != "iot@1.0.0" {
			t.Errorf("%s lacks the processing extensions: %v", id, ev)
		}
	}
	if ev := s.waitEvent(t, "b-1"); ev["subject"] != "dev e2e" {
		t.Errorf("binary-mode header not percent-decoded: subject %q", ev["subject"])
	}
	// The tenant stream carries the same processed events.
	got := readTenantStream(t, s.natsURL, "demo", len(all))
	for _, id := range all {
		if got[id] != 1 {
			t.Errorf("tenant stream has %s %d times, want once", id, got[id])
		}
	}
	s.stop(t)
}

// readTenantStream counts the events of er.t.<tenant>.> by id, reading
// until n distinct ids arrived, as the tenant does: its own stream, with its
// credentials (the demo tenant's API key is its NATS password).
func readTenantStream(t *testing.T, url, tenant string, n int) map[string]int {
	t.Helper()
	return readTenantStreamAs(t, url, tenant, testKey, n)
}

// readTenantStreamAs reads tenant's stream logged in with its API key and
// counts each event id seen, until n ids are seen or 30 s pass.
func readTenantStreamAs(t *testing.T, url, tenant, key string, n int) map[string]int {
	t.Helper()
	return countTenantMessages(t, url, tenant, key, "er.t."+tenant+".>", "id", n)
}

// countTenantMessages reads tenant's stream as the tenant, the messages on
// filter, until n distinct values of their JSON member field are seen (or
// 30 s pass), and then what else is there, and counts each value.
func countTenantMessages(t *testing.T, url, tenant, key, filter, field string, n int) map[string]int {
	t.Helper()
	nc, err := nats.Connect(url, tenantnats.ClientOptions(tenant, key)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, tenantnats.StreamName(tenant), jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	count := func(batch jetstream.MessageBatch) {
		for m := range batch.Messages() {
			var v map[string]any
			json.Unmarshal(m.Data(), &v)
			seen[fmt.Sprint(v[field])]++
		}
	}
	for len(seen) < n && ctx.Err() == nil {
		if msgs, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second)); err == nil {
			count(msgs)
		}
	}
	// Drain what else is there, to catch duplicates.
	if msgs, err := cons.Fetch(10000, jetstream.FetchMaxWait(500*time.Millisecond)); err == nil {
		count(msgs)
	}
	return seen
}

func TestServeRejectsBadInput(t *testing.T) {
	s := startServer(t, t.TempDir())
	big := `{"specversion":"1.0","id":"big","source":"/e2e","type":"com.acme.iot.reading","data":{"site":"` + strings.Repeat("x", 2<<20) + `"}}`
	tests := []struct {
		name, ct string
		headers  map[string]string
		body     string
		status   int
		field    string
	}{
		{"malformed", "application/cloudevents+json", nil, `{"id":`, 400, "body"},
		{"missing source", "application/cloudevents+json", nil, `{"specversion":"1.0","id":"x","type":"com.acme.iot.reading","data":{}}`, 400, "source"},
		{"bad specversion", "application/cloudevents+json", nil, `{"specversion":"2.0","id":"x","source":"/s","type":"t","data":{}}`, 400, "specversion"},
		{"bad time", "application/cloudevents+json", nil, `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","time":"noon","data":{}}`, 400, "time"},
		{"too large", "application/cloudevents+json", nil, big, 413, "body"},
		{"content type", "text/csv", nil, "a,b", 415, "Content-Type"},
		{"unknown type", "application/cloudevents+json", nil, `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.nope","data":{}}`, 422, "type"},
		{"unknown version", "application/cloudevents+json", nil, `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","dataschema":"com.acme.iot.reading/v9","data":{}}`, 422, "dataschema"},
		{"schema-invalid", "application/cloudevents+json", nil, iotEvent("x", 212)[:0] + `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","data":{"deviceId":"nope","sensor":"sonar","value":1,"recordedAt":"2026-11-28T09:00:00Z"}}`, 422, "data.$.deviceId"},
		{"other tenant", "application/cloudevents+json", nil, `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","tenantid":"globex","data":{}}`, 403, "tenantid"},
		{"wrong key", "application/cloudevents+json", map[string]string{"Authorization": "Bearer nope"}, iotEvent("x", 1), 401, "Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.post(t, tt.ct, tt.headers, tt.body)
			var p struct {
				Status int
				Field  string
				Detail string
				Errors []struct{ Field, Detail string }
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%d %s: %v", code, body, err)
			}
			if code != tt.status || p.Status != tt.status || p.Field != tt.field || p.Detail == "" {
				t.Fatalf("got %d %s, want %d naming %q", code, body, tt.status, tt.field)
			}
			if tt.name == "schema-invalid" && len(p.Errors) != 2 {
				t.Fatalf("want both violations listed: %s", body)
			}
		})
	}
}

// TestServeDeadLetters publishes bad events straight to er.raw.<tenant>, as a
// NATS-native producer would, and checks that each lands in ER_DLQ with the
// field and the reason in its headers. The tenant does both with its own
// credentials: it may publish to its er.raw subject and read its dead
// letters in its stream.
func TestServeDeadLetters(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc, err := nats.Connect(s.natsURL, tenantnats.ClientOptions("demo", testKey)...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bad := []struct {
		name, body, kind, field string
	}{
		{"malformed", `{"specversion":`, "malformed", "body"},
		{"missing id", `{"specversion":"1.0","source":"/s","type":"com.acme.iot.reading","data":{}}`, "attribute", "id"},
		{"bad specversion", `{"specversion":"0.3","id":"d3","source":"/s","type":"com.acme.iot.reading","data":{}}`, "attribute", "specversion"},
		{"unknown type", `{"specversion":"1.0","id":"d4","source":"/s","type":"com.acme.nope","data":{}}`, "unknown-type", "type"},
		{"unknown version", `{"specversion":"1.0","id":"d5","source":"/s","type":"com.acme.iot.reading","dataschema":"com.acme.iot.reading/v7","data":{}}`, "unknown-schema", "dataschema"},
		{"invalid data", `{"specversion":"1.0","id":"d6","source":"/s","type":"com.acme.iot.reading","data":{"deviceId":"dev-abcd","sensor":"temperature","value":1,"battery":101,"recordedAt":"2026-11-28T09:00:00Z"}}`, "invalid-data", "data.$.battery"},
	}
	for _, b := range bad {
		m := nats.NewMsg("er.raw.demo")
		m.Data = []byte(b.body)
		m.Header.Set("Content-Type", "application/cloudevents+json")
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.OrderedConsumer(ctx, tenantnats.StreamName("demo"), jetstream.OrderedConsumerConfig{FilterSubjects: []string{"er.dlq.demo"}})
	if err != nil {
		t.Fatal(err)
	}
	// Runner workers process concurrently: match dead letters by body.
	byBody := map[string]int{}
	for i, b := range bad {
		byBody[b.body] = i
	}
	for range bad {
		m, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
		if err != nil {
			t.Fatalf("dead letter missing: %v\n%s", err, s.stderr)
		}
		i, ok := byBody[string(m.Data())]
		if !ok {
			t.Fatalf("unexpected dead letter %s", m.Data())
		}
		delete(byBody, string(m.Data()))
		want, h := bad[i], m.Headers()
		if h.Get("Er-Dlq-Kind") != want.kind || h.Get("Er-Dlq-Field") != want.field || h.Get("Er-Dlq-Reason") == "" {
			t.Errorf("%s: kind %q field %q reason %q", want.name, h.Get("Er-Dlq-Kind"), h.Get("Er-Dlq-Field"), h.Get("Er-Dlq-Reason"))
		}
	}
	s.stop(t)
}

// TestServeQuietStart: at the default log level serve's start-up shows its
// own banner and not the embedded NATS server's (ASCII art, limits, ports).
func TestServeQuietStart(t *testing.T) {
	s := startServer(t, t.TempDir(), "--log-level", "info")
	s.stop(t)
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(line, "level=INFO") && strings.Contains(line, "component=nats-server") {
			t.Errorf("the embedded NATS server's notice at info: %s", line)
		}
	}
	if !strings.Contains(s.stderr.String(), "level=INFO") {
		t.Errorf("no info logs at all, the test sees nothing:\n%s", s.stderr)
	}
}
