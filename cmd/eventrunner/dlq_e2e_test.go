package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/schemas"
)

// The dead-letter tests run serve's app in-process, since a schema deploy
// means another compiled registry: the binary has one.

// syncBuffer is a log sink safe for the app's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startApp runs the app of reg on dataDir (embedded NATS and Pebble, random
// ports) until stopped or the test ends.
func startApp(t *testing.T, dataDir string, reg *rules.Registry, logs *syncBuffer) (a *app.App, stop func()) {
	t.Helper()
	cfg := app.Config{DataDir: dataDir, HTTPAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:0", DemoAPIKey: testKey, SchemaFiles: schemas.FS}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := app.Start(ctx, cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := a.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// withoutSchema is the bundle before schema id was deployed: its other
// schemas, and the knowledge bases not bound to it.
func withoutSchema(t *testing.T, full *rules.Registry, id string) *rules.Registry {
	t.Helper()
	var ss []*rules.Schema
	for _, s := range full.Schemas() {
		if s.ID != id {
			ss = append(ss, s)
		}
	}
	var kbs []rules.KnowledgeBase
	for _, kb := range full.KnowledgeBases() {
		if kb.SchemaID() != id {
			kbs = append(kbs, kb)
		}
	}
	reg, err := rules.NewRegistry(full.BundleHash+"-without-"+id, ss, kbs)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// runCLI runs eventrunner with args in-process and returns its output.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("eventrunner %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

const paymentV2 = `{"specversion":"1.0","id":"pay-v2-1","source":"/psp","type":"com.acme.payment.captured","dataschema":"com.acme.payment.captured/v2",` +
	`"data":{"paymentId":"pay-00000001","orderId":"5f2b1c3e-8d4a-4b6f-9e2a-1c3d5e7f9a0b","amount":12.5,"currency":"EUR","method":"card","provider":"acmepay","threeDSecure":true}}`

// TestDLQRedriveAfterSchemaDeploy is issue 15's "done": a dead letter fixed
// by a schema change is redriven and stored once. A NATS producer sends an
// event of payment.captured/v2 while the deployed bundle lacks v2: the
// runner dead-letters it (unknown-schema). The bundle with v2 is deployed
// (the app restarted on the same data), `dlq list` shows the dead letter,
// `dlq redrive` accepts it, the engine runs the v2 rules and stores it; the
// tenant stream holds it once, and a second redrive changes neither.
func TestDLQRedriveAfterSchemaDeploy(t *testing.T) {
	dir := t.TempDir()
	logs := &syncBuffer{}
	full := generated.Registry()
	a, stop := startApp(t, dir, withoutSchema(t, full, "com.acme.payment.captured/v2"), logs)

	nc, err := nats.Connect(a.NATSURL(), tenantnats.ClientOptions("demo", testKey)...)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	m := nats.NewMsg("er.raw.demo")
	m.Header.Set("Content-Type", bus.ContentTypeCloudEvents)
	m.Data = []byte(paymentV2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	url := "http://" + a.HTTPAddr()
	seq := waitDeadLetter(t, url, "pay-v2-1", logs)
	stop()

	a, _ = startApp(t, dir, full, logs) // the deploy
	url = "http://" + a.HTTPAddr()
	auth := []string{"--url", url, "--api-key", testKey}

	list := mustCLI(t, append([]string{"dlq", "list", "--kind", "unknown-schema"}, auth...)...)
	if !regexpLine(list, "SEQ", "KIND", "REDRIVEN") || !regexpLine(list, strconv.FormatUint(seq, 10), "runner", "unknown-schema", "com.acme.payment.captured", "pay-v2-1", "-") {
		t.Fatalf("dlq list:\n%s", list)
	}
	t.Logf("dlq list:\n%s", list)

	out := mustCLI(t, append([]string{"dlq", "redrive", strconv.FormatUint(seq, 10)}, auth...)...)
	if !regexpLine(out, strconv.FormatUint(seq, 10), "accepted", "pay-v2-1", "/psp") || !strings.Contains(out, "1 accepted, 0 rejected") {
		t.Fatalf("dlq redrive:\n%s", out)
	}
	t.Logf("dlq redrive:\n%s", out)
	ev := waitStoredAPI(t, url, "pay-v2-1", logs)
	if ev["dataschema"] != a.SchemaBase()+"/v1/schemas/com.acme.payment.captured/v2" || !strings.Contains(ev["erkb"].(string), "payments@") {
		t.Errorf("stored as %v, want validated as v2 and run through the payments rules", ev)
	}

	// Again, by filter this time (which selects only the never redriven:
	// none) and by seq: still one copy everywhere.
	out = mustCLI(t, append([]string{"dlq", "redrive", "--kind", "unknown-schema"}, auth...)...)
	if !strings.Contains(out, "0 accepted, 0 rejected") {
		t.Errorf("a filter redrive selected a redriven dead letter:\n%s", out)
	}
	out = mustCLI(t, append([]string{"dlq", "redrive", strconv.FormatUint(seq, 10), "--json"}, auth...)...)
	var rep struct {
		Results  []struct{ Outcome, ID, Source string }
		Accepted int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Accepted != 1 || rep.Results[0].ID != "pay-v2-1" || rep.Results[0].Source != "/psp" {
		t.Fatalf("dlq redrive --json: %v\n%s", err, out)
	}
	waitProcDrained(t, a)
	if n := countStored(t, url, "pay-v2-1"); n != 1 {
		t.Errorf("stored %d times, want once", n)
	}
	if got := readTenantStream(t, a.NATSURL(), "demo", 1); got["pay-v2-1"] != 1 {
		t.Errorf("the tenant stream holds pay-v2-1 %d times, want once", got["pay-v2-1"])
	}
	show := mustCLI(t, append([]string{"dlq", "show", strconv.FormatUint(seq, 10)}, auth...)...)
	if !strings.Contains(show, "accepted at") || !strings.Contains(show, "2 time(s)") || !strings.Contains(show, `"id": "pay-v2-1"`) {
		t.Errorf("dlq show:\n%s", show)
	}
	t.Logf("dlq show:\n%s", show)
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `eventrunner_dlq_redriven_total{outcome="accepted"} 2`) {
		t.Errorf("/metrics does not count the two accepted redrives")
	}
}

// TestDLQCLISelection: redrive and purge refuse to guess what to act on.
func TestDLQCLISelection(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"dlq", "redrive", "--api-key", "k"}, "name dead letters"},
		{[]string{"dlq", "redrive", "3", "--kind", "x", "--api-key", "k"}, "not SEQs with filters"},
		{[]string{"dlq", "purge", "--all", "--api-key", "k"}, "add --yes"},
		{[]string{"dlq", "purge", "x", "--yes", "--api-key", "k"}, "not a dead letter's SEQ"},
		{[]string{"dlq", "list", "--since", "yesterday", "--api-key", "k"}, "--since: want an RFC 3339 time"},
		{[]string{"dlq", "list", "--admin-key", "k"}, "--admin-key needs --tenant"},
	} {
		if _, _, err := runCLI(t, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("eventrunner %s: %v, want %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

// regexpLine reports whether some line of out holds the fields in order.
func regexpLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		got := strings.Fields(line)
		i := 0
		for _, f := range got {
			if i < len(fields) && f == fields[i] {
				i++
			}
		}
		if i == len(fields) {
			return true
		}
	}
	return false
}

// apiGet GETs path with the demo key.
func apiGet(t *testing.T, url, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+path, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

// waitDeadLetter polls GET /v1/dlq until the event's dead letter is there.
func waitDeadLetter(t *testing.T, url, id string, logs *syncBuffer) uint64 {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var page struct {
			DeadLetters []struct {
				Seq   uint64
				Kind  string
				Event struct{ ID string }
			} `json:"dead_letters"`
		}
		apiGet(t, url, "/v1/dlq?id="+id, &page)
		if len(page.DeadLetters) == 1 {
			if page.DeadLetters[0].Kind != "unknown-schema" {
				t.Fatalf("dead letter of %s: %+v", id, page.DeadLetters[0])
			}
			return page.DeadLetters[0].Seq
		}
	}
	t.Fatalf("no dead letter of %s after 30s:\n%s", id, logs)
	return 0
}

func waitStoredAPI(t *testing.T, url, id string, logs *syncBuffer) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ev map[string]any
		if apiGet(t, url, "/v1/events/"+id, &ev) == 200 {
			return ev
		}
	}
	t.Fatalf("%s not stored after 30s:\n%s", id, logs)
	return nil
}

// countStored counts the stored events with id in the tenant's list.
func countStored(t *testing.T, url, id string) int {
	t.Helper()
	var list struct{ Events []struct{ ID string } }
	if code := apiGet(t, url, "/v1/events?type=com.acme.payment.captured", &list); code != 200 {
		t.Fatalf("list: %d", code)
	}
	n := 0
	for _, ev := range list.Events {
		if ev.ID == id {
			n++
		}
	}
	return n
}

// waitProcDrained waits until the engine has taken everything on ER_PROC.
func waitProcDrained(t *testing.T, a *app.App) {
	t.Helper()
	js, err := jetstream.New(a.NATS())
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := js.Stream(ctx, bus.StreamProc)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = s.Info(ctx)
		}
		cancel()
		if err == nil && info.State.Msgs == 0 {
			return
		}
	}
	t.Fatal("ER_PROC not drained after 30s")
}
