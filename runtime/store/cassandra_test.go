package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/storetest"
)

// cassandraHosts returns the Cassandra to test against, from
// EVENTRUNNER_CASSANDRA_HOSTS (.ci/run and `make services` start one). The
// tests skip when it is unset, unless EVENTRUNNER_REQUIRE_SERVICES=1 (CI),
// where a missing server is a failure.
func cassandraHosts(tb testing.TB) []string {
	tb.Helper()
	hosts := store.ParseCassandraHosts(os.Getenv("EVENTRUNNER_CASSANDRA_HOSTS"))
	if len(hosts) == 0 {
		if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
			tb.Fatal("EVENTRUNNER_CASSANDRA_HOSTS is unset but EVENTRUNNER_REQUIRE_SERVICES=1: .ci/cassandra.sh did not start Cassandra")
		}
		tb.Skip("skipping: EVENTRUNNER_CASSANDRA_HOSTS is unset (start one with `make services`)")
	}
	return hosts
}

// testKeyspace is this test process's keyspace, so that concurrent test
// binaries (store, analytics, e2e) never truncate each other's tables.
var testKeyspace = fmt.Sprintf("storetest_%d", os.Getpid())

func cassandraOptions(hosts []string) store.CassandraOptions {
	return store.CassandraOptions{Hosts: hosts, Keyspace: testKeyspace, Consistency: "ONE", BucketSize: time.Hour}
}

// openCassandra opens the test keyspace, empties it, and closes the store
// (then drops the keyspace once per run, in TestMain) when the test ends.
func openCassandra(t testing.TB, opts store.CassandraOptions) *store.Cassandra {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.OpenCassandra(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	usedKeyspaces[opts.Keyspace] = opts
	if err := store.TruncateCassandra(ctx, s); err != nil {
		s.Close()
		t.Fatalf("truncate: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var usedKeyspaces = map[string]store.CassandraOptions{}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, opts := range usedKeyspaces {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if s, err := store.OpenCassandra(ctx, opts); err == nil {
			if err := store.DropCassandraKeyspace(ctx, s); err != nil {
				fmt.Fprintf(os.Stderr, "drop keyspace %s: %v\n", opts.Keyspace, err)
			}
			s.Close()
		}
		cancel()
	}
	os.Exit(code)
}

// TestCassandraContract runs the store contract against a real Cassandra.
func TestCassandraContract(t *testing.T) {
	hosts := cassandraHosts(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openCassandra(t, cassandraOptions(hosts)) })
}

// TestCassandraSmallBuckets runs the contract again with minute buckets, so
// that lists cross many partitions and the bucket index.
func TestCassandraSmallBuckets(t *testing.T) {
	hosts := cassandraHosts(t)
	if testing.Short() {
		t.Skip("the hourly run covers the semantics")
	}
	opts := cassandraOptions(hosts)
	opts.Keyspace += "_min"
	opts.BucketSize = time.Minute
	storetest.Run(t, func(t *testing.T) store.Store { return openCassandra(t, opts) })
}

// TestCassandraReopen checks that migrations re-run cleanly, that data
// survives a new session, that a keyspace refuses another bucket size and
// that calls after Close fail with ErrClosed.
func TestCassandraReopen(t *testing.T) {
	hosts := cassandraHosts(t)
	ctx := context.Background()
	s := openCassandra(t, cassandraOptions(hosts))
	r := store.Record{Tenant: "acme", ID: "a", Type: "t.one", Time: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC), Event: []byte(`{"id":"a"}`)}
	if err := s.Put(ctx, []store.Record{r}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, "acme", "a")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := store.OpenCassandra(ctx, cassandraOptions(hosts))
	if err != nil {
		t.Fatalf("second open (migrations again): %v", err)
	}
	got, err := s2.Get(ctx, "acme", "a")
	if err != nil || !got.StoredAt.Equal(stored.StoredAt) || string(got.Event) != `{"id":"a"}` {
		t.Errorf("through a second session: %+v, %v", got, err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := s2.Get(ctx, "acme", "a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s2.Put(ctx, []store.Record{r}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s2.List(ctx, store.Query{Tenant: "acme"}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}

	other := cassandraOptions(hosts)
	other.BucketSize = 2 * time.Hour
	if s3, err := store.OpenCassandra(ctx, other); err == nil || !strings.Contains(err.Error(), "bucket size") {
		if s3 != nil {
			s3.Close()
		}
		t.Errorf("open with another bucket size: %v, want a bucket size error", err)
	}
}

// TestCassandraTTL checks that rows expire with the configured TTL.
func TestCassandraTTL(t *testing.T) {
	hosts := cassandraHosts(t)
	opts := cassandraOptions(hosts)
	opts.TTL = 2 * time.Second
	s := openCassandra(t, opts)
	ctx := context.Background()
	r := store.Record{Tenant: "acme", ID: "short-lived", Type: "t.one", Time: time.Now(), Event: []byte(`{}`)}
	if err := s.Put(ctx, []store.Record{r}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "acme", r.ID); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Get(ctx, "acme", r.ID)
		p, lerr := s.List(ctx, store.Query{Tenant: "acme"})
		if lerr != nil {
			t.Fatal(lerr)
		}
		if errors.Is(err, store.ErrNotFound) && len(p.Records) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there 30 s after a 2 s TTL: Get = %v, List = %d records", err, len(p.Records))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestCassandraOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts store.CassandraOptions
		want string
	}{
		{"no hosts", store.CassandraOptions{}, "no hosts"},
		{"keyspace", store.CassandraOptions{Hosts: []string{"h"}, Keyspace: "Bad-Name"}, "keyspace"},
		{"consistency", store.CassandraOptions{Hosts: []string{"h"}, Consistency: "MOST"}, "consistency"},
		{"ttl", store.CassandraOptions{Hosts: []string{"h"}, TTL: 1500 * time.Millisecond}, "ttl"},
		{"bucket", store.CassandraOptions{Hosts: []string{"h"}, BucketSize: time.Second}, "bucket size"},
	} {
		_, err := store.OpenCassandra(context.Background(), c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: OpenCassandra = %v, want an error about %s", c.name, err, c.want)
		}
	}
	if got := store.ParseCassandraHosts(" a:9042, ,b "); len(got) != 2 || got[0] != "a:9042" || got[1] != "b" {
		t.Errorf("ParseCassandraHosts = %q", got)
	}
}

// TestCassandraInterruptedPut fails Puts after each write step, as a crash
// there would, and checks that repeating the Put (what a redelivery does)
// leaves the record exactly once, at its new place, in every index.
func TestCassandraInterruptedPut(t *testing.T) {
	hosts := cassandraHosts(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, step := range []string{"bucket index", "list rows", "old list rows", "id rows"} {
		t.Run(step, func(t *testing.T) {
			s := openCassandra(t, cassandraOptions(hosts))
			v1 := store.Record{Tenant: "acme", ID: "r", Type: "t.one", Time: at, Event: []byte(`{"v":1}`)}
			v2 := store.Record{Tenant: "acme", ID: "r", Type: "t.two", Time: at.Add(3 * time.Hour), Event: []byte(`{"v":2}`)}
			if err := s.Put(ctx, []store.Record{v1}); err != nil {
				t.Fatal(err)
			}
			store.FailCassandraPutAfter(s, step)
			if err := s.Put(ctx, []store.Record{v2}); err == nil {
				t.Fatal("the injected failure did not fail the Put")
			}
			store.FailCassandraPutAfter(s, "")
			if err := s.Put(ctx, []store.Record{v2}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, "acme", "r")
			if err != nil || string(got.Event) != `{"v":2}` {
				t.Fatalf("Get after the repeat: %s, %v", got.Event, err)
			}
			for _, q := range []store.Query{{Tenant: "acme"}, {Tenant: "acme", Type: "t.two"}, {Tenant: "acme", Type: "t.one"}} {
				p, err := s.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := 1
				if q.Type == "t.one" {
					want = 0
				}
				if len(p.Records) != want || (want == 1 && string(p.Records[0].Event) != `{"v":2}`) {
					t.Errorf("List(type %q) after the repeat: %d records, want %d of v2", q.Type, len(p.Records), want)
				}
			}
		})
	}
}
