package app

import (
	"context"
	"net"

	"google.golang.org/grpc"

	"github.com/eventrunner/eventrunner/runtime/grpcingest"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// TypedServices registers the typed gRPC services generated from the
// schemas (typedpb.RegisterServices); runtime/ cannot import them itself.
type TypedServices = func(grpc.ServiceRegistrar, rules.TypedSink)

// grpcServing is the gRPC listener of a running App.
type grpcServing struct {
	srv *grpcingest.Server
	ln  net.Listener
}

// startGRPC serves gRPC ingest on GRPCAddr (nothing when it is empty): the
// generic CloudEvents service, the typed services, health and reflection,
// all publishing through the same Acceptor as HTTP ingest.
func (a *App) startGRPC(context.Context) error {
	if a.cfg.GRPCAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.GRPCAddr)
	if err != nil {
		return err
	}
	srv := grpcingest.New(grpcingest.Config{
		Auth:          a.tenants,
		Accept:        a.acceptor,
		Registry:      a.reg,
		Limiter:       a.tn.limiter,
		Metrics:       grpcingest.NewMetrics(a.metrics),
		Typed:         a.cfg.TypedGRPC,
		MaxEventBytes: int(a.cfg.MaxEventBytes),
	})
	a.grpc = &grpcServing{srv: srv, ln: ln}
	go func() {
		if err := srv.Serve(ln); err != nil {
			a.log.Error("grpc server", "err", err)
		}
	}()
	return nil
}

// stopGRPC stops taking calls and waits for those in flight.
func (a *App) stopGRPC(ctx context.Context) {
	if a.grpc != nil {
		a.grpc.srv.GracefulStop(ctx)
	}
}

// GRPCAddr is the address gRPC ingest listens on, empty when disabled.
func (a *App) GRPCAddr() string {
	if a.grpc == nil {
		return ""
	}
	return a.grpc.ln.Addr().String()
}
