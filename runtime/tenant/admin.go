package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/eventrunner/eventrunner/runtime/problem"
)

// AdminHandler serves the tenant admin API, guarded by one admin key:
//
//	GET    /admin/v1/tenants                  list (no secrets)
//	GET    /admin/v1/tenants.yaml             every stored tenant as a tenants file (key digests, no keys)
//	POST   /admin/v1/tenants                  create {id, limits…} → 201 + secrets, once
//	GET    /admin/v1/tenants/{id}             one tenant
//	PUT    /admin/v1/tenants/{id}             replace limits and signing keys
//	POST   /admin/v1/tenants/{id}/rotate-key  new API key (?keep_old=true keeps the old ones)
//	POST   /admin/v1/tenants/{id}/creds       a NATS .creds file of the tenant (?expires=720h)
//	DELETE /admin/v1/tenants/{id}             delete
//
// Errors are RFC 9457 problem+json bodies.
type AdminHandler struct {
	Manager *Manager
	// KeyHash is the SHA-256 of the admin key; empty disables the API.
	KeyHash [sha256.Size]byte
	Enabled bool
	// Creds issues a NATS creds file for a user of tenant id's account
	// (expires zero: never); nil when NATS is not run with eventrunner's
	// operator, and tenants have no NATS access.
	Creds func(id string, expires time.Time) ([]byte, error)
}

// NewAdminHandler guards m with adminKey; an empty key disables the API
// (every request gets 403).
func NewAdminHandler(m *Manager, adminKey string) *AdminHandler {
	return &AdminHandler{Manager: m, KeyHash: sha256.Sum256([]byte(adminKey)), Enabled: adminKey != ""}
}

// Register adds the routes to mux.
func (h *AdminHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/v1/tenants", h.guard(h.list))
	mux.HandleFunc("GET /admin/v1/tenants.yaml", h.guard(h.export))
	mux.HandleFunc("POST /admin/v1/tenants", h.guard(h.create))
	mux.HandleFunc("GET /admin/v1/tenants/{id}", h.guard(h.get))
	mux.HandleFunc("PUT /admin/v1/tenants/{id}", h.guard(h.update))
	mux.HandleFunc("POST /admin/v1/tenants/{id}/rotate-key", h.guard(h.rotate))
	mux.HandleFunc("POST /admin/v1/tenants/{id}/creds", h.guard(h.creds))
	mux.HandleFunc("DELETE /admin/v1/tenants/{id}", h.guard(h.delete))
}

// IsAdmin reports whether r carries the admin key (Authorization: Bearer or
// X-Admin-Key), compared in constant time.
func (h *AdminHandler) IsAdmin(r *http.Request) bool {
	if !h.Enabled {
		return false
	}
	key := AdminKey(r)
	sum := sha256.Sum256([]byte(key))
	return key != "" && subtle.ConstantTimeCompare(sum[:], h.KeyHash[:]) == 1
}

func (h *AdminHandler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !h.Enabled:
			WriteError(w, http.StatusForbidden, "the admin API is disabled: start serve with --admin-key")
		case !h.IsAdmin(r):
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner-admin"`)
			WriteError(w, http.StatusUnauthorized, "missing or wrong admin key")
		default:
			next(w, r)
		}
	}
}

func (h *AdminHandler) list(w http.ResponseWriter, r *http.Request) {
	ts := h.Manager.Registry.List()
	for i := range ts {
		ts[i].KeyHashes = nil
	}
	WriteJSON(w, http.StatusOK, map[string]any{"tenants": ts})
}

// export answers the stored tenants in the file format that serve's
// --tenants-file imports, key digests included so that the keys keep
// working there. It reads the store, not the registry: the embedded
// server's demo tenant lives in memory only, with a key of this run.
func (h *AdminHandler) export(w http.ResponseWriter, r *http.Request) {
	ts := h.Manager.Registry.List()
	if h.Manager.Store != nil {
		var err error
		if ts, err = h.Manager.Store.Load(); err != nil {
			WriteError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	b, err := Encode(ts)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (h *AdminHandler) get(w http.ResponseWriter, r *http.Request) {
	t, ok := h.Manager.Registry.Get(r.PathValue("id"))
	if !ok {
		WriteError(w, http.StatusNotFound, "no tenant "+r.PathValue("id"))
		return
	}
	t.KeyHashes = nil
	WriteJSON(w, http.StatusOK, t)
}

func (h *AdminHandler) create(w http.ResponseWriter, r *http.Request) {
	var t Tenant
	if !decode(w, r, &t) {
		return
	}
	t.KeyHashes = nil
	s, err := h.Manager.Create(t)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, s)
}

func (h *AdminHandler) update(w http.ResponseWriter, r *http.Request) {
	var t Tenant
	if !decode(w, r, &t) {
		return
	}
	t.ID = r.PathValue("id")
	t, err := h.Manager.Update(t)
	if err != nil {
		writeManagerError(w, err)
		return
	}
	t.KeyHashes = nil
	WriteJSON(w, http.StatusOK, t)
}

func (h *AdminHandler) rotate(w http.ResponseWriter, r *http.Request) {
	s, err := h.Manager.RotateKey(r.PathValue("id"), r.URL.Query().Get("keep_old") == "true")
	if err != nil {
		writeManagerError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, s)
}

func (h *AdminHandler) creds(w http.ResponseWriter, r *http.Request) {
	if h.Creds == nil {
		WriteError(w, http.StatusNotFound, "tenants have no NATS credentials: the NATS server is not run with eventrunner's operator (see docs/tenants.md)")
		return
	}
	id := r.PathValue("id")
	if _, ok := h.Manager.Registry.Get(id); !ok {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("tenant %s: %v", id, ErrNotFound))
		return
	}
	var expires time.Time
	if s := r.URL.Query().Get("expires"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("expires: want a positive duration such as 720h, got %q", s))
			return
		}
		expires = time.Now().Add(d)
	}
	b, err := h.Creds(id, expires)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (h *AdminHandler) delete(w http.ResponseWriter, r *http.Request) {
	if err := h.Manager.Delete(r.PathValue("id")); err != nil {
		writeManagerError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func writeManagerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrExists):
		WriteError(w, http.StatusConflict, err.Error())
	default:
		WriteError(w, http.StatusUnprocessableEntity, err.Error())
	}
}

// WriteError writes an RFC 9457 problem+json body (runtime/problem, the
// one problem type of every HTTP API).
func WriteError(w http.ResponseWriter, status int, detail string) {
	problem.Write(w, problem.New(status, "", detail))
}

// WriteJSON writes v as a JSON body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
