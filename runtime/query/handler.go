package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/store"
)

// Handler serves the query API.
type Handler struct {
	Store store.Store
	Auth  ingest.Authenticator
}

// Register adds the query routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/events/{id}", h.get)
	mux.HandleFunc("GET /v1/events", h.list)
}

// ListReply is the body of GET /v1/events.
type ListReply struct {
	Events []json.RawMessage `json:"events"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	t, err := h.Auth.Authenticate(ingest.APIKey(r))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusUnauthorized, "Authorization", "missing or unknown API key"))
		return "", false
	}
	return t.ID, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	rec, err := h.Store.Get(r.Context(), tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusNotFound, "id", fmt.Sprintf("no event %q for this tenant", id)))
		return
	}
	if err != nil {
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusServiceUnavailable, "", err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/cloudevents+json")
	_, _ = w.Write(rec.Event)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	q, p := parseQuery(r)
	if p != nil {
		ingest.WriteProblem(w, p)
		return
	}
	q.Tenant = tenant
	page, err := h.Store.List(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrInvalidCursor):
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusBadRequest, "cursor", err.Error()))
		return
	case errors.Is(err, store.ErrInvalid):
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusBadRequest, "", err.Error()))
		return
	case err != nil:
		ingest.WriteProblem(w, ingest.NewProblem(http.StatusServiceUnavailable, "", err.Error()))
		return
	}
	reply := ListReply{Events: make([]json.RawMessage, len(page.Records)), Next: page.NextCursor}
	for i, rec := range page.Records {
		reply.Events[i] = rec.Event
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// parseQuery reads type, from, to (RFC 3339), cursor and limit.
func parseQuery(r *http.Request) (store.Query, *ingest.Problem) {
	v := r.URL.Query()
	q := store.Query{Type: v.Get("type"), Cursor: v.Get("cursor")}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		s := v.Get(b.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, ingest.NewProblem(http.StatusBadRequest, b.name, fmt.Sprintf("must be an RFC 3339 time, got %q", s))
		}
		*b.dst = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, ingest.NewProblem(http.StatusBadRequest, "limit", fmt.Sprintf("must be a positive integer, got %q", s))
		}
		q.Limit = n
	}
	return q, nil
}
