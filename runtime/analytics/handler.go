package analytics

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Handler serves GET /v1/stats/counts for the tenant of the caller's API
// key:
//
//	?type=<event type>  only that type (default: all)
//	&from=<RFC 3339>    start, rounded down to the step (default: to minus 60 steps)
//	&to=<RFC 3339>      end, exclusive, rounded up to the step (default: now)
//	&step=1m            slot width, whole minutes (default 1m)
type Handler struct {
	Store *Store
	Auth  ingest.Authenticator
	// Now is the clock for the default range (time.Now when nil).
	Now func() time.Time
}

// CountsReply is the body of GET /v1/stats/counts.
type CountsReply struct {
	Tenant string    `json:"tenant"`
	Type   string    `json:"type,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Step   string    `json:"step"`
	Total  uint64    `json:"total"`
	Counts []Count   `json:"counts"`
}

// Register adds the route to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/stats/counts", h.counts)
}

func (h *Handler) counts(w http.ResponseWriter, r *http.Request) {
	t, err := h.Auth.Authenticate(tenant.APIKey(r))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
		problem.Write(w, problem.New(http.StatusUnauthorized, "Authorization", "missing or unknown API key"))
		return
	}
	q, p := h.parse(r, t.ID)
	if p != nil {
		problem.Write(w, p)
		return
	}
	counts, err := h.Store.Counts(r.Context(), q)
	switch {
	case errors.Is(err, ErrInvalidQuery):
		problem.Write(w, problem.New(http.StatusBadRequest, "", err.Error()))
		return
	case err != nil:
		problem.Write(w, problem.New(http.StatusServiceUnavailable, "", err.Error()))
		return
	}
	reply := CountsReply{Tenant: q.Tenant, Type: q.Type, From: q.From, To: q.To, Step: formatStep(q.Step), Counts: counts}
	for _, c := range counts {
		reply.Total += c.Count
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// parse reads the parameters and aligns the range to the step.
func (h *Handler) parse(r *http.Request, tenant string) (CountQuery, *problem.Problem) {
	v := r.URL.Query()
	q := CountQuery{Tenant: tenant, Type: v.Get("type"), Step: time.Minute}
	if s := v.Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Minute || d%time.Minute != 0 {
			return q, problem.New(http.StatusBadRequest, "step", fmt.Sprintf("must be a whole number of minutes like 1m, 15m or 24h, got %q", s))
		}
		q.Step = d
	}
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
			return q, problem.New(http.StatusBadRequest, b.name, fmt.Sprintf("must be an RFC 3339 time, got %q", s))
		}
		*b.dst = t.UTC()
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if q.To.IsZero() {
		q.To = now().UTC()
	}
	q.To = roundUp(q.To, q.Step)
	if q.From.IsZero() {
		q.From = q.To.Add(-60 * q.Step)
	}
	q.From = q.From.Truncate(q.Step)
	if !q.From.Before(q.To) {
		return q, problem.New(http.StatusBadRequest, "from", "must be before to")
	}
	if err := q.Check(); err != nil {
		return q, problem.New(http.StatusBadRequest, "", err.Error())
	}
	return q, nil
}

// roundUp returns the first multiple of step (since the epoch) at or after t.
func roundUp(t time.Time, step time.Duration) time.Time {
	if r := t.Truncate(step); !r.Equal(t) {
		return r.Add(step)
	}
	return t
}

func formatStep(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
