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

// legacyStreams are streams of earlier versions that EnsureStreams removes:
// ER_TENANT, the shared stream of processed events written before each
// event was copied into its tenant's stream (its subjects overlap the
// tenant streams'), and ER_ANALYTICS, which sourced every tenant stream
// for the ClickHouse feeder (a stream cannot source across accounts; the
// feeder now consumes each tenant stream directly).
var legacyStreams = []string{"ER_TENANT", "ER_ANALYTICS"}

// Replication is how every stream, KV bucket and object store eventrunner
// creates is replicated and placed. The zero value is one replica anywhere.
// JetStream changes the replicas of an existing stream in place, so a
// changed Replication is applied at the next start.
type Replication struct {
	// Replicas is 1 on a single server; 3 is typical on a cluster.
	Replicas int
	// Tags place every replica on servers that carry all of them
	// (server_tags in the server's configuration).
	Tags []string
}

// N is the number of replicas, at least 1.
func (r Replication) N() int { return max(r.Replicas, 1) }

// Placement is the JetStream placement for Tags, nil when there are none.
func (r Replication) Placement() *jetstream.Placement {
	if len(r.Tags) == 0 {
		return nil
	}
	return &jetstream.Placement{Tags: r.Tags}
}

// Apply sets the replicas and placement of sc.
func (r Replication) Apply(sc *jetstream.StreamConfig) {
	sc.Replicas = r.N()
	sc.Placement = r.Placement()
}

// StreamsConfig sizes the streams. The zero value gives the defaults.
type StreamsConfig struct {
	// Replication of every stream (one replica by default).
	Replication Replication
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
		sc := jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subject},
			Retention:   ret,
			Storage:     jetstream.FileStorage,
			Duplicates:  c.Duplicates,
			MaxAge:      age,
			MaxBytes:    nonZero(c.MaxBytes),
			Discard:     jetstream.DiscardOld,
		}
		c.Replication.Apply(&sc)
		return sc
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
// stream. The legacy streams are deleted: every event in them is also in
// its tenant's stream.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamsConfig) error {
	for _, name := range legacyStreams {
		// RetrySettling: on a new cluster the account's JetStream may not be
		// enabled on every server yet.
		err := RetrySettling(ctx, func(ctx context.Context) error {
			err := js.DeleteStream(ctx, name)
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("bus: delete legacy stream %s: %w", name, err)
		}
	}
	for _, sc := range cfg.Configs() {
		err := RetrySettling(ctx, func(ctx context.Context) error { _, err := js.CreateOrUpdateStream(ctx, sc); return err })
		if err != nil {
			return fmt.Errorf("bus: ensure stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// StreamLeader is the server leading stream name: on a cluster, the one that
// accepts its writes. It fails when the stream has no leader (during an
// election, or with a quorum of its replicas down) or cannot be reached.
func StreamLeader(ctx context.Context, js jetstream.JetStream, name string) (string, error) {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return "", fmt.Errorf("stream %s: %w", name, err)
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return "", fmt.Errorf("stream %s: no leader", name)
	}
	return info.Cluster.Leader, nil
}

// SharedStreams are the names of the streams every process writes to.
func SharedStreams() []string { return []string{StreamRaw, StreamProc, StreamDLQ} }
