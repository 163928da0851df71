package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configures the embedded nats-server.
type Options struct {
	// DataDir holds the JetStream file store (DataDir/jetstream). Required.
	DataDir string
	// Host to listen on; default "127.0.0.1".
	Host string
	// Port to listen on; 0 picks a free port.
	Port int
	// ServerName names the server in logs and advisories; default
	// "eventrunner".
	ServerName string
	// SyncAlways fsyncs every write to the stream files. The default (sync
	// every SyncInterval) loses nothing when the process crashes, only when
	// the machine does; SyncAlways costs ~50x async publish throughput.
	SyncAlways bool
	// SyncInterval overrides the server's periodic fsync interval (2 min).
	SyncInterval time.Duration
	// MaxStore caps the JetStream file store in bytes; 0 lets the server
	// choose (a share of the free disk).
	MaxStore int64
	// MaxPayload caps one message in bytes; default 8 MiB so that HTTP
	// batches and large events fit.
	MaxPayload int32
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 10 s.
	ReadyTimeout time.Duration
	// Logger receives the server's log lines; nil discards them.
	Logger *slog.Logger
	// Operator, when set, runs the server in operator mode: every client
	// needs a user JWT of an account the operator issued (see
	// runtime/tenant/tenantnats); nil lets anyone in, into one account.
	Operator *OperatorMode
}

// OperatorMode is the embedded server's decentralised authentication: the
// operator it trusts and a full account resolver under DataDir/jwt, which
// takes account updates pushed over $SYS.REQ.CLAIMS.UPDATE.
type OperatorMode struct {
	OperatorJWT   string
	SystemAccount string // public key
	// Preload stores these account JWTs (public key → JWT) in the resolver
	// before the server starts, replacing what it held.
	Preload map[string]string
	// DefaultSentinel is the user JWT a client without one is given (the
	// auth callout's sentinel).
	DefaultSentinel string
}

func (m *OperatorMode) apply(o *server.Options, dataDir string) error {
	oc, err := jwt.DecodeOperatorClaims(m.OperatorJWT)
	if err != nil {
		return fmt.Errorf("bus: operator jwt: %w", err)
	}
	res, err := server.NewDirAccResolver(filepath.Join(dataDir, "jwt"), 0, 2*time.Minute, server.HardDelete)
	if err != nil {
		return fmt.Errorf("bus: account resolver: %w", err)
	}
	for pub, tok := range m.Preload {
		if err := res.Store(pub, tok); err != nil {
			return fmt.Errorf("bus: account resolver: preload %s: %w", pub, err)
		}
	}
	o.TrustedOperators = []*jwt.OperatorClaims{oc}
	o.SystemAccount = m.SystemAccount
	o.AccountResolver = res
	o.DefaultSentinel = m.DefaultSentinel
	return nil
}

// Server is an in-process nats-server with JetStream enabled.
type Server struct {
	ns *server.Server
}

// DefaultMaxPayload is the embedded server's message size limit.
const DefaultMaxPayload = 8 << 20

// StartEmbedded starts an in-process nats-server with JetStream file storage
// under opts.DataDir/jetstream and waits until it accepts connections.
func StartEmbedded(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("bus: embedded server: DataDir is required")
	}
	sopts := &server.Options{
		ServerName:        firstNonEmpty(opts.ServerName, "eventrunner"),
		Host:              firstNonEmpty(opts.Host, "127.0.0.1"),
		Port:              opts.Port,
		JetStream:         true,
		StoreDir:          filepath.Join(opts.DataDir, "jetstream"),
		JetStreamMaxStore: opts.MaxStore,
		SyncAlways:        opts.SyncAlways,
		SyncInterval:      opts.SyncInterval,
		MaxPayload:        opts.MaxPayload,
		NoSigs:            true,
		NoLog:             opts.Logger == nil,
	}
	if opts.Operator != nil {
		if err := opts.Operator.apply(sopts, opts.DataDir); err != nil {
			return nil, err
		}
	}
	if sopts.Port == 0 {
		sopts.Port = server.RANDOM_PORT // 0 would mean nats' default 4222
	}
	if sopts.MaxPayload == 0 {
		sopts.MaxPayload = DefaultMaxPayload
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(slogAdapter{opts.Logger}, false, false, false)
	}
	ns.Start()
	wait := opts.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, fmt.Errorf("bus: embedded server not ready after %s (store %s)", wait, sopts.StoreDir)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		return nil, fmt.Errorf("bus: embedded server started without JetStream (store %s)", sopts.StoreDir)
	}
	return &Server{ns: ns}, nil
}

// AccountsDir is where the embedded server with DataDir keeps each
// account's JetStream files (<AccountsDir>/<account>/streams/…): the
// server adds a "jetstream" directory of its own below its store dir.
func AccountsDir(dataDir string) string { return filepath.Join(dataDir, "jetstream", "jetstream") }

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:41234.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Connect opens a client connection that talks to the server in-process,
// without a TCP socket.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return Connect("", append([]nats.Option{nats.InProcessServer(s.ns)}, opts...)...)
}

// Shutdown stops the server after flushing the stores, and waits for it.
// Close client connections first so that their last acks are delivered.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// NATS exposes the underlying server (for monitoring and tests).
func (s *Server) NATS() *server.Server { return s.ns }

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// slogAdapter routes nats-server's logger to slog. The embedded server's
// notices are its start-up banner (JetStream's ASCII art among it) and its
// shutdown steps, which serve's own banner and logs replace: they go to
// debug. Its warnings and errors stay what they are.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
