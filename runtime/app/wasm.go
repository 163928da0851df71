package app

import (
	"context"
	"path/filepath"

	"github.com/eventrunner/eventrunner/runtime/wasm"
)

// wasmState is the WASM consumer host: deployments under
// <data-dir>/wasm/modules, the compilation cache under <data-dir>/wasm/cache.
type wasmState struct {
	host *wasm.Host
	mgr  *wasm.Manager
}

// startWASM restarts the stored WASM consumers on their own NATS
// connection; they stop when ctx (the pipeline's) is cancelled.
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
	a.wasm = wasmState{host: host, mgr: &wasm.Manager{Dir: filepath.Join(dir, "modules"), Host: host, JS: js, Tenants: a.tenants,
		Metrics: wasm.NewMetrics(a.metrics), Log: a.log.With("component", "wasm")}}
	if err := a.wasm.mgr.Start(ctx); err != nil {
		return err
	}
	a.goWork("wasm", func(ctx context.Context) error {
		<-ctx.Done()
		a.wasm.mgr.Close(context.Background())
		return host.Close(context.Background())
	}, ctx)
	return nil
}

// stopTenantWASM removes a deleted tenant's consumers.
func (a *App) stopTenantWASM(id string) {
	if a.wasm.mgr != nil {
		a.wasm.mgr.RemoveTenant(context.Background(), id)
	}
}
