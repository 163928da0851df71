package grpcingest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Authenticator maps an API key to its tenant (tenant.Registry is one).
type Authenticator interface {
	Authenticate(key string) (tenant.Tenant, error)
}

// Acceptor validates events of one tenant and stores the valid ones
// durably, one outcome per event: nil once stored, a *accept.Error when the
// event is refused, another error when it could not be stored (the runner's
// Acceptor is one).
type Acceptor interface {
	Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error
}

// Limiter charges n events to a tenant; when it refuses, retryAfter says
// when to come back (the HTTP API's tenant limiter fits).
type Limiter interface {
	Allow(t tenant.Tenant, n int) (retryAfter time.Duration, ok bool)
}

// Config wires a Server.
type Config struct {
	Auth     Authenticator
	Accept   Acceptor
	Registry *rules.Registry
	// Limiter, when set, rate-limits tenants (RESOURCE_EXHAUSTED).
	Limiter Limiter
	// Metrics is optional.
	Metrics *Metrics
	// Typed registers the generated typed services (typedpb.RegisterServices);
	// nil serves the generic service only.
	Typed func(grpc.ServiceRegistrar, rules.TypedSink)
	// MaxMessageBytes bounds one received message (default 16 MiB): a
	// CloudEventBatch, a typed event or one event of a stream; larger ones
	// get RESOURCE_EXHAUSTED.
	MaxMessageBytes int
	// MaxEventBytes bounds the data of one event (default 1 MiB; a
	// tenant's max_event_kb overrides it).
	MaxEventBytes int
	// MaxBatch bounds the events of one Publish (default 1000).
	MaxBatch int
	// Timeout bounds how long one call (or one batch of a stream) waits for
	// durable storage, whatever the client's deadline (default 10s).
	Timeout time.Duration
	// MaxStreamBytes bounds what one stream holds: events received and not
	// yet acknowledged (default 32 MiB). A stream at the bound stops
	// receiving until acks go out, so HTTP/2 flow control holds a producer
	// that sends without reading its acks.
	MaxStreamBytes int
	// MaxStreams bounds the concurrent streams of one connection
	// (default 100), so that one connection holds at most MaxStreams ×
	// MaxStreamBytes.
	MaxStreams uint32
}

func (c Config) withDefaults() Config {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 16 << 20
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = 1 << 20
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxStreamBytes <= 0 {
		c.MaxStreamBytes = 32 << 20
	}
	if c.MaxStreams == 0 {
		c.MaxStreams = 100
	}
	return c
}

// Server is the gRPC ingest server.
type Server struct {
	cfg    Config
	grpc   *grpc.Server
	health *health.Server
	// draining is closed by GracefulStop: ingest streams then ack what they
	// hold and end, so that shutdown does not wait for producers.
	draining chan struct{}
	stopOnce sync.Once
	// held is what all streams hold now, in bytes (see budget).
	held atomic.Int64
}

// New builds the server and registers the generic service, the typed
// services, the standard health service and server reflection.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, health: health.NewServer(), draining: make(chan struct{})}
	s.grpc = grpc.NewServer(
		grpc.ForceServerCodecV2(Codec{}),
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes),
		grpc.MaxConcurrentStreams(cfg.MaxStreams),
		grpc.ChainUnaryInterceptor(s.authUnary),
		grpc.ChainStreamInterceptor(s.authStream),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	cepb.RegisterCloudEventIngestServer(s.grpc, &generic{s: s})
	if cfg.Typed != nil {
		cfg.Typed(s.grpc, &typedSink{s: s})
	}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve serves on ln until Stop or GracefulStop.
func (s *Server) Serve(ln net.Listener) error {
	err := s.grpc.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// GracefulStop reports NOT_SERVING, ends the ingest streams after their
// current batch, and waits for the calls in flight (each waits for its
// PubAcks) for at most half of what is left of ctx (other streams, such as
// reflection, are cut then), leaving the rest to the pipeline's drain.
func (s *Server) GracefulStop(ctx context.Context) {
	s.stopOnce.Do(func() { close(s.draining) })
	s.health.Shutdown()
	wait := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)/2)
	}
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		s.grpc.Stop()
		<-done
	}
}

// Services lists the registered service names (for logs and tests).
func (s *Server) Services() []string {
	var out []string
	for name := range s.grpc.GetServiceInfo() {
		out = append(out, name)
	}
	return out
}

type tenantKey struct{}

// tenantOf returns the tenant the auth interceptor put in ctx.
func tenantOf(ctx context.Context) tenant.Tenant {
	t, _ := ctx.Value(tenantKey{}).(tenant.Tenant)
	return t
}

// open are the methods served without an API key.
func open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if open(info.FullMethod) {
		return h(ctx, req)
	}
	ctx, err := s.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if open(info.FullMethod) {
		return h(srv, ss)
	}
	ctx, err := s.authenticate(ss.Context())
	if err != nil {
		return err
	}
	return h(srv, &authedStream{ServerStream: ss, ctx: ctx})
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// authenticate finds the tenant of the call's API key: metadata
// "authorization: Bearer <key>" or "x-api-key: <key>".
func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	t, err := s.cfg.Auth.Authenticate(APIKey(ctx))
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "missing or unknown API key: send metadata \"authorization: Bearer <key>\" or \"x-api-key: <key>\"")
	}
	return context.WithValue(ctx, tenantKey{}, t), nil
}

// APIKey returns the API key in the call's metadata.
func APIKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	if v := md.Get("x-api-key"); len(v) > 0 {
		return v[0]
	}
	return ""
}
