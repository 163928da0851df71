package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/eventrunner/eventrunner/runtime/app"
)

// addStorageFlags adds serve's Cassandra and ClickHouse flags (see
// docs/storage.md). Like every flag they can come from the environment
// (EVENTRUNNER_CASSANDRA_HOSTS, EVENTRUNNER_CLICKHOUSE_DSN, …) or the YAML file.
func addStorageFlags(f *pflag.FlagSet, cfg *app.Config) {
	c := &cfg.Cassandra
	f.StringVar(&c.Hosts, "cassandra-hosts", "", "store events in Cassandra/ScyllaDB at these comma-separated host[:port]s instead of the embedded Pebble store")
	f.StringVar(&c.Keyspace, "cassandra-keyspace", "eventrunner", "Cassandra keyspace (created with one replica when absent; create it yourself for production)")
	f.StringVar(&c.Username, "cassandra-username", "", "Cassandra user (PasswordAuthenticator)")
	f.StringVar(&c.Password, "cassandra-password", "", "Cassandra password")
	f.BoolVar(&c.TLS, "cassandra-tls", false, "connect to Cassandra over TLS, verifying its certificate against the system roots")
	f.StringVar(&c.Consistency, "cassandra-consistency", "LOCAL_QUORUM", "consistency level of Cassandra reads and writes (ONE, LOCAL_QUORUM, QUORUM, …)")
	f.DurationVar(&c.TTL, "cassandra-ttl", 0, "expire stored events this long after their last write (whole seconds; 0 keeps them)")
	f.DurationVar(&c.BucketSize, "cassandra-bucket", time.Hour, "time span of one Cassandra list partition; fixed when the keyspace is created")
	f.StringVar(&c.LocalDC, "cassandra-local-dc", "", "keep Cassandra queries in this datacenter (token-aware, DC-aware routing)")
	f.StringVar(&cfg.ClickHouseDSN, "clickhouse-dsn", "", "feed processed events to ClickHouse (clickhouse://user:password@host:9000/database) and serve GET /v1/stats/counts")
}
