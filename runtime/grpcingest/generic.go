package grpcingest

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// generic serves cepb.CloudEventIngest.
type generic struct {
	cepb.UnimplementedCloudEventIngestServer
	s *Server
}

// Publish stores a batch: whole-call errors as a status, each event's
// outcome as its ack.
func (g *generic) Publish(ctx context.Context, b *cepb.CloudEventBatch) (*cepb.PublishResponse, error) {
	evs := b.GetEvents()
	switch {
	case len(evs) == 0:
		return nil, withDetails(status.New(codes.InvalidArgument, "empty batch"), badRequest("events", "at least one event")).Err()
	case len(evs) > g.s.cfg.MaxBatch:
		return nil, status.Error(codes.ResourceExhausted, fmt.Sprintf("%d events in a batch, the limit is %d", len(evs), g.s.cfg.MaxBatch))
	}
	items := make([]item, len(evs))
	for i, m := range evs {
		items[i].ev, items[i].err = eventOf(m)
	}
	sts := g.s.acceptBatch(ctx, tenantOf(ctx), items)
	resp := &cepb.PublishResponse{Acks: make([]*cepb.Ack, len(items))}
	for i, st := range sts {
		a := ackOf(items[i].ev.ID, items[i].ev.Source, st)
		if a.Status == rules.AckAccepted {
			resp.Accepted++
		} else {
			resp.Rejected++
		}
		resp.Acks[i] = ackMsg(a)
	}
	return resp, nil
}

// Stream acknowledges each event once stored.
func (g *generic) Stream(stream cepb.CloudEventIngest_StreamServer) error {
	return g.s.stream(stream.Context(), func() (item, error) {
		m, err := stream.Recv()
		if err != nil {
			return item{}, err
		}
		var it item
		it.ev, it.err = eventOf(m)
		return it, nil
	}, func(a *rules.Ack) error { return stream.Send(ackMsg(a)) })
}

func ackMsg(a *rules.Ack) *cepb.Ack {
	m := &cepb.Ack{Id: a.ID, Source: a.Source, Status: cepb.Ack_Status(a.Status), Code: int32(a.Code), Error: a.Error, Field: a.Field}
	for _, v := range a.Violations {
		m.Violations = append(m.Violations, &cepb.Violation{Field: "data." + v.Path, Description: v.Message})
	}
	return m
}

// typedSink is the rules.TypedSink behind the generated typed services.
type typedSink struct{ s *Server }

func (t *typedSink) Publish(ctx context.Context, te *rules.TypedEvent) error {
	ev, err := t.s.typedToEvent(te)
	if err == nil {
		st := t.s.acceptBatch(ctx, tenantOf(ctx), []item{{ev: ev}})[0]
		return st.Err()
	}
	return statusOf(err).Err()
}

func (t *typedSink) Stream(ctx context.Context, recv func() (*rules.TypedEvent, error), send func(*rules.Ack) error) error {
	return t.s.stream(ctx, func() (item, error) {
		te, err := recv()
		if err != nil {
			return item{}, err
		}
		var it item
		it.ev, it.err = t.s.typedToEvent(te)
		if it.ev == nil {
			it.ev = &cloudevents.Event{ID: te.ID, Source: te.Source}
		}
		return it, nil
	}, send)
}
