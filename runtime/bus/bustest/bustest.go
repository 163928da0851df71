// Package bustest starts a real embedded nats-server with JetStream for
// tests of the runtime packages: a random port, a t.TempDir() store, the
// eventrunner streams and the stream of tenant Tenant, all torn down by
// t.Cleanup. Only _test files import it.
package bustest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// Tenant is the tenant whose stream Start creates, the tenant of the tests;
// TenantStream is its stream, which holds every er.t.acme.> message.
const (
	Tenant       = "acme"
	TenantStream = "ER_T_" + Tenant
)

// Env is a running server with a client connection and the streams.
type Env struct {
	Server *bus.Server
	Conn   *nats.Conn
	JS     jetstream.JetStream
	Dir    string
}

// Start starts a server over TCP on a random loopback port, connects to it
// and ensures the streams. The TCP client (rather than the in-process one)
// exercises what a separate engine process would see.
func Start(tb testing.TB) *Env {
	tb.Helper()
	dir := tb.TempDir()
	srv, err := bus.StartEmbedded(bus.Options{DataDir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	env := &Env{Server: srv, Dir: dir}
	tb.Cleanup(srv.Shutdown)
	env.Conn, env.JS = env.Connect(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, env.JS, bus.StreamsConfig{}); err != nil {
		tb.Fatal(err)
	}
	env.EnsureTenant(tb, Tenant)
	return env
}

// Connect opens another client connection, closed by t.Cleanup before the
// server shuts down.
func (e *Env) Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := bus.Connect(e.Server.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := bus.NewJetStream(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// EnsureTenant creates the stream of tenant id in the server's one account
// (tenantnats.SharedStreams).
func (e *Env) EnsureTenant(tb testing.TB, id string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tenantnats.SharedStreams(e.JS, bus.Replication{}).Ensure(ctx, tenant.Tenant{ID: id}); err != nil {
		tb.Fatal(err)
	}
}

// Count returns the number of messages a stream holds (optionally only
// those on subject).
func (e *Env) Count(tb testing.TB, stream, subject string) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.JS.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	if subject == "" {
		info, err := s.Info(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		return info.State.Msgs
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		tb.Fatal(err)
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

// Messages returns the messages a stream holds (optionally only those on
// subject) without consuming them, once it holds at least want of them or
// the timeout has passed.
func (e *Env) Messages(tb testing.TB, stream, subject string, want int, timeout time.Duration) []*jetstream.RawStreamMsg {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for e.Count(tb, stream, subject) < uint64(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.JS.Stream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted (acked from a work queue)
		}
		if err != nil {
			tb.Fatal(err)
		}
		if subject == "" || subjectMatches(subject, m.Subject) {
			out = append(out, m)
		}
	}
	return out
}

// subjectMatches reports whether subject matches filter (NATS wildcards).
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

// ProcEvent is one event ER_PROC holds, alone or in an envelope.
type ProcEvent struct {
	Msg    *jetstream.RawStreamMsg // the message that carries it
	Part   int                     // its position in the envelope; 0 alone
	Schema string
	Data   []byte // the structured CloudEvent
}

// ProcEvents returns the events ER_PROC holds, envelopes unpacked, once
// there are at least want of them or the timeout has passed.
func (e *Env) ProcEvents(tb testing.TB, want int, timeout time.Duration) []ProcEvent {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out []ProcEvent
		for _, m := range e.Messages(tb, bus.StreamProc, "", 0, 0) {
			err := bus.EachEvent(m.Header, m.Data, func(part int, schemaID string, event []byte) error {
				out = append(out, ProcEvent{Msg: m, Part: part, Schema: schemaID, Data: event})
				return nil
			})
			if err != nil {
				tb.Fatalf("ER_PROC seq %d: %v", m.Sequence, err)
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartServer starts a plain nats-server with opts (as an operator would
// run one: its own auth, TLS or JetStream settings), quiet and without
// signal handlers, shut down by tb.Cleanup. Host and Port default to a
// random loopback port.
func StartServer(tb testing.TB, opts *natsserver.Options) *natsserver.Server {
	tb.Helper()
	o := *opts
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = -1
	}
	o.NoSigs, o.NoLog = true, true
	ns, err := natsserver.NewServer(&o)
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	return ns
}
