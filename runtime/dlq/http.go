package dlq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Authenticator maps an API key to its tenant (tenant.Registry is one).
type Authenticator interface {
	Authenticate(key string) (tenant.Tenant, error)
}

// Admin recognises the admin key (tenant.AdminHandler is one).
type Admin interface {
	IsAdmin(r *http.Request) bool
}

// Handler serves a tenant's dead letters:
//
//	GET  /v1/dlq?kind=&type=&id=&source=&since=&until=&redriven=&limit=&after=  → Page
//	GET  /v1/dlq/{seq}                                                       → DeadLetter
//	POST /v1/dlq/redrive  Selection                                          → Report
//	POST /v1/dlq/purge    Selection                                          → {"purged": N}
//
// The tenant is the API key's (Authorization: Bearer, or X-API-Key); the
// admin key acts for the tenant named by ?tenant=. Another tenant's dead
// letter is answered 404, as one that does not exist. Errors are problem+json.
type Handler struct {
	DLQ   *DLQ
	Auth  Authenticator
	Admin Admin // nil: no admin access
}

// Default and maximum page sizes of GET /v1/dlq.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// maxBody bounds a redrive or purge request.
const maxBody = 1 << 20

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/dlq", h.tenant(h.list))
	mux.HandleFunc("GET /v1/dlq/{seq}", h.tenant(h.get))
	mux.HandleFunc("POST /v1/dlq/redrive", h.tenant(h.redrive))
	mux.HandleFunc("POST /v1/dlq/purge", h.tenant(h.purge))
}

// tenant resolves the request's tenant before next runs.
func (h *Handler) tenant(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		named := r.URL.Query().Get("tenant")
		if named != "" && h.Admin != nil && h.Admin.IsAdmin(r) {
			if err := bus.CheckTenant(named); err != nil {
				problem.Write(w, problem.New(http.StatusBadRequest, "tenant", err.Error()))
				return
			}
			next(w, r, named)
			return
		}
		t, err := h.Auth.Authenticate(tenant.APIKey(r))
		switch {
		case err != nil && h.Admin != nil && h.Admin.IsAdmin(r):
			problem.Write(w, problem.New(http.StatusBadRequest, "tenant", "the admin key acts for a tenant: name it with ?tenant=ID"))
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
			problem.Write(w, problem.New(http.StatusUnauthorized, "Authorization", "missing or unknown API key"))
		case named != "" && named != t.ID:
			problem.Write(w, problem.New(http.StatusForbidden, "tenant", fmt.Sprintf("the API key belongs to tenant %q; only the admin key acts for another", t.ID)))
		default:
			next(w, r, t.ID)
		}
	}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, tenantID string) {
	q := r.URL.Query()
	f, p := filterOf(q)
	if p != nil {
		problem.Write(w, p)
		return
	}
	limit, after := DefaultLimit, uint64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			problem.Write(w, problem.New(http.StatusBadRequest, "limit", fmt.Sprintf("want 1 to %d, got %q", MaxLimit, v)))
			return
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			problem.Write(w, problem.New(http.StatusBadRequest, "after", fmt.Sprintf("want a dead letter's seq, got %q", v)))
			return
		}
		after = n
	}
	page, err := h.DLQ.List(r.Context(), tenantID, f, after, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusOK, page)
}

// filterOf reads a Filter from query parameters.
func filterOf(q url.Values) (Filter, *problem.Problem) {
	f := Filter{Kind: q.Get("kind"), Type: q.Get("type"), ID: q.Get("id"), Source: q.Get("source")}
	for _, t := range []struct {
		name string
		into *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, problem.New(http.StatusBadRequest, t.name, fmt.Sprintf("want an RFC 3339 time (2026-12-01T09:00:00Z), got %q", v))
			}
			*t.into = tm
		}
	}
	if v := q.Get("redriven"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, problem.New(http.StatusBadRequest, "redriven", fmt.Sprintf("want true or false, got %q", v))
		}
		f.Redriven = &b
	}
	return f, nil
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, tenantID string) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		problem.Write(w, problem.New(http.StatusNotFound, "seq", fmt.Sprintf("no dead letter %q for this tenant", r.PathValue("seq"))))
		return
	}
	dl, err := h.DLQ.Get(r.Context(), tenantID, seq)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusOK, dl)
}

func (h *Handler) redrive(w http.ResponseWriter, r *http.Request, tenantID string) {
	sel, ok := selection(w, r)
	if !ok {
		return
	}
	rep, err := h.DLQ.Redrive(r.Context(), tenantID, sel)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusOK, rep)
}

func (h *Handler) purge(w http.ResponseWriter, r *http.Request, tenantID string) {
	sel, ok := selection(w, r)
	if !ok {
		return
	}
	n, err := h.DLQ.Purge(r.Context(), tenantID, sel)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant.WriteJSON(w, http.StatusOK, map[string]int{"purged": n})
}

// selection decodes and checks a request's Selection.
func selection(w http.ResponseWriter, r *http.Request) (Selection, bool) {
	var sel Selection
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sel); err != nil {
		problem.Write(w, problem.New(http.StatusBadRequest, "body", "want a JSON selection: "+err.Error()))
		return sel, false
	}
	if err := sel.Check(); err != nil {
		problem.Write(w, problem.New(http.StatusBadRequest, "body", err.Error()))
		return sel, false
	}
	return sel, true
}

// writeError answers err: 404 for another tenant's or a missing dead
// letter, 503 when NATS could not be reached or a publish failed (nothing
// was refused: repeating the request is safe), 500 otherwise.
func writeError(w http.ResponseWriter, err error) {
	var limited *RateLimitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.RetryAfter.Seconds()))))
		problem.Write(w, problem.New(http.StatusTooManyRequests, "", err.Error()))
	case errors.Is(err, ErrNotFound):
		problem.Write(w, problem.New(http.StatusNotFound, "seq", err.Error()+" for this tenant"))
	case errors.Is(err, ErrPublish), errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting):
		problem.Write(w, problem.New(http.StatusServiceUnavailable, "", err.Error()+"; repeating the request is safe"))
	default:
		problem.Write(w, problem.New(http.StatusInternalServerError, "", err.Error()))
	}
}
