package grpc

import (
	"context"
	"errors"
	"io"

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
			select {
			case in <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	queue := make(chan pending, streamDepth-1)
	sent := make(chan error, 1)
	go func() { sent <- s.sendAcks(queue, send, cancel) }()
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

// sendAcks sends the acks of each batch in queue order; on a send error it
// cancels the stream.
func (s *Server) sendAcks(queue <-chan pending, send func(*rules.Ack) error, cancel context.CancelFunc) error {
	for p := range queue {
		for i, st := range <-p.sts {
			if err := send(ackOf(p.items[i].ev.ID, p.items[i].ev.Source, st)); err != nil {
				cancel()
				return err
			}
		}
	}
	return nil
}
