package tenantnats_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

// checkQuotas: tenant a's NATS quotas (connections, streams, storage,
// consumers per stream) stop a with NATS's own error, while b, without
// quotas, does the same things unhindered, and the engine still writes
// a's event stream, whose storage is reserved beside a's own.
func checkQuotas(t *testing.T, e *tenantnatstest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, _ := e.Registry.Get("a")
	a.MaxBytes = 1 << 20
	a.NATS = tenant.NATSLimits{MaxConnections: 3, MaxStorage: 64 << 10, MaxStreams: 1, MaxConsumers: 2}
	e.Put(t, a)

	t.Run("connections", func(t *testing.T) {
		// Round the nodes: a cluster counts an account's connections on
		// all of them.
		nodes := e.NodeURLs()
		connect := func(id string, i int) (*nats.Conn, error) {
			return nats.Connect(nodes[i%len(nodes)], append(tenantnats.ClientOptions(id, e.APIKeys[id]),
				nats.MaxReconnects(0), tenantnatstest.ConnectTimeout)...)
		}
		var conns []*nats.Conn
		for i := range 3 {
			nc, err := connect("a", i)
			if err != nil {
				t.Fatalf("a's connection %d of 3: %v", i+1, err)
			}
			conns = append(conns, nc)
		}
		err := overQuota(t, connect, conns)
		t.Logf("a's 4th connection: %s", err)
		if !strings.Contains(strings.ToLower(err), "maximum account active connections exceeded") {
			t.Errorf("a's 4th connection with a quota of 3: %s, want refused by the account's connection limit", err)
		}
		// The server counts a closed connection until it has read the
		// close (and a cluster until the other nodes hear of it): wait for
		// a's slots to come back before the next checks connect as a.
		for _, nc := range conns {
			nc.Close()
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			nc, err := connect("a", 2)
			if err == nil {
				nc.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a cannot connect after closing its connections: %v", err)
			}
		}
		for i := range 4 {
			nc, err := connect("b", i)
			if err != nil {
				t.Fatalf("b's connection %d: %v", i+1, err)
			}
			defer nc.Close()
		}
	})

	tenantJS := func(id string) jetstream.JetStream {
		nc, _ := e.TenantConn(t, id)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	ajs, bjs := tenantJS("a"), tenantJS("b")
	// a's own streams have as many replicas as there are servers, each of
	// which counts against a's storage: 48 KiB in all of a's 64 KiB.
	replicas := len(e.NodeURLs())
	own := jetstream.StreamConfig{Name: "OWN1", Subjects: []string{"own1.>"}, MaxBytes: 48 << 10 / int64(replicas), Discard: jetstream.DiscardNew,
		Replicas: replicas}
	for _, js := range []jetstream.JetStream{ajs, bjs} {
		if _, err := js.CreateStream(ctx, own); err != nil {
			t.Fatalf("a tenant's first own stream: %v", err)
		}
	}
	t.Run("streams", func(t *testing.T) {
		_, err := ajs.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN2", Subjects: []string{"own2.>"}, MaxBytes: 1 << 10, Replicas: replicas})
		if err == nil || !strings.Contains(err.Error(), "maximum number of streams reached") {
			t.Errorf("a's second own stream with max_streams 1: %v, want the account's stream limit", err)
		}
		if _, err := bjs.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN2", Subjects: []string{"own2.>"}, Replicas: replicas}); err != nil {
			t.Errorf("b's second stream: %v", err)
		}
	})

	t.Run("consumers", func(t *testing.T) {
		// Per stream, with room for the engine's on the event stream.
		limit := 2 + tenantnats.EngineConsumers
		var err error
		for i := 0; i <= limit && err == nil; i++ {
			_, err = ajs.CreateConsumer(ctx, "OWN1", jetstream.ConsumerConfig{Durable: fmt.Sprintf("c%d", i)})
		}
		if err == nil || !strings.Contains(err.Error(), "maximum consumers limit reached") {
			t.Errorf("a's consumer %d on a stream with max_consumers 2: %v, want the limit", limit+1, err)
		}
		for i := range limit + 1 {
			if _, err := bjs.CreateConsumer(ctx, "OWN1", jetstream.ConsumerConfig{Durable: fmt.Sprintf("c%d", i)}); err != nil {
				t.Errorf("b's consumer %d: %v", i, err)
			}
		}
	})

	t.Run("storage", func(t *testing.T) {
		// Every stream of a must say its size, which the account reserves.
		unbounded := own
		unbounded.MaxBytes = -1
		_, err := ajs.UpdateStream(ctx, unbounded)
		if err == nil || !strings.Contains(err.Error(), "max bytes") {
			t.Errorf("a's stream without max_bytes: %v, want refused (the account requires max bytes)", err)
		}
		bigger := own
		bigger.MaxBytes = 128 << 10 / int64(replicas) // 128 KiB in all
		if _, err := ajs.UpdateStream(ctx, bigger); err == nil || !strings.Contains(err.Error(), "insufficient storage") {
			t.Errorf("a's stream grown past max_storage 64 KiB (%d replicas): %v, want insufficient storage", replicas, err)
		}
		if _, err := bjs.UpdateStream(ctx, bigger); err != nil {
			t.Errorf("b's stream grown to 128 KiB (%d replicas): %v", replicas, err)
		}
		// a fills its own stream: refused once full, as the stream says.
		chunk := make([]byte, 8<<10)
		stored := 0
		for ; stored < 256<<10; stored += len(chunk) {
			if _, err = ajs.Publish(ctx, "own1.x", chunk); err != nil {
				break
			}
		}
		if err == nil || stored > int(own.MaxBytes) || !strings.Contains(err.Error(), "maximum bytes exceeded") {
			t.Errorf("a stored %d bytes into its %d-byte stream (last error %v)", stored, own.MaxBytes, err)
		}
		for i := range 12 / replicas { // ¾ of b's bigger stream
			if _, err := bjs.Publish(ctx, "own1.x", chunk); err != nil {
				t.Fatalf("b's publish %d: %v", i, err)
			}
		}
		// The engine's writes into a's event stream are not starved by a.
		for i := range 16 {
			if err := e.Publish(ctx, "er.t.a.com.acme.order.created", chunk); err != nil {
				t.Fatalf("engine publish %d into a's event stream: %v", i, err)
			}
		}
	})
}

// overQuota opens one connection more than conns (with connect, as tenant
// a, on the next node) and returns the error that refused it: at login, or,
// when a cluster's nodes had not yet heard of each other's connections,
// the error with which a node closed one of a's connections once they had.
func overQuota(t *testing.T, connect func(id string, i int) (*nats.Conn, error), conns []*nats.Conn) string {
	t.Helper()
	nc, err := connect("a", len(conns))
	if err != nil {
		return err.Error()
	}
	defer nc.Close()
	all := append(conns, nc)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, c := range all {
			if c.IsClosed() {
				return fmt.Sprint(c.LastError())
			}
		}
	}
	return fmt.Sprintf("all %d connections open", len(all))
}
