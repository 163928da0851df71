package app

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eventrunner/eventrunner/runtime/dlq"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/query"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/wasm"
)

// routes is the HTTP API: ingest, dead letters, query and the schemas under
// /v1, the operational endpoints and the web console (console.go).
func (a *App) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	in := ingest.NewHandler(ingest.Config{
		Auth:    a.tenants,
		Accept:  &ingest.ProcAcceptor{Acceptor: a.acceptor},
		Limits:  ingest.Limits{MaxEventBytes: a.cfg.MaxEventBytes},
		Metrics: ingest.NewMetrics(a.metrics),
		Limiter: a.tn.limiter,
	})
	admin := tenant.NewAdminHandler(a.tn.manager, a.cfg.AdminKey)
	if a.cfg.Roles.Has(RoleIngest) {
		mux.Handle("POST /v1/events", in)
		(&dlq.Handler{DLQ: a.dlq, Auth: a.tenants, Admin: admin}).Register(mux) // GET/POST /v1/dlq…
	}
	if a.cfg.Roles.Has(RoleQuery) {
		(&query.Handler{Store: a.store, Auth: a.tenants, SchemaBase: a.schemaBase}).Register(mux)
	}
	a.schemas.register(mux) // GET /v1/schemas… on every role, no API key (schemas.go)
	if a.cfg.Roles.Has(RoleAnalytics) {
		a.registerStats(mux) // GET /v1/stats/counts (storage.go)
	}
	if a.tn.keys != nil {
		admin.Creds = a.tenantCreds
	}
	admin.Register(mux)
	if a.wasm.mgr != nil { // the wasm role
		(&wasm.API{Manager: a.wasm.mgr, Auth: a.tenants, Admin: admin}).Register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{Registry: a.metrics}))
	return a.withConsole(mux, problemFallback(mux)) // httpserver.go
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
