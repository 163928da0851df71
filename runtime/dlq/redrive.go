package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner"
)

// Stage is the Er-Dlq-Stage of the dead letter a rejected redrive leaves:
// the ingest path (accept) refused the event again.
const Stage = "ingest"

// KindNotRedrivable is the kind of a redrive refused without trying: a
// WASM consumer's dead letter is a processed event, not an input.
const KindNotRedrivable = "not-redrivable"

// Result is the outcome of redriving one dead letter.
type Result struct {
	Seq     uint64 `json:"seq"`
	Outcome string `json:"outcome"`
	Kind    string `json:"kind"`
	Reason  string `json:"reason"`
	ID      string `json:"id"`
	Source  string `json:"source"`
	// DeadLetter is the new dead letter of a rejected redrive.
	DeadLetter uint64 `json:"dead_letter,omitempty"`
}

// Report is the outcome of a redrive.
type Report struct {
	Results  []Result `json:"results"`
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
}

// ErrPublish wraps a failed publish to ER_PROC: nothing was refused, the
// redrive may be repeated (it keeps one copy of each event).
var ErrPublish = errors.New("dlq: redrive not published")

// RateLimitedError stops a redrive over the tenant's ingest rate
// (Options.Limit): the dead letters before were redriven and marked, the
// rest were not touched, and a repeat after RetryAfter goes on with them.
type RateLimitedError struct {
	Tenant     string
	Done       int // dead letters redriven before the refusal
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("dlq: tenant %s is over its ingest rate after %d redriven dead letters; the rest are untouched, retry after %v",
		e.Tenant, e.Done, e.RetryAfter.Round(time.Millisecond))
}

// chunk is how many dead letters one round of a redrive hands to the
// acceptor, and so how many events at most share its envelopes.
const chunk = 128

// Redrive sends the selected dead letters of tenant through validation
// again (see the package doc) and marks each with its outcome. Seqs that
// are not tenant's dead letters make it fail with ErrNotFound before it
// acts on any; a filter selects only the dead letters never redriven,
// unless it says otherwise (Filter.Redriven).
func (d *DLQ) Redrive(ctx context.Context, tenant string, sel Selection) (*Report, error) {
	if d.opts.Acceptor == nil || d.opts.Publisher == nil {
		return nil, errors.New("dlq: redrive needs Options.Acceptor and Publisher")
	}
	if err := sel.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Results: []Result{}}
	var batch []*DeadLetter
	flush := func() error {
		err := d.redrive(ctx, tenant, batch, rep)
		batch = batch[:0]
		return err
	}
	add := func(dl *DeadLetter) error {
		if batch = append(batch, dl); len(batch) == chunk {
			return flush()
		}
		return nil
	}
	if len(sel.Seqs) > 0 {
		dls, err := d.getAll(ctx, tenant, sel.seqs())
		if err != nil {
			return nil, err
		}
		for _, dl := range dls {
			if err := add(dl); err != nil {
				return rep, err
			}
		}
	} else {
		f := sel.Filter
		if f.Redriven == nil {
			never := false
			f.Redriven = &never
		}
		if err := d.each(ctx, tenant, f, add); err != nil {
			return rep, err
		}
	}
	return rep, flush()
}

// getAll reads the dead letters seqs of tenant, or fails on the first that
// is not one.
func (d *DLQ) getAll(ctx context.Context, tenant string, seqs []uint64) ([]*DeadLetter, error) {
	out := make([]*DeadLetter, 0, len(seqs))
	for _, seq := range seqs {
		dl, err := d.Get(ctx, tenant, seq)
		if err != nil {
			return nil, err
		}
		out = append(out, dl)
	}
	return out, nil
}

// redrive hands dls to the acceptor in one call and records each outcome.
func (d *DLQ) redrive(ctx context.Context, tenant string, dls []*DeadLetter, rep *Report) error {
	if len(dls) == 0 {
		return nil
	}
	errs := make([]error, len(dls))
	var evs []*cloudevents.Event
	var idx []int
	for i, dl := range dls {
		ev, err := d.eventOf(dl.msg)
		if err != nil {
			errs[i] = err
			continue
		}
		evs, idx = append(evs, ev), append(idx, i)
	}
	if len(evs) > 0 && d.opts.Limit != nil {
		if wait, ok := d.opts.Limit(tenant, len(evs)); !ok {
			return &RateLimitedError{Tenant: tenant, Done: len(rep.Results), RetryAfter: wait}
		}
	}
	if len(evs) > 0 {
		for j, err := range d.opts.Acceptor.Accept(ctx, tenant, evs) {
			errs[idx[j]] = err
		}
	}
	var failed []error
	for i, dl := range dls {
		res, err := d.settle(ctx, tenant, dl, errs[i])
		if err != nil {
			failed = append(failed, err)
			continue
		}
		rep.Results = append(rep.Results, res)
		if res.Outcome == OutcomeAccepted {
			rep.Accepted++
		} else {
			rep.Rejected++
		}
	}
	return errors.Join(failed...)
}

// settle marks dl with the outcome err of its redrive, publishing the new
// dead letter of a rejection first. A failed publish marks nothing.
func (d *DLQ) settle(ctx context.Context, tenant string, dl *DeadLetter, err error) (Result, error) {
	res := Result{Seq: dl.Seq, Outcome: OutcomeAccepted, ID: dl.Event.ID, Source: dl.Event.Source}
	var refused *accept.Error
	switch {
	case err == nil:
	case errors.As(err, &refused):
		res.Outcome, res.Kind, res.Reason = OutcomeRejected, string(refused.Kind), refused.Error()
	default:
		return res, fmt.Errorf("%w: dead letter %d: %w", ErrPublish, dl.Seq, err)
	}
	mk := Marker{At: time.Now().UTC(), Outcome: res.Outcome, Kind: res.Kind, Reason: res.Reason}
	if refused != nil && refused.Kind != KindNotRedrivable {
		seq, err := d.deadLetterAgain(ctx, tenant, dl, refused)
		if err != nil {
			return res, err
		}
		res.DeadLetter, mk.DeadLetter = seq, seq
	}
	if _, err := d.mark(ctx, tenant, dl.Seq, mk); err != nil {
		return res, err
	}
	d.metrics.redriven.WithLabelValues(res.Outcome).Inc()
	return res, nil
}

// deadLetterAgain publishes the dead letter of a rejected redrive of dl:
// its body and the original's headers, so that it is read as the same
// event when redriven in turn, with the new reason. A dead letter rejected
// again while the one its previous redrive left still exists leaves no
// other.
func (d *DLQ) deadLetterAgain(ctx context.Context, tenant string, dl *DeadLetter, refused *accept.Error) (uint64, error) {
	if prev := dl.Redriven; prev != nil && prev.DeadLetter != 0 {
		if _, err := d.stream.GetMsg(ctx, prev.DeadLetter); err == nil {
			return prev.DeadLetter, nil
		}
	}
	o, h := originOf(dl.msg.Header), nats.Header{}
	for k, v := range dl.msg.Header {
		if !strings.HasPrefix(k, "Er-Dlq-") && !strings.HasPrefix(k, "Nats-") && k != bus.HeaderTenant {
			h[k] = v
		}
	}
	if id := dl.msg.Header.Get(bus.HeaderDLQMsgID); id != "" {
		h.Set(bus.HeaderMsgID, id) // DLQMsg keeps it as Er-Dlq-Msg-Id again
	}
	m := bus.DLQMsg(tenant, bus.Origin{Subject: o.subject, Header: h, Data: dl.msg.Data, Stream: o.stream, Seq: o.seq, Part: o.part}, refused.Rejection(Stage))
	m.Header.Set(bus.HeaderMsgID, "dlq/"+bus.StreamDLQ+"/"+strconv.FormatUint(dl.Seq, 10))
	m.Header.Set(bus.HeaderDLQRedriveOf, strconv.FormatUint(dl.Seq, 10))
	ack, err := d.opts.Publisher.Publish(ctx, m)
	if err != nil {
		return 0, fmt.Errorf("%w: dead letter %d: %w", ErrPublish, dl.Seq, err)
	}
	return ack.Sequence, nil
}

// eventOf reads the original event of dead letter m as the stage that
// refused it did: what came in on er.raw as the runner reads it, what the
// engine refused as the structured CloudEvent it is. Refusals are
// *accept.Error.
func (d *DLQ) eventOf(m *jetstream.RawStreamMsg) (ev *cloudevents.Event, err error) {
	defer func() {
		// A dead letter may hold anything; the runner guards its reading alike.
		if p := recover(); p != nil {
			ev, err = nil, &accept.Error{Kind: accept.KindInternal, Reason: fmt.Sprintf("panic reading the dead letter: %v", p)}
		}
	}()
	h := m.Header
	if stage := h.Get(bus.HeaderDLQStage); strings.HasPrefix(stage, "wasm") {
		return nil, &accept.Error{Kind: KindNotRedrivable, Reason: "a WASM consumer's dead letter is a processed event, not an input: fix the module and replay the tenant stream instead"}
	}
	o := originOf(h)
	if !o.raw() {
		ev = &cloudevents.Event{}
		if err := cloudevents.Parse(m.Data, ev); err != nil {
			return nil, accept.ParseRefusal(err)
		}
		return ev, nil
	}
	if d.opts.ReadRaw == nil {
		return nil, &accept.Error{Kind: KindNotRedrivable, Reason: "this process cannot read raw NATS events (no runner)"}
	}
	// The producer's headers as the runner saw them: the dead letter's own
	// Nats-Msg-Id replaced by the original's.
	ph := make(nats.Header, len(h))
	for k, v := range h {
		if k != bus.HeaderMsgID {
			ph[k] = v
		}
	}
	if id := h.Get(bus.HeaderDLQMsgID); id != "" {
		ph.Set(bus.HeaderMsgID, id)
	}
	stored, ok := bus.ParseTime(h.Get(bus.HeaderIngestTime))
	if !ok {
		stored = m.Time // dead letters of earlier versions: the same on every redrive
	}
	return d.opts.ReadRaw(runner.Raw{Subject: o.subject, Header: ph, Data: m.Data, Stream: o.stream, Seq: o.seq, Stored: stored})
}

// Purge deletes the selected dead letters of tenant from ER_DLQ, with their
// markers, and returns how many. Seqs that are not tenant's dead letters
// make it fail with ErrNotFound before it deletes any.
func (d *DLQ) Purge(ctx context.Context, tenant string, sel Selection) (int, error) {
	if err := sel.Check(); err != nil {
		return 0, err
	}
	n := 0
	del := func(dl *DeadLetter) error {
		err := d.stream.DeleteMsg(ctx, dl.Seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return d.unmark(ctx, tenant, dl.Seq) // purged meanwhile
		}
		if err != nil {
			return fmt.Errorf("dlq: delete %d: %w", dl.Seq, err)
		}
		n++
		d.metrics.purged.Inc()
		return d.unmark(ctx, tenant, dl.Seq)
	}
	if len(sel.Seqs) > 0 {
		dls, err := d.getAll(ctx, tenant, sel.seqs())
		if err != nil {
			return 0, err
		}
		for _, dl := range dls {
			if err := del(dl); err != nil {
				return n, err
			}
		}
		return n, nil
	}
	return n, d.each(ctx, tenant, sel.Filter, del)
}
