package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names. Processed events (er.t.<tenant>.<type>) have no shared
// stream: each tenant's own stream binds its subjects (runtime/tenant/
// tenantnats), so a processed event is written once.
const (
	StreamRaw  = "ER_RAW"
	StreamProc = "ER_PROC"
	StreamDLQ  = "ER_DLQ"
)

// legacyStreamTenant is the shared stream of processed events that earlier
// versions wrote before copying each event into its tenant's stream; its
// subjects overlap the tenant streams', so EnsureStreams removes it.
const legacyStreamTenant = "ER_TENANT"

// StreamsConfig sizes the streams. The zero value gives the defaults.
type StreamsConfig struct {
	// Replicas of every stream (1 on a single server).
	Replicas int
	// Duplicates is the window within which a Nats-Msg-Id seen before is
	// dropped as a duplicate; default 2 minutes, longer than any retry.
	Duplicates time.Duration
	// RawMaxAge keeps raw events for replay; default 24 h.
	RawMaxAge time.Duration
	// ProcMaxAge drops normalised events the engine never took; default
	// 7 days (the engine acks, and so deletes, everything it processes).
	ProcMaxAge time.Duration
	// DLQMaxAge keeps rejected events; default 30 days.
	DLQMaxAge time.Duration
	// MaxBytes caps each stream (oldest discarded first); 0 = unlimited.
	MaxBytes int64
}

func (c StreamsConfig) withDefaults() StreamsConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	def(&c.Duplicates, 2*time.Minute)
	def(&c.RawMaxAge, 24*time.Hour)
	def(&c.ProcMaxAge, 7*24*time.Hour)
	def(&c.DLQMaxAge, 30*24*time.Hour)
	return c
}

// Configs returns the configuration of the three shared streams.
func (c StreamsConfig) Configs() []jetstream.StreamConfig {
	c = c.withDefaults()
	mk := func(name, desc, subject string, ret jetstream.RetentionPolicy, age time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Retention:   ret,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			Duplicates:  c.Duplicates,
			MaxAge:      age,
			MaxBytes:    nonZero(c.MaxBytes),
			Discard:     jetstream.DiscardOld,
		}
	}
	return []jetstream.StreamConfig{
		mk(StreamRaw, "eventrunner: events as producers sent them (er.raw.<tenant>)", rawPrefix+">", jetstream.LimitsPolicy, c.RawMaxAge),
		mk(StreamProc, "eventrunner: normalised, validated events awaiting the engine", procPrefix+">", jetstream.WorkQueuePolicy, c.ProcMaxAge),
		mk(StreamDLQ, "eventrunner: rejected events with the reason in headers", dlqPrefix+">", jetstream.LimitsPolicy, c.DLQMaxAge),
	}
}

func nonZero(n int64) int64 {
	if n == 0 {
		return -1 // unlimited
	}
	return n
}

// EnsureStreams creates the streams or updates them to cfg. It is
// idempotent, so every process calls it at start-up; a change the server
// cannot apply in place (e.g. the retention policy) is an error naming the
// stream. A legacy ER_TENANT is deleted (every event in it was copied to
// its tenant's stream), since the tenant streams now bind its subjects.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	if err := js.DeleteStream(ctx, legacyStreamTenant); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("bus: delete legacy stream %s: %w", legacyStreamTenant, err)
	}
	for _, sc := range cfg.Configs() {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("bus: ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}
