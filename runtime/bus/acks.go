package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// AckPrefix begins the reply subjects of a Publisher with TenantAcks: the
// PubAck of a message to er.<kind>.<tenant>… comes back on
// _ERACK.<tenant>.<inbox>.<n>. A tenant's account exports exactly
// TenantAckSubjects(tenant) to the engine's, so whatever a tenant manages to
// publish there can only ever answer a message of its own.
const AckPrefix = "_ERACK"

// TenantAckSubjects are the reply subjects of the PubAcks of tenant id's
// stream to the engine: _ERACK.<tenant>.>.
func TenantAckSubjects(id string) string { return AckPrefix + "." + id + ".>" }

// ackInbox matches PubAcks to the messages of a Publisher's batches. One
// subscription serves every batch; reply subjects end in a sequence number
// that names the batch and the message in it. It replaces nats.go's async
// publish, whose replies always share one inbox prefix per connection:
// across accounts the tenant must be in the reply subject (see AckPrefix).
type ackInbox struct {
	nc     *nats.Conn
	scoped bool

	once   sync.Once
	err    error
	prefix string // "<inbox>." or "_ERACK." (then the tenant comes first)
	id     string
	sub    *nats.Subscription

	mu      sync.Mutex
	next    uint64
	pending map[uint64]ackSlot
}

// ackSlot is the message of a batch that reply number n answers.
type ackSlot struct {
	b *ackBatch
	i int
}

// ackBatch collects the outcomes of one round of a PublishBatch: errs[i] of
// each message i it sent, written under the inbox's lock.
type ackBatch struct {
	errs []error
	left int
	done chan struct{}
	ids  []uint64 // the reply numbers this round is waiting for
}

// ackTimeoutError is a PubAck that did not come within the ack timeout.
var errAckTimeout = fmt.Errorf("bus: no PubAck: %w", jetstream.ErrAsyncPublishTimeout)

func newAckInbox(nc *nats.Conn, scoped bool) *ackInbox {
	return &ackInbox{nc: nc, scoped: scoped, pending: map[uint64]ackSlot{}}
}

// start subscribes on first use.
func (a *ackInbox) start() error {
	a.once.Do(func() {
		a.id = nuid.Next()
		subject := ""
		if a.scoped {
			a.prefix = AckPrefix + "."
			subject = AckPrefix + ".*." + a.id + ".*"
		} else {
			a.prefix = a.nc.NewInbox() + "."
			subject = a.prefix + "*"
		}
		a.sub, a.err = a.nc.Subscribe(subject, a.handle)
		if a.err == nil {
			a.err = a.sub.SetPendingLimits(-1, -1) // acks are bounded by the batches in flight
		}
		if a.err != nil {
			a.err = fmt.Errorf("bus: subscribe to PubAcks: %w", a.err)
		}
	})
	return a.err
}

// reply is the reply subject of reply number n for a message to subject.
func (a *ackInbox) reply(subject string, n uint64) string {
	var b strings.Builder
	b.Grow(len(a.prefix) + 48)
	b.WriteString(a.prefix)
	if a.scoped {
		tenant := TenantOfSubject(subject)
		if tenant == "" {
			tenant = "_"
		}
		b.WriteString(tenant)
		b.WriteByte('.')
		b.WriteString(a.id)
		b.WriteByte('.')
	}
	b.WriteString(strconv.FormatUint(n, 10))
	return b.String()
}

// send publishes msgs[i] for every i in idx with a reply into this inbox and
// returns the round to wait for. A message the connection refuses at once
// gets its error in errs and is not waited for.
func (a *ackInbox) send(msgs []*nats.Msg, errs []error, idx []int) *ackBatch {
	b := &ackBatch{errs: errs, done: make(chan struct{}), ids: make([]uint64, 0, len(idx))}
	a.mu.Lock()
	first := a.next + 1
	a.next += uint64(len(idx))
	for k, i := range idx {
		n := first + uint64(k)
		a.pending[n] = ackSlot{b: b, i: i}
		b.ids = append(b.ids, n)
	}
	b.left = len(idx)
	a.mu.Unlock()
	for k, i := range idx {
		m := msgs[i]
		m.Reply = a.reply(m.Subject, first+uint64(k))
		if err := a.nc.PublishMsg(m); err != nil {
			a.settle(first+uint64(k), err)
		}
	}
	return b
}

// handle is the subscription's callback: it settles the message the reply
// number names, if its batch still waits.
func (a *ackInbox) handle(m *nats.Msg) {
	dot := strings.LastIndexByte(m.Subject, '.')
	n, err := strconv.ParseUint(m.Subject[dot+1:], 10, 64)
	if err != nil {
		return
	}
	a.settle(n, pubAckError(m))
}

func (a *ackInbox) settle(n uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.pending[n]
	if !ok {
		return // late: its batch gave up on it
	}
	delete(a.pending, n)
	s.b.errs[s.i] = err
	if s.b.left--; s.b.left == 0 {
		close(s.b.done)
	}
}

// abandon stops waiting for the round's missing acks: they get err.
func (a *ackInbox) abandon(b *ackBatch, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, n := range b.ids {
		if s, ok := a.pending[n]; ok {
			delete(a.pending, n)
			s.b.errs[s.i] = err
		}
	}
}

// pubAck is a JetStream PubAck or its error.
type pubAck struct {
	Stream string              `json:"stream"`
	Error  *jetstream.APIError `json:"error"`
}

// pubAckError is nil for a PubAck (a duplicate included), else why the
// message was not stored.
func pubAckError(m *nats.Msg) error {
	if len(m.Data) == 0 {
		if m.Header.Get("Status") == "503" {
			return nats.ErrNoResponders
		}
		return fmt.Errorf("bus: empty PubAck (status %q)", m.Header.Get("Status"))
	}
	var ack pubAck
	if err := json.Unmarshal(m.Data, &ack); err != nil {
		return fmt.Errorf("bus: PubAck: %w", err)
	}
	if ack.Error != nil {
		return ack.Error
	}
	if ack.Stream == "" {
		return errors.New("bus: PubAck names no stream")
	}
	return nil
}
