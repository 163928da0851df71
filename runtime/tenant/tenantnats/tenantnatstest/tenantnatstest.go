// Package tenantnatstest starts a real nats-server in operator mode, as
// `eventrunner serve` runs it: the engine's account with the shared
// streams, an account per tenant with its stream, the auth callout for
// API-key logins. Start runs the embedded server in-process; StartCluster
// runs a 3-node cluster of nats-server processes (runtime/bus/natscluster)
// configured as `eventrunner nats init` prints it, with every stream R3.
// For tests of the packages that work with tenants' streams; only _test
// files import it.
package tenantnatstest

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/natscluster"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// Env is a running server or cluster, the engine's connection and the
// tenants.
type Env struct {
	// Server is the embedded server (Start), Cluster the cluster
	// (StartCluster); the other is nil.
	Server  *bus.Server
	Cluster *natscluster.Cluster
	// URL is where tenants connect: the embedded server, or one node of
	// the cluster other than the engine's and the callout's, so that
	// every check crosses the cluster's routes.
	URL      string
	Keys     *tenantnats.Keys
	Registry *tenant.Registry
	Accounts *tenantnats.Accounts
	Streams  *tenantnats.Streams
	// Engine is a connection of the engine account; JS its JetStream.
	Engine *nats.Conn
	JS     jetstream.JetStream
	// APIKeys are the tenants' API keys by tenant id.
	APIKeys map[string]string

	pub *bus.Publisher // Publish's, one for all as the engine has
}

// Start starts the embedded server with the tenants ids (each with one API
// key and its stream), the engine's shared streams and the auth callout.
func Start(tb testing.TB, ids ...string) *Env {
	tb.Helper()
	e := newEnv(tb, ids)
	mode, err := e.Keys.EmbeddedMode(e.Registry.List())
	if err != nil {
		tb.Fatal(err)
	}
	e.Server, err = bus.StartEmbedded(bus.Options{DataDir: tb.TempDir(), Operator: mode})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Server.Shutdown)
	url := e.Server.ClientURL()
	e.URL = url
	e.Accounts = tenantnats.NewAccounts(e.connect(tb, url, e.Keys.SystemCreds), e.Keys)
	e.setUp(tb, url, url, 1)
	return e
}

// StartCluster starts a 3-node nats-server cluster that trusts a new
// operator (Keys.ServerConfig, a full resolver per node), pushes the
// accounts of the tenants ids and the engine's to it as serve does
// (system and auth accounts, each tenant's, then the engine's with its
// imports), and sets up the streams (R3) and the callout as Start does.
// The engine connects to node 0 first, the system user and the callout to
// node 1, tenants (URL) to node 2. Skipped under -short.
func StartCluster(tb testing.TB, ids ...string) *Env {
	tb.Helper()
	e := newEnv(tb, ids)
	e.Cluster = natscluster.Start(tb, natscluster.Options{Name: "tenants", ExtraConfig: func(_ int, dir string) string {
		conf, err := e.Keys.ServerConfig(filepath.Join(dir, "jwt"))
		if err != nil {
			tb.Fatal(err)
		}
		return conf
	}})
	order := func(first int) string {
		urls := e.Cluster.URLs()
		return strings.Join(append(urls[first:], urls[:first]...), ",")
	}
	e.URL = e.Cluster.URL(2)
	e.Accounts = tenantnats.NewAccounts(e.connect(tb, order(1), e.Keys.SystemCreds), e.Keys)
	e.Accounts.EventReplicas = 3
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Accounts.PutFixed(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := e.Accounts.Apply(ctx, e.Registry.List()); err != nil {
		tb.Fatal(err)
	}
	e.setUp(tb, order(0), order(1), 3)
	return e
}

func newEnv(tb testing.TB, ids []string) *Env {
	tb.Helper()
	keys, err := tenantnats.NewKeys()
	if err != nil {
		tb.Fatal(err)
	}
	e := &Env{Keys: keys, Registry: tenant.NewRegistry(), APIKeys: map[string]string{}}
	for _, id := range ids {
		key := tenant.NewKey()
		e.APIKeys[id] = key
		if err := e.Registry.Add(tenant.Tenant{ID: id, KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// setUp connects the engine (to engineURL) and the callout (to
// calloutURL), and creates the shared streams and every tenant's with
// replicas.
func (e *Env) setUp(tb testing.TB, engineURL, calloutURL string, replicas int) {
	tb.Helper()
	var err error
	e.Engine = e.connect(tb, engineURL, e.Keys.EngineCreds)
	if e.JS, err = bus.NewJetStream(e.Engine); err != nil {
		tb.Fatal(err)
	}
	e.pub = bus.NewPublisher(e.JS, bus.PublisherOptions{TenantAcks: true})
	callout, err := tenantnats.StartCallout(e.connect(tb, calloutURL, e.Keys.CalloutCreds), e.Keys, e.Registry, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(callout.Stop)
	e.Streams = tenantnats.AccountStreams(e.Engine, bus.Replication{Replicas: replicas})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, e.JS, bus.StreamsConfig{Replication: bus.Replication{Replicas: replicas}}); err != nil {
		tb.Fatal(err)
	}
	for _, t := range e.Registry.List() {
		if err := e.Streams.Ensure(ctx, t); err != nil {
			tb.Fatal(err)
		}
	}
}

func (e *Env) connect(tb testing.TB, url string, creds func() (tenantnats.Creds, error)) *nats.Conn {
	tb.Helper()
	c, err := creds()
	if err != nil {
		tb.Fatal(err)
	}
	nc, err := bus.Connect(url, append(c.Options(), nats.DontRandomize())...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// Put creates or changes a tenant as the app does: its account, the
// engine's imports, its stream.
func (e *Env) Put(tb testing.TB, t tenant.Tenant) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Registry.Add(t); err != nil {
		tb.Fatal(err)
	}
	if err := e.Accounts.PutTenant(ctx, t); err != nil {
		tb.Fatal(err)
	}
	if err := e.Accounts.PutEngine(ctx, e.ids()); err != nil {
		tb.Fatal(err)
	}
	if err := e.Streams.Ensure(ctx, t); err != nil {
		tb.Fatal(err)
	}
}

// Remove deletes a tenant as the app does.
func (e *Env) Remove(tb testing.TB, id string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Streams.Delete(ctx, id); err != nil {
		tb.Fatal(err)
	}
	e.Registry.Remove(id)
	if err := e.Accounts.PutEngine(ctx, e.ids()); err != nil {
		tb.Fatal(err)
	}
	if err := e.Accounts.RemoveTenant(ctx, id); err != nil {
		tb.Fatal(err)
	}
}

func (e *Env) ids() []string {
	var ids []string
	for _, t := range e.Registry.List() {
		ids = append(ids, t.ID)
	}
	return ids
}

// NodeURLs are the client URLs of every server: the embedded one, or each
// node of the cluster.
func (e *Env) NodeURLs() []string {
	if e.Cluster != nil {
		return e.Cluster.URLs()
	}
	return []string{e.Server.ClientURL()}
}

// EngineConns are connections of the engine's account, one to each server
// (NodeURLs), for checks whose messages must come from every node.
func (e *Env) EngineConns(tb testing.TB) []*nats.Conn {
	tb.Helper()
	var out []*nats.Conn
	for _, url := range e.NodeURLs() {
		out = append(out, e.connect(tb, url, e.Keys.EngineCreds))
	}
	return out
}

// Publish stores data in a tenant stream as the engine does (subject
// er.t.<tenant>.…; the PubAck comes back through the tenant's export of
// bus.TenantAckSubjects), with a Nats-Msg-Id of its own as the engine's
// publishes have, so that a resend after a late PubAck stores it once.
// Every call shares one publisher, as the engine's do: a new one's ack
// subscription must first reach, over the routes, the node that leads
// the tenant's stream, and a PubAck sent before it has is lost (the
// publish waits out its ack timeout, 10 s, and resends).
func (e *Env) Publish(ctx context.Context, subject string, data []byte) error {
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(bus.HeaderMsgID, nuid.Next())
	return e.pub.PublishBatch(ctx, []*nats.Msg{m}, make([]error, 1))
}

// TenantJS is the JetStream API of tenant id's account, from the engine.
func (e *Env) TenantJS(tb testing.TB, id string) jetstream.JetStream {
	tb.Helper()
	js, err := e.Streams.JetStream(id)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// TenantConn logs in as tenant id with its API key and records the
// server's asynchronous errors (permission violations).
func (e *Env) TenantConn(tb testing.TB, id string, opts ...nats.Option) (*nats.Conn, *ErrLog) {
	tb.Helper()
	log := &ErrLog{}
	opts = append(append(tenantnats.ClientOptions(id, e.APIKeys[id]), append([]nats.Option{ConnectTimeout}, opts...)...),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.add(err) }))
	nc, err := nats.Connect(e.URL, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc, log
}

// ConnectTimeout is the tests' dial timeout: a login through the auth
// callout under the race detector on two loaded cores can take longer
// than nats.go's default 2 s ("timeout reading from the server").
var ConnectTimeout = nats.Timeout(10 * time.Second)

// ErrLog collects a connection's asynchronous errors.
type ErrLog struct {
	mu   sync.Mutex
	errs []string
}

func (l *ErrLog) add(err error) { l.mu.Lock(); l.errs = append(l.errs, err.Error()); l.mu.Unlock() }

// WaitFor waits (bounded) for an error containing s.
func (l *ErrLog) WaitFor(tb testing.TB, s string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, e := range l.errs {
			if strings.Contains(e, s) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tb.Errorf("no error containing %q; got %q", s, l.errs)
}
