package grpc

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// stream runs one bidirectional stream: a goroutine receives, the caller's
// goroutine accepts whatever has arrived (up to MaxBatch events) in one
// batch and sends an ack per event, in order. Batching what is already
// there costs a fast producer no latency and gives it one round of PubAcks
// per batch instead of per event.
func (s *Server) stream(ctx context.Context, recv func() (item, error), send func(*rules.Ack) error) error {
	t := tenantOf(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan item, s.cfg.MaxBatch)
	var recvErr error
	go func() {
		defer close(in)
		for {
			it, err := recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					recvErr = err
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
	batch := make([]item, 0, s.cfg.MaxBatch)
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-in:
		case <-s.draining:
			return status.Error(codes.Unavailable, "server shutting down: events without an ack were not stored, send them again")
		}
		if !ok {
			break
		}
		batch = append(batch[:0], it)
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
		for i, st := range s.acceptBatch(ctx, t, batch) {
			if err := send(ackOf(batch[i].ev.ID, batch[i].ev.Source, st)); err != nil {
				return err
			}
		}
		if !open {
			break
		}
	}
	// recvErr is written before close(in), which the loop has seen.
	if recvErr != nil {
		if _, ok := status.FromError(recvErr); ok {
			return recvErr
		}
		return status.Error(codes.Canceled, recvErr.Error())
	}
	return nil
}
