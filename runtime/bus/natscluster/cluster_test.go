package natscluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/natscluster"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

const stream = "ORDERS"

// r3 creates the test's replicated stream on a started cluster.
func r3(t *testing.T, c *natscluster.Cluster) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"orders.>"}, Replicas: 3,
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	return js
}

// acked is a message the stream acknowledged: its Nats-Msg-Id and sequence.
type acked struct {
	id  string
	seq uint64
}

// publish publishes message id until the stream acknowledges it, as a
// producer does through a leader election: each try bounded, the same
// Nats-Msg-Id every time so that a retry of a stored message is dropped.
func publish(ctx context.Context, js jetstream.JetStream, id string) (acked, int, error) {
	for tries := 1; ; tries++ {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		ack, err := js.Publish(pctx, "orders."+id, []byte(`{"id":"`+id+`"}`), jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return acked{id, ack.Sequence}, tries, nil
		}
		select {
		case <-ctx.Done():
			return acked{}, tries, fmt.Errorf("publish %s: %w (last: %v)", id, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func publishRange(t *testing.T, js jetstream.JetStream, prefix string, n int) []acked {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make([]acked, 0, n)
	for i := range n {
		a, _, err := publish(ctx, js, fmt.Sprintf("%s-%d", prefix, i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// checkAcked: every acknowledged message is in the stream at its sequence,
// and the stream holds nothing else (a retry stored nothing twice).
func checkAcked(t *testing.T, js jetstream.JetStream, all []acked) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, a := range all {
		ids[a.id] = true
		m, err := s.GetMsg(ctx, a.seq)
		if err != nil {
			t.Errorf("acked %s at seq %d: %v", a.id, a.seq, err)
			continue
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != a.id {
			t.Errorf("seq %d holds %s, acked as %s", a.seq, got, a.id)
		}
	}
	if n := s.CachedInfo().State.Msgs; n != uint64(len(ids)) {
		t.Errorf("stream holds %d messages, %d distinct ones were acked", n, len(ids))
	}
}

// TestR3StreamSurvivesLeaderKill: a producer keeps publishing to an R3
// stream while its leader is SIGKILLed; after the election (publishes time
// out meanwhile and are retried) it goes on, and every acknowledged message
// is in the stream once.
func TestR3StreamSurvivesLeaderKill(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{})
	js := r3(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	leader, err := c.StreamLeader(ctx, js, stream)
	if err != nil {
		t.Fatal(err)
	}

	const before, after = 200, 200
	var (
		mu       sync.Mutex
		all      []acked
		killedAt time.Time
		gap      time.Duration // the longest wait for one ack after the kill
		retried  int
	)
	kill := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < before+after; i++ {
			if i == before {
				close(kill)
			}
			start := time.Now()
			a, tries, err := publish(ctx, js, fmt.Sprintf("m-%d", i))
			if err != nil {
				errc <- err
				return
			}
			mu.Lock()
			all = append(all, a)
			if !killedAt.IsZero() {
				gap = max(gap, time.Since(start))
			}
			retried += tries - 1
			mu.Unlock()
		}
		errc <- nil
	}()
	<-kill
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	c.Kill(leader)
	if err := <-errc; err != nil {
		t.Fatalf("after killing leader %s: %v", c.Name(leader), err)
	}
	t.Logf("killed leader %s; publishing resumed after at most %v, %d retries", c.Name(leader), gap.Round(time.Millisecond), retried)
	next, err := c.StreamLeader(ctx, js, stream)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatalf("leader is still the killed %s", c.Name(leader))
	}
	checkAcked(t, js, all)
}

// TestKilledNodeRestartsAndCatchesUp: a replica SIGKILLed misses what is
// published while it is down; restarted with its store, it catches up, and
// as the stream's leader serves every message.
func TestKilledNodeRestartsAndCatchesUp(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{})
	js := r3(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	all := publishRange(t, js, "before", 100)
	leader, err := c.StreamLeader(ctx, js, stream)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % c.Nodes()
	c.Kill(follower)
	all = append(all, publishRange(t, js, "down", 200)...) // the leader and one follower are a quorum
	c.Restart(follower)
	if err := c.WaitJetStream(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.MoveStreamLeader(ctx, js, stream, follower); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s restarted and, %v later, leads the stream", c.Name(follower), time.Since(start).Round(time.Millisecond))
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.CachedInfo().Cluster.Replicas {
		if !r.Current {
			t.Errorf("replica %s not current (lag %d)", r.Name, r.Lag)
		}
	}
	all = append(all, publishRange(t, js, "after", 50)...)
	checkAcked(t, js, all)
}

// TestOperatorAccountsReachEveryNode runs the cluster on the operator
// configuration `eventrunner nats init` prints (full account resolver,
// each node its own directory): an account pushed to one node over
// $SYS.REQ.CLAIMS.UPDATE is stored by every node, its users log in on
// each, and its update and deletion reach every node too.
func TestOperatorAccountsReachEveryNode(t *testing.T) {
	keys, err := tenantnats.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	c := natscluster.Start(t, natscluster.Options{ExtraConfig: func(_ int, dir string) string {
		conf, err := keys.ServerConfig(filepath.Join(dir, "jwt"))
		if err != nil {
			t.Fatal(err)
		}
		return conf
	}})
	sys, _ := keys.SystemCreds()
	accounts := tenantnats.NewAccounts(c.ConnectTo(t, 0, sys.Options()...), keys)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acme := tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(tenant.NewKey())}}
	pub := tenantnats.Public(keys.Tenant("acme"))

	step := func(what string, put func() error, want func() (string, error), login bool) {
		t.Helper()
		tok, err := want()
		if err != nil {
			t.Fatal(err)
		}
		if err := put(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for i := range c.Nodes() {
			waitFile(t, filepath.Join(c.Dir(i), "jwt", pub+".jwt"), tok, what+" on "+c.Name(i))
			creds, _ := keys.TenantCreds("acme", time.Time{})
			nc, err := nats.Connect(c.URL(i), append(creds.Options(), nats.NoReconnect())...)
			if (err == nil) != login {
				t.Errorf("%s: login on %s: %v, want ok=%v", what, c.Name(i), err, login)
			}
			if nc != nil {
				nc.Close()
			}
		}
	}
	step("create", func() error { return accounts.PutTenant(ctx, acme) }, func() (string, error) { return keys.TenantAccountJWT(acme, accounts.EventReplicas) }, true)

	// The account's JetStream spans the cluster: an R3 stream of its own.
	creds, _ := keys.TenantCreds("acme", time.Time{})
	ajs, _ := jetstream.New(c.ConnectTo(t, 2, creds.Options()...))
	if _, err := ajs.CreateStream(ctx, jetstream.StreamConfig{Name: "MINE", Subjects: []string{"mine.>"}, Replicas: 3}); err != nil {
		t.Fatalf("tenant's R3 stream: %v", err)
	}
	if _, err := ajs.Publish(ctx, "mine.x", nil); err != nil {
		t.Fatal(err)
	}

	acme.KeyHashes = append(acme.KeyHashes, tenant.HashKey(tenant.NewKey()))
	step("update", func() error { return accounts.PutTenant(ctx, acme) }, func() (string, error) { return keys.TenantAccountJWT(acme, accounts.EventReplicas) }, true)
	step("delete", func() error { return accounts.RemoveTenant(ctx, "acme") }, func() (string, error) { return keys.TombstoneJWT("acme") }, false)
}

// waitFile waits (bounded) until path holds want, as the resolver stores a
// JWT (content compared without the issue time and id, which differ
// between two issues of the same claims).
func waitFile(t *testing.T, path, want, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got []byte
	var err error
	for time.Now().Before(deadline) {
		if got, err = os.ReadFile(path); err == nil && sameAccount(string(got), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: %s not stored", what, filepath.Base(path))
		return
	}
	t.Errorf("%s: the resolver holds another JWT (%v)", what, err)
}

// sameAccount compares two account JWTs' claims, not when they were issued.
func sameAccount(a, b string) bool {
	norm := func(tok string) string {
		ac, err := jwt.DecodeAccountClaims(tok)
		if err != nil {
			return "invalid: " + err.Error()
		}
		ac.IssuedAt, ac.ID = 0, ""
		for k := range ac.Revocations {
			ac.Revocations[k] = 0
		}
		b, _ := json.Marshal(ac)
		return string(b)
	}
	return norm(a) == norm(b)
}

// TestConcurrentEnsureOnNewCluster: two engine processes starting together
// on a cluster that has just formed both create the shared streams (R3)
// and the same KV bucket; both succeed. Without bus.RetrySettling both could
// wait in vain for the answer to their stream create.
func TestConcurrentEnsureOnNewCluster(t *testing.T) {
	c := natscluster.Start(t, natscluster.Options{})
	rep := bus.Replication{Replicas: 3}
	errs := make(chan error, 2)
	for i := range 2 {
		js, err := jetstream.New(c.ConnectTo(t, i))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := bus.EnsureStreams(ctx, js, bus.StreamsConfig{Replication: rep}); err != nil {
				errs <- fmt.Errorf("process %d: %w", i, err)
				return
			}
			_, err := tenantnats.OpenKVStore(ctx, js, rep)
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
