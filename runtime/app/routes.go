package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/query"
	"github.com/eventrunner/eventrunner/runtime/runner"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/wasm"
)

// routes is the HTTP API: ingest and query under /v1, and the operational
// endpoints.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	in := ingest.NewHandler(ingest.Config{
		Auth:    a.tenants,
		Accept:  &ingest.ProcAcceptor{Acceptor: runner.Acceptor{Normalizer: a.runner.Normalizer(), Publisher: a.pub}},
		Limits:  ingest.Limits{MaxEventBytes: a.cfg.MaxEventBytes},
		Metrics: ingest.NewMetrics(a.metrics),
		Limiter: a.tn.limiter,
	})
	mux.Handle("POST /v1/events", in)
	(&query.Handler{Store: a.store, Auth: a.tenants}).Register(mux)
	a.registerStats(mux) // GET /v1/stats/counts (storage.go)
	admin := tenant.NewAdminHandler(a.tn.manager, a.cfg.AdminKey)
	admin.Register(mux)
	(&wasm.API{Manager: a.wasm.mgr, Auth: a.tenants, Admin: admin}).Register(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}))
	return mux
}

// readyz answers 200 when the engine accepts events: started, not
// shutting down, NATS connected and JetStream answering.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ready := a.ready
	a.mu.Unlock()
	checks := map[string]string{"started": "ok", "nats": "ok", "jetstream": "ok"}
	status := http.StatusOK
	if !ready {
		checks["started"], status = "no", http.StatusServiceUnavailable
	}
	if !a.nc.IsConnected() {
		checks["nats"], status = a.nc.Status().String(), http.StatusServiceUnavailable
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := a.js.AccountInfo(ctx); err != nil {
		checks["jetstream"], status = err.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
