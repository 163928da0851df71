package cassandra

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gocql/gocql"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// Options configures Open. Hosts is required; the zero value of everything
// else is a sensible production setting.
type Options struct {
	// Hosts are contact points (host or host:port; port 9042 by default).
	Hosts []string
	// Keyspace holds the tables (default "eventrunner"). It is created when
	// absent, with Replication.
	Keyspace string
	// Replication is the CQL replication map used when the keyspace has to be
	// created (default SimpleStrategy with one replica, for a single node;
	// production clusters create the keyspace themselves).
	Replication string
	// Username and Password enable PasswordAuthenticator when Username is set.
	Username, Password string
	// TLS, when set, encrypts the connections (host names verified unless the
	// config says otherwise).
	TLS *tls.Config
	// Consistency of reads and writes (default LOCAL_QUORUM, which with
	// writes at the same level gives read-your-writes on any replica count).
	Consistency string
	// TTL expires stored events this long after their last write; 0 keeps
	// them forever.
	TTL time.Duration
	// BucketSize is the time span of one list partition (default one hour).
	// It is fixed when the keyspace is first migrated; opening with another
	// value fails, because the rows would be looked for in the wrong
	// partitions.
	BucketSize time.Duration
	// LocalDC, when set, keeps queries in that datacenter (token-aware over
	// DC-aware round robin); otherwise token-aware over round robin.
	LocalDC string
	// Timeout bounds one request to a node (default 10 s).
	Timeout time.Duration
	// Concurrency bounds the requests one Put or Get batch has in flight
	// (default 64).
	Concurrency int
	Logger      *slog.Logger
}

// Store is the store.Store on Apache Cassandra or ScyllaDB (see schema.go
// for the tables). A Put reads the id table to keep StoredAt and find rows to
// move, writes the list rows of a partition in unlogged batches, deletes rows
// left at an old position, then writes the id rows. Writes carry client timestamps from a per-store monotonic clock so
// that a delete of one Put never shadows the re-insert of a later one.
//
// Concurrent Puts of the same (tenant, source, id) are serialised inside a process
// by per-id locks. Across processes, the pipeline delivers an event to one
// engine at a time; two processes racing to write different content for one
// id may leave an extra list row until the id is written again.
type Store struct {
	session *gocql.Session
	opts    Options
	cql     keyspaceCQL
	bucket  int64 // seconds per list partition

	locks   keyLocks
	buckets bucketCache

	// afterStep, set by tests only, can fail a Put after a named write
	// step, as a crash there would.
	afterStep func(step string) error

	clockMu sync.Mutex
	clock   int64 // last write timestamp, µs

	mu     sync.RWMutex
	closed bool
}

var _ store.Store = (*Store)(nil)

var keyspaceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// Open connects, applies the schema migrations (safe to run again and from
// several processes at once) and returns the store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts, cons, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("store: cassandra: %w", err)
	}
	cluster := gocql.NewCluster(opts.Hosts...)
	cluster.ProtoVersion = 4
	cluster.Consistency = cons
	cluster.Timeout = opts.Timeout
	cluster.ConnectTimeout = opts.Timeout
	cluster.WriteTimeout = opts.Timeout
	// Every statement the store runs is idempotent (fixed values and client
	// timestamps), so a timed-out or overloaded request is simply retried.
	cluster.RetryPolicy = &gocql.ExponentialBackoffRetryPolicy{NumRetries: 4, Min: 50 * time.Millisecond, Max: 2 * time.Second}
	fallback := gocql.RoundRobinHostPolicy()
	if opts.LocalDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(opts.LocalDC)
	}
	cluster.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(fallback)
	if opts.Username != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: opts.Username, Password: opts.Password}
	}
	if opts.TLS != nil {
		cluster.SslOpts = &gocql.SslOptions{Config: opts.TLS, EnableHostVerification: !opts.TLS.InsecureSkipVerify}
	}
	session, err := cluster.CreateSession()
	if err != nil {
		return nil, fmt.Errorf("store: cassandra: connect to %s: %w", strings.Join(opts.Hosts, ","), err)
	}
	s := &Store{session: session, opts: opts, cql: newKeyspaceCQL(opts.Keyspace), bucket: int64(opts.BucketSize / time.Second)}
	s.buckets.init(opts.TTL)
	if err := s.migrate(ctx); err != nil {
		session.Close()
		return nil, fmt.Errorf("store: cassandra: keyspace %s: %w", opts.Keyspace, err)
	}
	return s, nil
}

func (o Options) normalize() (Options, gocql.Consistency, error) {
	var errs []error
	if len(o.Hosts) == 0 {
		errs = append(errs, errors.New("no hosts"))
	}
	if o.Keyspace == "" {
		o.Keyspace = "eventrunner"
	}
	if !keyspaceName.MatchString(o.Keyspace) {
		errs = append(errs, fmt.Errorf("keyspace %q does not match %s", o.Keyspace, keyspaceName))
	}
	if o.Replication == "" {
		o.Replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
	}
	if o.Consistency == "" {
		o.Consistency = "LOCAL_QUORUM"
	}
	cons, err := gocql.ParseConsistencyWrapper(strings.ToUpper(o.Consistency))
	if err != nil {
		errs = append(errs, fmt.Errorf("consistency %q: %w", o.Consistency, err))
	}
	if o.TTL < 0 || o.TTL%time.Second != 0 || o.TTL > 20*365*24*time.Hour {
		errs = append(errs, fmt.Errorf("ttl %v: must be whole seconds between 0 and 20 years", o.TTL))
	}
	if o.BucketSize == 0 {
		o.BucketSize = time.Hour
	}
	if o.BucketSize < time.Minute || o.BucketSize%time.Second != 0 {
		errs = append(errs, fmt.Errorf("bucket size %v: must be whole seconds, at least a minute", o.BucketSize))
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, cons, errors.Join(errs...)
}

// ParseHosts splits a comma-separated host list, dropping blanks.
func ParseHosts(s string) []string {
	var hosts []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// Close waits for in-flight calls, then closes the session. Closing twice is
// a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.session.Close()
	}
	return nil
}

// enter admits a call unless the store is closed; the caller must s.mu.RUnlock.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

// timestamp returns a write timestamp (µs since the epoch) later than every
// earlier one of this store, even when the wall clock repeats or steps back.
func (s *Store) timestamp() int64 {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	now := time.Now().UnixMicro()
	if now <= s.clock {
		now = s.clock + 1
	}
	s.clock = now
	return now
}

// bucketOf is the list partition of an event time: whole bucket spans since
// the epoch, rounded down (also before 1970).
func (s *Store) bucketOf(t time.Time) int64 {
	sec := t.Unix()
	b := sec / s.bucket
	if sec%s.bucket < 0 {
		b--
	}
	return b
}

// bucketCache remembers the bucket index rows this store wrote, so that a
// Put writes a (tenant, scope, bucket) row once rather than once per record.
// With a TTL the rows are rewritten every refresh, and written with a TTL
// longer by that much, so that a bucket never expires before its events.
type bucketCache struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	refresh time.Duration // 0: never
	ttl     int           // seconds, for the index rows
}

const bucketCacheMax = 1 << 16

func (c *bucketCache) init(ttl time.Duration) {
	c.seen = make(map[string]time.Time)
	if ttl > 0 {
		c.refresh = max(ttl/4, time.Second)
		c.ttl = int((ttl + c.refresh + time.Minute) / time.Second)
	}
}

// need reports whether the row keyed k must be written now.
func (c *bucketCache) need(k string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.seen[k]
	return !ok || (c.refresh > 0 && now.Sub(at) >= c.refresh)
}

func (c *bucketCache) done(k string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= bucketCacheMax {
		clear(c.seen)
	}
	c.seen[k] = now
}

// ttlSeconds is the TTL bound to every event row (0: none).
func (s *Store) ttlSeconds() int { return int(s.opts.TTL / time.Second) }
