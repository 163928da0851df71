package app

import (
	"context"
	"path/filepath"
	"sync/atomic"

	"github.com/eventrunner/eventrunner/runtime/wasm"
)

// wasmState is the WASM consumer host: deployments under
// <data-dir>/wasm/modules (the embedded NATS) or in JetStream, shared by
// every process (an external NATS); the compilation cache under
// <data-dir>/wasm/cache.
type wasmState struct {
	host *wasm.Host
	mgr  *wasm.Manager
	// started is mgr once started, for the tenant hooks, which a shared
	// registry's follower runs from its own goroutine.
	started atomic.Pointer[wasm.Manager]
}

// startWASM runs the stored WASM consumers on their own NATS connection;
// they stop when ctx (the pipeline's) is cancelled.
func (a *App) startWASM(ctx context.Context) error {
	dir := filepath.Join(a.cfg.DataDir, "wasm")
	host, err := wasm.NewHost(filepath.Join(dir, "cache"), a.log.With("component", "wasm"))
	if err != nil {
		return err
	}
	_, js, err := a.connect("eventrunner-wasm")
	if err != nil {
		return err
	}
	var store wasm.Store = &wasm.FileStore{Dir: filepath.Join(dir, "modules")}
	if a.cfg.NATS.External() {
		if store, err = wasm.OpenJetStreamStore(ctx, js, a.cfg.NATSReplication); err != nil {
			return err
		}
	}
	a.wasm.host = host
	a.wasm.mgr = &wasm.Manager{Store: store, Host: host, JS: js, Streams: a.tn.streams, Tenants: a.tenants,
		Metrics: wasm.NewMetrics(a.metrics), Log: a.log.With("component", "wasm")}
	if err := a.wasm.mgr.Start(ctx); err != nil {
		return err
	}
	a.wasm.started.Store(a.wasm.mgr)
	a.goWork("wasm", func(ctx context.Context) error {
		<-ctx.Done()
		a.wasm.mgr.Close(context.Background())
		return host.Close(context.Background())
	}, ctx)
	return nil
}

// stopTenantWASM removes a deleted tenant's consumers.
func (a *App) stopTenantWASM(id string) {
	if m := a.wasm.started.Load(); m != nil {
		m.RemoveTenant(context.Background(), id)
	}
}

// tenantWASMChanged runs a changed tenant's consumers this process could
// not run before (a deployment can arrive before its tenant) and stops
// those signed by a key the tenant withdrew.
func (a *App) tenantWASMChanged(id string) {
	if m := a.wasm.started.Load(); m != nil {
		m.TenantChanged(id)
	}
}
