package wasm

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Authenticator maps an API key to its tenant (tenant.Registry is one).
type Authenticator interface {
	Authenticate(key string) (tenant.Tenant, error)
}

// API serves the WASM consumer endpoints: a tenant manages its own with its
// API key, an operator any tenant's with the admin key.
//
//	POST   /v1/wasm/consumers          deploy (DeployRequest) → 201 Info
//	GET    /v1/wasm/consumers          list → {"consumers": [Info…]}
//	GET    /v1/wasm/consumers/{name}   one → Info
//	DELETE /v1/wasm/consumers/{name}   remove → 204
//
// and the same under /admin/v1/tenants/{id}/wasm/consumers.
type API struct {
	Manager *Manager
	Auth    Authenticator
	Admin   *tenant.AdminHandler
}

// maxUpload bounds a deploy request (a Go guest is a few MB; base64 adds a third).
const maxUpload = 64 << 20

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, p := range []string{"/v1/wasm/consumers", "/admin/v1/tenants/{id}/wasm/consumers"} {
		mux.HandleFunc("POST "+p, a.tenant(a.deploy))
		mux.HandleFunc("GET "+p, a.tenant(a.list))
		mux.HandleFunc("GET "+p+"/{name}", a.tenant(a.get))
		mux.HandleFunc("DELETE "+p+"/{name}", a.tenant(a.remove))
	}
}

// tenant resolves the tenant of a request: the API key's, or, on the admin
// routes with the admin key, the one in the path.
func (a *API) tenant(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id := r.PathValue("id"); id != "" {
			if a.Admin == nil || !a.Admin.IsAdmin(r) {
				tenant.WriteError(w, http.StatusUnauthorized, "missing or wrong admin key")
				return
			}
			if _, ok := a.Manager.Tenants.Get(id); !ok {
				tenant.WriteError(w, http.StatusNotFound, "no tenant "+id)
				return
			}
			next(w, r, id)
			return
		}
		t, err := a.Auth.Authenticate(tenant.APIKey(r))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
			tenant.WriteError(w, http.StatusUnauthorized, "missing or unknown API key")
			return
		}
		next(w, r, t.ID)
	}
}

func (a *API) deploy(w http.ResponseWriter, r *http.Request, tenantID string) {
	var req DeployRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		tenant.WriteError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	info, err := a.Manager.Deploy(r.Context(), tenantID, req)
	if err != nil {
		writeErr(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusCreated, info)
}

func (a *API) list(w http.ResponseWriter, r *http.Request, tenantID string) {
	tenant.WriteJSON(w, http.StatusOK, map[string]any{"consumers": a.Manager.List(tenantID)})
}

func (a *API) get(w http.ResponseWriter, r *http.Request, tenantID string) {
	info, err := a.Manager.Get(tenantID, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusOK, info)
}

func (a *API) remove(w http.ResponseWriter, r *http.Request, tenantID string) {
	if err := a.Manager.Remove(r.Context(), tenantID, r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeErr maps deploy errors to statuses: a bad signature is 403, a module
// that breaks the ABI or the limits 422.
func writeErr(w http.ResponseWriter, err error) {
	var se *SignatureError
	var ge *GuestError
	switch {
	case errors.As(err, &se):
		tenant.WriteError(w, http.StatusForbidden, err.Error())
	case errors.As(err, &ge):
		tenant.WriteError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, ErrNotDeployed), errors.Is(err, tenant.ErrNotFound):
		tenant.WriteError(w, http.StatusNotFound, err.Error())
	default:
		tenant.WriteError(w, http.StatusInternalServerError, err.Error())
	}
}
