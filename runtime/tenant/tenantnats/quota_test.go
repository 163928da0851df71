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
		connect := func() (*nats.Conn, error) {
			return nats.Connect(e.URL, append(tenantnats.ClientOptions("a", e.APIKeys["a"]), nats.MaxReconnects(0), tenantnatstest.ConnectTimeout)...)
		}
		var err error
		var conns []*nats.Conn
		for i := 0; i < 4 && err == nil; i++ {
			var nc *nats.Conn
			if nc, err = connect(); err == nil {
				conns = append(conns, nc)
				err = nc.FlushTimeout(5 * time.Second)
			}
		}
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "maximum account active connections exceeded") {
			t.Errorf("a's 4th connection with a quota of 3: %v, want refused by the account's connection limit", err)
		}
		// The server counts a closed connection until it has read the
		// close: wait for a's slots to come back before the next checks
		// connect as a.
		for _, nc := range conns {
			nc.Close()
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			nc, err := connect()
			if err == nil {
				nc.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a cannot connect after closing its connections: %v", err)
			}
		}
		for range 4 {
			e.TenantConn(t, "b") // fails the test if refused
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
	own := jetstream.StreamConfig{Name: "OWN1", Subjects: []string{"own1.>"}, MaxBytes: 48 << 10, Discard: jetstream.DiscardNew}
	for _, js := range []jetstream.JetStream{ajs, bjs} {
		if _, err := js.CreateStream(ctx, own); err != nil {
			t.Fatalf("a tenant's first own stream: %v", err)
		}
	}
	t.Run("streams", func(t *testing.T) {
		_, err := ajs.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN2", Subjects: []string{"own2.>"}, MaxBytes: 1 << 10})
		if err == nil || !strings.Contains(err.Error(), "maximum number of streams reached") {
			t.Errorf("a's second own stream with max_streams 1: %v, want the account's stream limit", err)
		}
		if _, err := bjs.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN2", Subjects: []string{"own2.>"}}); err != nil {
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
		bigger.MaxBytes = 128 << 10
		if _, err := ajs.UpdateStream(ctx, bigger); err == nil || !strings.Contains(err.Error(), "insufficient storage") {
			t.Errorf("a's stream grown past max_storage 64 KiB: %v, want insufficient storage", err)
		}
		if _, err := bjs.UpdateStream(ctx, bigger); err != nil {
			t.Errorf("b's stream grown to 128 KiB: %v", err)
		}
		// a fills its own stream: refused once full, as the stream says.
		chunk := make([]byte, 8<<10)
		stored := 0
		for ; stored < 256<<10; stored += len(chunk) {
			if _, err = ajs.Publish(ctx, "own1.x", chunk); err != nil {
				break
			}
		}
		if err == nil || stored > 48<<10 || !strings.Contains(err.Error(), "maximum bytes exceeded") {
			t.Errorf("a stored %d bytes into its 48 KiB stream (last error %v)", stored, err)
		}
		for range 12 { // 96 KiB: b's stream is 128 KiB
			if _, err := bjs.Publish(ctx, "own1.x", chunk); err != nil {
				t.Fatalf("b's publish: %v", err)
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
