package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/natscluster"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// The operational behaviour of a process on an external NATS: /readyz
// tells the truth about NATS and the streams, the roles choose what runs,
// and --nats-replicas/--nats-placement-tags reach every stream. Each test
// runs the app in-process against a real nats-server: one started
// in-process (bus.StartEmbedded without an operator, as an external
// server), or a 3-node cluster of nats-server processes (natscluster).

// logBuffer is a log sink safe for the app's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startOn starts the app on the external NATS at urls with cfg's other
// settings, logging into logs, and returns a stop that Shutdown's it (also
// run at cleanup).
func startOn(t *testing.T, urls []string, cfg Config, logs *logBuffer) (*App, func()) {
	t.Helper()
	cfg.DataDir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	cfg.NATS.URLs, cfg.NATS.ReconnectWait = urls, 50*time.Millisecond
	cfg.DemoAPIKey, cfg.Workers, cfg.SchemaFiles = probeKey, 1, orderFiles
	if logs == nil {
		logs = &logBuffer{}
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Start(ctx, cfg, runnertest.Registry(), log)
	if err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := a.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("app log:\n%s", logs)
		}
	})
	return a, stop
}

// startExternalServer starts a plain nats-server with JetStream in-process
// on dir and port (0 picks one).
func startExternalServer(t *testing.T, dir string, port int) *bus.Server {
	t.Helper()
	s, err := bus.StartEmbedded(bus.Options{DataDir: dir, Port: port, ServerName: "external"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readyz is one probe: the status and the checks.
func readyz(t *testing.T, a *App) (int, map[string]string) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	res, err := hc.Get("http://" + a.HTTPAddr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var checks map[string]string
	if err := json.NewDecoder(res.Body).Decode(&checks); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return res.StatusCode, checks
}

// waitReadyz probes until /readyz answers status with checks that ok
// accepts, and returns those checks.
func waitReadyz(t *testing.T, a *App, what string, within time.Duration, status int, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, checks := readyz(t, a)
		if code == status && ok(checks) {
			return checks
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz still %d %v after %s", what, code, checks, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func allOK(checks map[string]string) bool {
	for _, v := range checks {
		if v != "ok" {
			return false
		}
	}
	return true
}

// TestReadyzWhenNATSIsDown: the external NATS server goes away; /readyz
// answers 503 naming the connection's state, and 200 again by itself once
// the server is back on its port and store.
func TestReadyzWhenNATSIsDown(t *testing.T) {
	dir := t.TempDir()
	srv := startExternalServer(t, dir, 0)
	t.Cleanup(func() { srv.Shutdown() }) // after the app's Shutdown (cleanups run last first)
	_, p, err := splitHostPort(strings.TrimPrefix(srv.ClientURL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := startOn(t, []string{srv.ClientURL()}, Config{}, nil)
	checks := waitReadyz(t, a, "at start", 10*time.Second, http.StatusOK, allOK)
	for _, s := range bus.SharedStreams() {
		if checks["stream "+s] != "ok" {
			t.Errorf("at start: no check of stream %s: %v", s, checks)
		}
	}

	srv.Shutdown()
	down := waitReadyz(t, a, "NATS down", 10*time.Second, http.StatusServiceUnavailable, func(c map[string]string) bool {
		return c["nats"] != "ok" && c["nats"] != ""
	})
	t.Logf("NATS down: %v", down)
	if down["nats"] != "RECONNECTING" && down["nats"] != "DISCONNECTED" {
		t.Errorf("NATS down: reason %q, want the connection's state", down["nats"])
	}

	srv = startExternalServer(t, dir, p)
	waitReadyz(t, a, "NATS back", 15*time.Second, http.StatusOK, allOK)
}

// TestReadyzWhenAStreamHasNoLeader: two of the three nodes of an R3
// cluster, ER_PROC's leader among them, are killed, so the streams lose
// their quorum while the process stays connected to the third; /readyz
// answers 503 naming the streams, ingest 503 with Retry-After, and /readyz
// 200 again by itself once the nodes are back.
func TestReadyzWhenAStreamHasNoLeader(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{Name: "readyz"})
	a, _ := startOn(t, c.URLs(), Config{NATSReplication: bus.Replication{Replicas: 3}}, nil)
	waitReadyz(t, a, "at start", 15*time.Second, http.StatusOK, allOK)

	// The survivor is not ER_PROC's leader: a leader that lost its quorum
	// answers as leader until it notices (seconds, up to 20 s here).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	leader, err := bus.StreamLeader(ctx, a.js, bus.StreamProc)
	if err != nil {
		t.Fatal(err)
	}
	survivor := (c.Index(leader) + 1) % c.Nodes()
	phase := time.Now()
	var killed []int
	for i := range c.Nodes() {
		if i != survivor {
			c.Kill(i)
			killed = append(killed, i)
		}
	}
	down := waitReadyz(t, a, "2 of 3 nodes down", 20*time.Second, http.StatusServiceUnavailable, func(ch map[string]string) bool {
		return ch["nats"] == "ok" && ch["stream "+bus.StreamProc] != "ok" && ch["stream "+bus.StreamProc] != ""
	})
	t.Logf("2 of 3 nodes down: /readyz 503 after %s: %v", time.Since(phase).Round(time.Millisecond), down)
	if !strings.Contains(down["stream "+bus.StreamProc], bus.StreamProc) {
		t.Errorf("reason %q does not name the stream", down["stream "+bus.StreamProc])
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr()+"/v1/events", strings.NewReader(structured(`"q-1"`, `"/quorum"`, "")))
	req.Header.Set("Authorization", "Bearer "+probeKey)
	req.Header.Set("Content-Type", "application/cloudevents+json")
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("ingest without a quorum: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	t.Logf("ingest without a quorum: %d after %s", res.StatusCode, time.Since(start).Round(time.Millisecond))

	phase = time.Now()
	for _, i := range killed {
		c.Restart(i)
	}
	waitReadyz(t, a, "nodes back", 30*time.Second, http.StatusOK, allOK)
	t.Logf("nodes back: /readyz 200 after %s", time.Since(phase).Round(time.Millisecond))
}

// TestRoles: a process serves the routes and runs the consumers of its
// roles only.
func TestRoles(t *testing.T) {
	const event = `{"specversion":"1.0","id":"r-1","source":"/roles","type":"com.acme.order.created","data":{"id":"o-1","amount":1}}`
	tests := []struct {
		roles               Roles
		ingest, query       bool // POST /v1/events, GET /v1/events served
		engine, runner, dlq bool // the durable consumers and /v1/dlq
	}{
		{roles: Roles{RoleIngest}, ingest: true, dlq: true},
		{roles: Roles{RoleEngine}, engine: true},
		{roles: Roles{RoleQuery}, query: true},
		{roles: Roles{RoleRunner, RoleEngine}, engine: true, runner: true},
	}
	for _, tt := range tests {
		t.Run(tt.roles.String(), func(t *testing.T) {
			a := startTestApp(t, Config{Roles: tt.roles})
			base := "http://" + a.HTTPAddr()
			served := func(method, path, ct, body string) (bool, int) {
				req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+probeKey)
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed, res.StatusCode
			}
			for _, r := range []struct {
				method, path, ct, body string
				want                   bool
			}{
				{"POST", "/v1/events", "application/cloudevents+json", event, tt.ingest},
				{"GET", "/v1/events", "", "", tt.query},
				{"GET", "/v1/dlq", "", "", tt.dlq},
				{"GET", "/readyz", "", "", true},
				{"GET", "/v1/schemas", "", "", true},
			} {
				if got, code := served(r.method, r.path, r.ct, r.body); got != r.want {
					t.Errorf("%s %s: served %v (%d), want %v", r.method, r.path, got, code, r.want)
				}
			}
			if (a.engine != nil) != tt.engine {
				t.Errorf("engine running: %v, want %v", a.engine != nil, tt.engine)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			proc, err := a.js.Stream(ctx, bus.StreamProc)
			if err != nil {
				t.Fatal(err)
			}
			var consumers []string
			for c := range proc.ConsumerNames(ctx).Name() {
				consumers = append(consumers, c)
			}
			if got := len(consumers) > 0; got != tt.engine {
				t.Errorf("consumers on %s: %v, want the engine's: %v", bus.StreamProc, consumers, tt.engine)
			}
			// The runner's durable consumer is created by every process (ingest
			// normalises with the runner); only the runner role pulls from it.
			raw, err := a.js.Consumer(ctx, bus.StreamRaw, "runner")
			if err != nil {
				t.Fatal(err)
			}
			for {
				info, err := raw.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if pulling := info.NumWaiting > 0; pulling == tt.runner {
					break
				}
				if !tt.runner || ctx.Err() != nil {
					t.Fatalf("runner consumer: %d pull requests waiting, want some: %v", info.NumWaiting, tt.runner)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestLocalStoreWarning: on an external NATS without --cassandra-hosts, a
// process that stores into or reads its embedded Pebble says what the
// others cannot see; one that opens no store says nothing.
func TestLocalStoreWarning(t *testing.T) {
	srv := startExternalServer(t, t.TempDir(), 0)
	t.Cleanup(srv.Shutdown)
	tests := []struct {
		roles Roles
		want  string // "" = no warning
	}{
		{nil, "the query API reads this process's embedded Pebble store"},
		{Roles{RoleQuery}, "the query API reads this process's embedded Pebble store"},
		{Roles{RoleEngine}, "the engine stores into this process's embedded Pebble store"},
		{Roles{RoleIngest, RoleRunner}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.roles.String(), func(t *testing.T) {
			logs := &logBuffer{}
			_, stop := startOn(t, []string{srv.ClientURL()}, Config{Roles: tt.roles}, logs)
			stop()
			got := logs.String()
			switch {
			case tt.want == "" && strings.Contains(got, "--cassandra-hosts"):
				t.Errorf("warned without a store:\n%s", got)
			case tt.want != "" && !(strings.Contains(got, tt.want) && strings.Contains(got, "--cassandra-hosts")):
				t.Errorf("log lacks %q and --cassandra-hosts:\n%s", tt.want, got)
			}
		})
	}
}

// replicated reads every stream of the account (KV buckets and object
// stores are streams too) and reports those not at replicas with
// placement tags, once the cluster has placed them.
func replicated(ctx context.Context, a *App, replicas int, tags []string) (names []string, wrong []string, err error) {
	for info := range a.js.ListStreams(ctx).Info() {
		names = append(names, info.Config.Name)
		var placed []string
		if info.Config.Placement != nil {
			placed = info.Config.Placement.Tags
		}
		peers := 0
		if info.Cluster != nil {
			peers = len(info.Cluster.Replicas)
		}
		if info.Config.Replicas != replicas || peers != replicas-1 || !slices.Equal(placed, tags) {
			wrong = append(wrong, fmt.Sprintf("%s: R%d, %d peers, tags %v", info.Config.Name, info.Config.Replicas, peers, placed))
		}
	}
	slices.Sort(names)
	return names, wrong, ctx.Err()
}

// TestReplicasChangedInPlace: streams, KV buckets and object stores made
// with one replica on a 3-node cluster get three when the process starts
// again with --nats-replicas 3, then their placement with
// --nats-placement-tags, and one replica again after; the engine's durable
// consumer follows its stream. Replicas and placement changed at once are
// refused (JetStream scales and moves in separate updates) with the way
// out, and change nothing.
func TestReplicasChangedInPlace(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{Name: "replicas", ExtraConfig: func(node int, _ string) string {
		return fmt.Sprintf("server_tags: [\"site:test\", \"node:n%d\"]", node)
	}})
	want := []string{"ER_DLQ", "ER_PROC", "ER_RAW", "ER_T_demo", "KV_ER_DLQ_REDRIVE", "KV_ER_TENANTS", "KV_ER_WASM_DEPLOYMENTS", "OBJ_ER_WASM_MODULES"}
	site := []string{"site:test"}
	check := func(a *App, step string, replicas int, tags []string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var names, wrong []string
		var err error
		for {
			names, wrong, err = replicated(ctx, a, replicas, tags)
			// A listing during a reconfiguration may miss a stream.
			if (len(wrong) == 0 && slices.Equal(names, want)) || err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("%s: %v: streams %v, not as asked: %v", step, err, names, wrong)
		}
		for {
			cons, err := a.js.Consumer(ctx, bus.StreamProc, "engine")
			if err != nil {
				t.Fatalf("%s: engine consumer: %v", step, err)
			}
			info := cons.CachedInfo()
			if info.Config.Replicas == 0 && info.Cluster != nil && len(info.Cluster.Replicas) == replicas-1 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: engine consumer: replicas %d, cluster %+v", step, info.Config.Replicas, info.Cluster)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, step := range []struct {
		replicas int
		tags     []string
		refused  bool
	}{{1, nil, false}, {3, site, true}, {3, nil, false}, {3, site, false}, {1, site, false}} {
		name := fmt.Sprintf("R%d tags %v", step.replicas, step.tags)
		cfg := Config{NATSReplication: bus.Replication{Replicas: step.replicas, Tags: step.tags}}
		if step.refused {
			cfg.DataDir, cfg.HTTPAddr, cfg.NATS.URLs, cfg.DemoAPIKey, cfg.SchemaFiles = t.TempDir(), "127.0.0.1:0", c.URLs(), probeKey, orderFiles
			_, err := Start(context.Background(), cfg, runnertest.Registry(), slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), "--nats-placement-tags") {
				t.Fatalf("%s from R1 without tags: %v, want refused with the way out", name, err)
			}
			t.Logf("%s from R1: %v", name, err)
			continue
		}
		a, stop := startOn(t, c.URLs(), cfg, nil)
		check(a, name, step.replicas, step.tags)
		stop()
	}
}
