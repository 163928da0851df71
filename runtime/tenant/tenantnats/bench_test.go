package tenantnats_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

// BenchmarkTenantStreamWrite measures the engine's writes into a tenant's
// stream across accounts (a stream import of er.t.<tenant>.>, the PubAcks
// back through the tenant's export of _ERACK.<tenant>.>) beside the same
// writes made inside the tenant's own account, the floor: 1 KB messages
// with a Nats-Msg-Id in batches of 250. The service import this replaced
// ran at half the same-account rate on this machine (docs/benchmarks.md).
//
//	go test ./runtime/tenant/tenantnats -run XXX -bench TenantStreamWrite -benchtime 50000x
func BenchmarkTenantStreamWrite(b *testing.B) {
	e := tenantnatstest.Start(b, "a")
	ctx := context.Background()
	nc, _ := e.TenantConn(b, "a")
	tjs, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tjs.CreateStream(ctx, jetstream.StreamConfig{Name: "OWN", Subjects: []string{"own.>"}, Duplicates: 2 * time.Minute}); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 1024)
	for _, c := range []struct {
		name    string
		pub     *bus.Publisher
		subject string
	}{
		{"engine-across-accounts", bus.NewPublisher(e.JS, bus.PublisherOptions{TenantAcks: true}), "er.t.a.bench"},
		{"inside-the-account", bus.NewPublisher(tjs, bus.PublisherOptions{}), "own.bench"},
	} {
		b.Run(c.name, func(b *testing.B) {
			msgs := make([]*nats.Msg, 250)
			errs := make([]error, 250)
			b.SetBytes(int64(len(payload)))
			for n := 0; n < b.N; n += len(msgs) {
				k := min(len(msgs), b.N-n)
				for i := range k {
					m := nats.NewMsg(c.subject)
					m.Header.Set(bus.HeaderMsgID, b.Name()+strconv.Itoa(n+i))
					m.Data = payload
					msgs[i] = m
				}
				if err := c.pub.PublishBatch(ctx, msgs[:k], errs[:k]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
