package grpcingest

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// item is one received event, or why it could not even be read.
type item struct {
	ev  *cloudevents.Event
	err error
	// size is what the item holds in memory, for a stream's budget.
	size int
}

// sizeOf estimates the memory an event holds: its data, attributes and
// extensions, plus a fixed overhead for the structs.
func sizeOf(ev *cloudevents.Event) int {
	if ev == nil {
		return 256
	}
	n := 256 + len(ev.Data) + len(ev.ID) + len(ev.Source) + len(ev.Type) + len(ev.Subject) + len(ev.Time) + len(ev.DataSchema) + len(ev.DataContentType)
	for k, v := range ev.Extensions {
		n += len(k) + len(v) + 32
	}
	return n
}

// acceptBatch runs the readable events of items through the Acceptor in one
// call (one round of PubAcks) and returns each item's status, in order
// (nil: stored). A tenant's rate limit refuses the whole batch.
func (s *Server) acceptBatch(ctx context.Context, t tenant.Tenant, items []item) []*status.Status {
	start := time.Now()
	out := make([]*status.Status, len(items))
	defer func() { s.cfg.Metrics.observe(t.ID, out, time.Since(start)) }()
	evs := make([]*cloudevents.Event, 0, len(items))
	idx := make([]int, 0, len(items))
	limit := s.cfg.MaxEventBytes
	if t.MaxEventKB > 0 {
		limit = t.MaxEventKB << 10
	}
	for i, it := range items {
		if it.err != nil {
			out[i] = statusOf(it.err)
			continue
		}
		if len(it.ev.Data) > limit {
			out[i] = status.New(codes.ResourceExhausted, "data: larger than the limit of "+strconv.Itoa(limit)+" bytes")
			continue
		}
		evs = append(evs, it.ev)
		idx = append(idx, i)
	}
	if len(evs) == 0 {
		return out
	}
	if s.cfg.Limiter != nil {
		if wait, ok := s.cfg.Limiter.Allow(t, len(evs)); !ok {
			st := exhausted(wait)
			for _, i := range idx {
				out[i] = st
			}
			return out
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	for j, err := range s.cfg.Accept.Accept(ctx, t.ID, evs) {
		out[idx[j]] = statusOf(err)
	}
	return out
}
