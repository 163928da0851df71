package grpcingest

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// streamDepth is how many batches of one stream may wait for their PubAcks
// at once: while one batch waits, the next is validated and published.
const streamDepth = 4

// pending is a batch of a stream on its way to JetStream; sts receives its
// statuses.
type pending struct {
	items []item
	sts   chan []*status.Status
}

// stream runs one bidirectional stream: a goroutine receives; this one
// cuts what has arrived (up to MaxBatch events) into batches and accepts
// each in its own goroutine, up to streamDepth at once; a third sends the
// acks, batch after batch, so they come in the order the events came.
// Batching what is already there costs a fast producer no latency and gives
// it one round of PubAcks per batch instead of per event.
func (s *Server) stream(ctx context.Context, recv func() (item, error), send func(*rules.Ack) error) error {
	t := tenantOf(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan item, s.cfg.MaxBatch)
	recvDone := make(chan error, 1) // why receiving stopped, sent after in closes
	b := newBudget(s.cfg.MaxStreamBytes, &s.held)
	go func() {
		var err error
		defer func() { close(in); recvDone <- err }()
		for {
			var it item
			if it, err = recv(); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return
			}
			it.size = sizeOf(it.ev)
			if err = b.acquire(ctx, it.size); err != nil {
				err = nil // the stream is ending; its context says why
				return
			}
			select {
			case in <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	queue := make(chan pending, streamDepth-1)
	sent := make(chan error, 1)
	go func() { sent <- s.sendAcks(queue, send, cancel, b) }()
	drained := s.batches(ctx, in, func(batch []item) bool {
		p := pending{items: batch, sts: make(chan []*status.Status, 1)}
		go func() { p.sts <- s.acceptBatch(ctx, t, p.items) }()
		select {
		case queue <- p:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(queue)
	if err := <-sent; err != nil {
		return err
	}
	if drained {
		return status.Error(codes.Unavailable, "server shutting down: events without an ack were not stored, send them again")
	}
	var recvErr error
	select {
	case recvErr = <-recvDone:
	case <-ctx.Done(): // the client went away; the receiver stops with it
		return status.FromContextError(ctx.Err()).Err()
	}
	if recvErr != nil {
		if _, ok := status.FromError(recvErr); ok {
			return recvErr
		}
		return status.Error(codes.Canceled, recvErr.Error())
	}
	return nil
}

// batches cuts what arrives on in into batches for accept until in closes,
// accept refuses, or the server drains (then it reports true).
func (s *Server) batches(ctx context.Context, in <-chan item, accept func([]item) bool) (drained bool) {
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-in:
		case <-s.draining:
			return true
		case <-ctx.Done():
			return false
		}
		if !ok {
			return false
		}
		batch := append(make([]item, 0, 16), it)
		open := true
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case it, ok := <-in:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, it)
			default:
				break fill
			}
		}
		if !accept(batch) || !open {
			return false
		}
	}
}

// sendAcks sends the acks of each batch in queue order, then gives the
// batch's bytes back to the stream's budget; on a send error it cancels the
// stream. A client that does not read its acks blocks send (HTTP/2 flow
// control), so the budget is not given back and receiving stops.
func (s *Server) sendAcks(queue <-chan pending, send func(*rules.Ack) error, cancel context.CancelFunc, b *budget) error {
	defer b.releaseAll()
	for p := range queue {
		n := 0
		for i, st := range <-p.sts {
			if err := send(ackOf(p.items[i].ev.ID, p.items[i].ev.Source, st)); err != nil {
				cancel()
				return err
			}
			n += p.items[i].size
		}
		b.release(n)
	}
	return nil
}

// budget bounds the bytes one stream holds between receiving an event and
// sending its ack. One event larger than the whole budget still passes
// when the stream holds nothing else.
type budget struct {
	mu     sync.Mutex
	used   int
	max    int
	closed bool          // the stream ended: nothing more is taken
	wake   chan struct{} // closed and replaced whenever bytes come back
	total  *atomic.Int64 // the server's sum over streams
}

func newBudget(max int, total *atomic.Int64) *budget {
	return &budget{max: max, wake: make(chan struct{}), total: total}
}

// acquire waits until n bytes fit, or ctx ends.
func (b *budget) acquire(ctx context.Context, n int) error {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return context.Canceled
		}
		if b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			b.total.Add(int64(n))
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
	b.total.Add(-int64(n))
}

// releaseAll gives back what a finished stream still holds, and closes the
// budget so that a late receive takes nothing the server would not get back.
func (b *budget) releaseAll() {
	b.mu.Lock()
	n := b.used
	b.closed = true
	b.mu.Unlock()
	b.release(n)
}
