package main

import (
	"github.com/spf13/pflag"

	"github.com/eventrunner/eventrunner/runtime/app"
)

// addNATSFlags adds serve's NATS flags: the embedded server's, or how to
// reach and authenticate to an external cluster, and how to replicate what
// eventrunner creates there (see docs/deploy.md). Like every flag they can
// come from the environment (EVENTRUNNER_NATS_URL, EVENTRUNNER_NATS_CREDS, …)
// or the YAML file.
func addNATSFlags(f *pflag.FlagSet, cfg *app.Config) {
	addNATSClientFlags(f, cfg)
	f.StringVar(&cfg.NATSListen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server (port 0 picks one)")
	f.BoolVar(&cfg.NATSSyncAlways, "nats-sync-always", false, "fsync every JetStream write on the embedded server (survives machine crashes, much slower)")
}

// addNATSClientFlags adds the flags for an external NATS: where it is, how
// to authenticate, how to replicate (serve and bench share them).
func addNATSClientFlags(f *pflag.FlagSet, cfg *app.Config) {
	n := &cfg.NATS
	f.StringSliceVar(&n.URLs, "nats-url", nil, "external NATS servers, comma-separated (JetStream enabled; a cluster learns the rest); empty starts an embedded one")
	f.StringVar(&cfg.NATSOperatorKey, "nats-operator-key", "", "operator seed file (from eventrunner nats init): with --nats-url, tenants get NATS accounts of their own there and eventrunner derives its credentials")
	f.StringVar(&n.CredsFile, "nats-creds", "", "user credentials file (JWT + nkey seed) for the external NATS")
	f.StringVar(&n.NKeyFile, "nats-nkey", "", "user nkey seed file for the external NATS")
	f.StringVar(&n.User, "nats-user", "", "user name for the external NATS (with --nats-password)")
	f.StringVar(&n.Password, "nats-password", "", "password of --nats-user")
	f.StringVar(&n.Token, "nats-token", "", "authentication token for the external NATS")
	f.StringVar(&n.TLSCA, "nats-tls-ca", "", "CA certificates (PEM) that signed the NATS servers' certificates")
	f.StringVar(&n.TLSCert, "nats-tls-cert", "", "client certificate (PEM) for mutual TLS, with --nats-tls-key")
	f.StringVar(&n.TLSKey, "nats-tls-key", "", "private key (PEM) of --nats-tls-cert")
	f.DurationVar(&n.ConnectTimeout, "nats-connect-timeout", 0, "dial timeout per NATS server (default 2s)")
	f.DurationVar(&n.ReconnectWait, "nats-reconnect-wait", 0, "pause between reconnect attempts to one server; reconnects never give up (default 250ms)")
	f.IntVar(&n.ReconnectBufBytes, "nats-reconnect-buffer", 0, "bytes of publishes buffered while reconnecting (default 64 MiB)")
	f.IntVar(&cfg.NATSReplication.Replicas, "nats-replicas", 1, "replicas of every stream, KV bucket and object store eventrunner creates (3 is typical on a cluster); changed in place on existing ones")
	f.StringSliceVar(&cfg.NATSReplication.Tags, "nats-placement-tags", nil, "place replicas only on NATS servers with all these server_tags")
}
