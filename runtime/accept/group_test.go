package accept_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// Concurrent single-event requests of one tenant share envelopes (group
// commit): every request is told its event is stored, ER_PROC holds every
// event once, in fewer messages than there were requests.
func TestGroupCommit(t *testing.T) {
	env := bustest.Start(t)
	a := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""),
		Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{}), Linger: 20 * time.Millisecond}
	const requests = 40
	var wg sync.WaitGroup
	errs := make([]error, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := order(func(e *cloudevents.Event) { e.ID = fmt.Sprint("g-", i) })
			errs[i] = a.Accept(context.Background(), "acme", []*cloudevents.Event{ev})[0]
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	events := env.ProcEvents(t, requests, 5*time.Second)
	seen := map[string]int{}
	msgs := map[uint64]bool{}
	for _, pe := range events {
		ev, err := cloudevents.ParseStructured(pe.Data)
		if err != nil {
			t.Fatal(err)
		}
		seen[ev.ID]++
		msgs[pe.Msg.Sequence] = true
	}
	if len(events) != requests || len(seen) != requests {
		t.Fatalf("ER_PROC holds %d events, %d distinct, want %d once each", len(events), len(seen), requests)
	}
	if len(msgs) >= requests/2 {
		t.Errorf("%d requests took %d ER_PROC messages: they were not grouped", requests, len(msgs))
	}
}

// A request as large as GroupEvents does not wait; one too large for an
// envelope is split in several.
func TestLargeRequestsAndSplitting(t *testing.T) {
	env := bustest.Start(t)
	a := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""),
		Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{}), Linger: time.Hour, GroupEvents: 10, MaxEnvelope: 2000}
	evs := make([]*cloudevents.Event, 10)
	for i := range evs {
		evs[i] = order(func(e *cloudevents.Event) { e.ID = fmt.Sprint("big-", i) })
	}
	done := make(chan []error, 1)
	go func() { done <- a.Accept(context.Background(), "acme", evs) }()
	select {
	case out := <-done:
		for i, err := range out {
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request of GroupEvents events waited for the linger")
	}
	events := env.ProcEvents(t, len(evs), 5*time.Second)
	msgs := map[uint64]int{}
	for _, pe := range events {
		msgs[pe.Msg.Sequence] += len(pe.Data)
	}
	if len(events) != len(evs) || len(msgs) < 2 {
		t.Fatalf("%d events in %d messages, want %d split over several envelopes of ≤ 2000 bytes", len(events), len(msgs), len(evs))
	}
	for seq, n := range msgs {
		if n > 2000 {
			t.Errorf("ER_PROC seq %d carries %d bytes of events", seq, n)
		}
	}
}

// A caller that gives up waiting is told so; the group still publishes.
func TestGroupWaitEndsWithTheCaller(t *testing.T) {
	env := bustest.Start(t)
	a := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""),
		Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{}), Linger: 300 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := a.Accept(ctx, "acme", []*cloudevents.Event{order(nil)})[0]
	if err == nil || ctx.Err() == nil {
		t.Fatalf("Accept = %v before the linger ended, want the caller's deadline", err)
	}
	if n := len(env.ProcEvents(t, 1, 5*time.Second)); n != 1 {
		t.Fatalf("ER_PROC holds %d events after the linger, want 1", n)
	}
}
