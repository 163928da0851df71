package tenantnats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// forwarderDurable is the consumer on ER_DLQ that every engine process
// shares, so that each dead letter is forwarded by one of them.
const forwarderDurable = "er-tenant-dlq"

// TenantLookup finds a tenant by id (tenant.Registry is one).
type TenantLookup interface {
	Get(id string) (tenant.Tenant, bool)
}

// DLQForwarder copies each dead letter of ER_DLQ (er.dlq.<tenant>, in the
// engine's account) into its tenant's stream (er.dlq.<tenant> in the
// tenant's account): with accounts, a tenant stream cannot source ER_DLQ
// without the tenant reaching the engine's JetStream API. A dead letter is
// acknowledged once its tenant's stream stored it, and carries a
// Nats-Msg-Id derived from its ER_DLQ sequence, so a redelivery is stored
// once.
type DLQForwarder struct {
	cons    jetstream.Consumer
	pub     *bus.Publisher
	tenants TenantLookup
	log     *slog.Logger
}

// NewDLQForwarder creates (or finds) the durable consumer. A new one starts
// with the oldest dead letter, or with new ones only when fromNow is set (a
// data directory whose tenant streams already hold the older ones).
func NewDLQForwarder(ctx context.Context, js jetstream.JetStream, pub *bus.Publisher, tenants TenantLookup, fromNow bool, log *slog.Logger) (*DLQForwarder, error) {
	policy := jetstream.DeliverAllPolicy
	if fromNow {
		policy = jetstream.DeliverNewPolicy
	}
	cfg := jetstream.ConsumerConfig{
		Durable: forwarderDurable, Description: "eventrunner: dead letters into their tenants' streams",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 1024,
		DeliverPolicy: policy, MaxDeliver: -1,
	}
	cons, err := js.Consumer(ctx, bus.StreamDLQ, forwarderDurable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = js.CreateConsumer(ctx, bus.StreamDLQ, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("tenantnats: dead-letter forwarder: %w", err)
	}
	return &DLQForwarder{cons: cons, pub: pub, tenants: tenants, log: log}, nil
}

// Run forwards until ctx is cancelled.
func (f *DLQForwarder) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		mb, err := f.cons.Fetch(256, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			f.log.Warn("dead-letter forwarder: fetch", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range mb.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) > 0 {
			f.forward(context.WithoutCancel(ctx), msgs)
		}
	}
	return ctx.Err()
}

func (f *DLQForwarder) forward(ctx context.Context, msgs []jetstream.Msg) {
	out := make([]*nats.Msg, 0, len(msgs))
	take := msgs[:0:0]
	for _, m := range msgs {
		id := bus.TenantOfSubject(m.Subject())
		if _, ok := f.tenants.Get(id); !ok {
			_ = m.Ack() // no such tenant (any more): nowhere to forward to
			continue
		}
		out = append(out, forwardMsg(id, m))
		take = append(take, m)
	}
	errs := make([]error, len(out))
	_ = f.pub.PublishBatch(ctx, out, errs)
	for i, m := range take {
		switch {
		case errs[i] == nil:
			_ = m.Ack()
		default:
			f.log.Warn("dead-letter forwarder: tenant stream did not store it; retrying", "subject", m.Subject(), "err", errs[i])
			_ = m.NakWithDelay(5 * time.Second)
		}
	}
}

// forwardMsg is the tenant's copy of dead letter m: its body and headers
// but the server's instructions, deduplicated by its ER_DLQ position.
func forwardMsg(id string, m jetstream.Msg) *nats.Msg {
	fm := &nats.Msg{Subject: DLQForwardSubject(id), Data: m.Data(), Header: nats.Header{}}
	for k, v := range m.Headers() {
		if len(k) >= 5 && strings.EqualFold(k[:5], "nats-") {
			continue
		}
		fm.Header[k] = v
	}
	if md, err := m.Metadata(); err == nil {
		fm.Header.Set(bus.HeaderMsgID, "dlq/"+strconv.FormatUint(md.Sequence.Stream, 10))
	}
	return fm
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
