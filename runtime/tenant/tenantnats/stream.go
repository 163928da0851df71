package tenantnats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// DefaultRetention is how long a tenant stream keeps events when the tenant
// names no retention.
const DefaultRetention = 7 * 24 * time.Hour

// Streams is how the engine reaches the tenants' streams. With accounts
// (the embedded server, or a cluster whose operator eventrunner is), each
// stream lives in its tenant's own account and the engine drives it
// through the imports of the engine account (APIPrefix); without (an
// external NATS that gives eventrunner one account), the streams live in
// the engine's account and tenants get no NATS access at all.
type Streams struct {
	nc     *nats.Conn
	shared jetstream.JetStream // nil with accounts
	rep    bus.Replication

	mu sync.Mutex
	js map[string]jetstream.JetStream
}

// AccountStreams reaches each tenant's stream in the tenant's account over
// nc, an engine-account connection.
func AccountStreams(nc *nats.Conn, rep bus.Replication) *Streams {
	return &Streams{nc: nc, rep: rep, js: map[string]jetstream.JetStream{}}
}

// SharedStreams keeps the tenant streams in js's own account.
func SharedStreams(js jetstream.JetStream, rep bus.Replication) *Streams {
	return &Streams{nc: js.Conn(), shared: js, rep: rep}
}

// Isolated reports whether tenants have accounts of their own.
func (s *Streams) Isolated() bool { return s.shared == nil }

// JetStream is the JetStream API holding tenant id's stream: the tenant
// account's (through the engine account's import), or the shared one.
func (s *Streams) JetStream(id string) (jetstream.JetStream, error) {
	if s.shared != nil {
		return s.shared, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if js, ok := s.js[id]; ok {
		return js, nil
	}
	if err := bus.CheckTenant(id); err != nil {
		return nil, err
	}
	js, err := bus.NewJetStreamWithPrefix(s.nc, APIPrefix(id))
	if err != nil {
		return nil, err
	}
	s.js[id] = js
	return js, nil
}

// Config is tenant t's stream, with t's limits: the engine publishes its
// processed events to it (er.t.<tenant>.<type>), as do its WASM consumers
// their outputs (er.out.<tenant>.>). Its dead letters (er.dlq.<tenant>)
// are forwarded into it from ER_DLQ with accounts (see ForwardDeadLetters)
// and sourced from ER_DLQ without, where er.dlq.> is ER_DLQ's own.
func (s *Streams) Config(t tenant.Tenant) jetstream.StreamConfig {
	age := time.Duration(t.Retention)
	if age <= 0 {
		age = DefaultRetention
	}
	maxBytes := t.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	filter, _ := bus.TenantFilter(t.ID)
	cfg := jetstream.StreamConfig{
		Name:        StreamName(t.ID),
		Description: "eventrunner: tenant " + t.ID + "'s processed events, WASM outputs and dead letters",
		Subjects:    []string{filter, OutFilter(t.ID)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      age,
		MaxBytes:    maxBytes,
		Discard:     jetstream.DiscardOld,
		Duplicates:  2 * time.Minute,
	}
	s.rep.Apply(&cfg)
	if s.Isolated() {
		cfg.Subjects = append(cfg.Subjects, TenantDLQSubject(t.ID))
	} else {
		cfg.Sources = []*jetstream.StreamSource{{Name: bus.StreamDLQ, FilterSubject: bus.DLQSubject(t.ID)}}
	}
	return cfg
}

// Ensure creates tenant t's stream or updates its limits.
func (s *Streams) Ensure(ctx context.Context, t tenant.Tenant) error {
	js, err := s.JetStream(t.ID)
	if err != nil {
		return fmt.Errorf("tenant %s: stream: %w", t.ID, err)
	}
	// A tenant account just pushed to a cluster takes a moment to be
	// served everywhere.
	err = bus.RetrySettling(ctx, func(ctx context.Context) error { _, err := js.CreateOrUpdateStream(ctx, s.Config(t)); return err })
	if err != nil {
		return fmt.Errorf("tenant %s: stream: %w", t.ID, err)
	}
	return nil
}

// Delete removes tenant id's stream; a missing one is not an error.
func (s *Streams) Delete(ctx context.Context, id string) error {
	js, err := s.JetStream(id)
	if err != nil {
		return fmt.Errorf("tenant %s: delete stream: %w", id, err)
	}
	err = js.DeleteStream(ctx, StreamName(id))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("tenant %s: delete stream: %w", id, err)
	}
	s.mu.Lock()
	delete(s.js, id)
	s.mu.Unlock()
	return nil
}

// Leader is the server leading tenant id's stream; an error when the stream
// is missing or has no leader (an election is under way, or too many of its
// servers are down).
func (s *Streams) Leader(ctx context.Context, id string) (string, error) {
	js, err := s.JetStream(id)
	if err != nil {
		return "", err
	}
	return bus.StreamLeader(ctx, js, StreamName(id))
}
