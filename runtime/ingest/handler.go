package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Authenticator maps an API key to its tenant.
type Authenticator interface {
	Authenticate(key string) (tenant.Tenant, error)
}

// Acceptor validates the events of one tenant and stores the valid ones
// durably, returning one outcome per event (nil when stored). Errors are
// *problem.Problem when the event itself is at fault.
type Acceptor interface {
	Accept(ctx context.Context, tenant string, evs []*cloudevents.Event) []error
}

// Config wires a Handler.
type Config struct {
	Auth    Authenticator
	Accept  Acceptor
	Limits  Limits
	Raw     RawDefaults
	Metrics *Metrics // optional
	// Limiter, when set, rate-limits each tenant: a request it refuses gets
	// 429 with Retry-After.
	Limiter Limiter
	// Timeout bounds how long a request may wait for durable storage.
	Timeout time.Duration
}

// Limiter charges n events to a tenant; when it refuses, retryAfter says
// when to come back (tenant.Limiter is one).
type Limiter interface {
	Allow(t tenant.Tenant, n int) (retryAfter time.Duration, ok bool)
}

// Handler serves POST /v1/events.
type Handler struct {
	cfg Config
}

// NewHandler returns the ingest handler.
func NewHandler(cfg Config) *Handler {
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Handler{cfg: cfg}
}

// Result is the outcome of one event, as a batch reply lists it. An event
// is named by its source and id, its CloudEvents identity.
type Result struct {
	ID      string           `json:"id,omitempty"`
	Source  string           `json:"source,omitempty"`
	Status  int              `json:"status"`
	Problem *problem.Problem `json:"problem,omitempty"`
}

// BatchReply is the body of every 2xx reply and of a batch reply.
type BatchReply struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Results  []Result `json:"results"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		problem.Write(w, problem.New(http.StatusMethodNotAllowed, "method", "use POST"))
		return
	}
	t, err := h.cfg.Auth.Authenticate(tenant.APIKey(r))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
		problem.Write(w, problem.New(http.StatusUnauthorized, "Authorization", "missing or unknown API key (send Authorization: Bearer <key> or X-API-Key)"))
		return
	}
	in, p := readEvents(w, r, h.tenantLimits(t), h.cfg.Raw)
	if p != nil {
		h.cfg.Metrics.rejected(t.ID, p.Status, len(in))
		problem.Write(w, p)
		return
	}
	if h.cfg.Limiter != nil {
		if wait, ok := h.cfg.Limiter.Allow(t, len(in)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			h.cfg.Metrics.rejected(t.ID, http.StatusTooManyRequests, len(in))
			problem.Write(w, problem.New(http.StatusTooManyRequests, "", "tenant "+t.ID+" is over its ingest rate; retry after "+wait.Round(time.Millisecond).String()))
			return
		}
	}
	results := h.accept(r.Context(), t.ID, in)
	h.cfg.Metrics.observe(t.ID, results, time.Since(start))
	writeResults(w, r.Header.Get("Content-Type"), results)
}

func (h *Handler) tenantLimits(t tenant.Tenant) Limits {
	lim := h.cfg.Limits
	if t.MaxEventKB > 0 {
		lim.MaxEventBytes = int64(t.MaxEventKB) << 10
	}
	lim.respondWithin = h.cfg.Timeout + 10*time.Second
	return lim
}

// accept checks tenancy, hands the readable events to the Acceptor and
// merges the outcomes in request order.
func (h *Handler) accept(ctx context.Context, tenantID string, in []incoming) []Result {
	results := make([]Result, len(in))
	var evs []*cloudevents.Event
	var idx []int
	for i, e := range in {
		switch {
		case e.problem != nil:
			results[i] = Result{ID: e.problem.EventID, Source: e.problem.EventSource, Status: e.problem.Status, Problem: e.problem}
		case e.ev.TenantID != "" && e.ev.TenantID != tenantID:
			p := problem.New(http.StatusForbidden, "tenantid", "the event names tenant "+e.ev.TenantID+", the API key belongs to another tenant")
			p.EventID, p.EventSource = e.ev.ID, e.ev.Source
			results[i] = Result{ID: e.ev.ID, Source: e.ev.Source, Status: p.Status, Problem: p}
		default:
			e.ev.TenantID = tenantID
			evs = append(evs, e.ev)
			idx = append(idx, i)
		}
	}
	if len(evs) == 0 {
		return results
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	for j, err := range h.cfg.Accept.Accept(ctx, tenantID, evs) {
		i := idx[j]
		results[i] = Result{ID: evs[j].ID, Source: evs[j].Source, Status: http.StatusAccepted}
		if err != nil {
			p := asProblem(err)
			p.EventID, p.EventSource = evs[j].ID, evs[j].Source
			results[i] = Result{ID: evs[j].ID, Source: evs[j].Source, Status: p.Status, Problem: p}
		}
	}
	return results
}

// asProblem keeps a *problem.Problem as it is and makes any other error a 503: the
// event was fine but could not be stored, so the producer should retry.
func asProblem(err error) *problem.Problem {
	var p *problem.Problem
	if errors.As(err, &p) {
		return p
	}
	return problem.New(http.StatusServiceUnavailable, "", "not stored, retry: "+err.Error())
}

// writeResults answers a single event with 202 or its problem, and a batch
// with 202 (all accepted), 207 (some, or none with refusals that include a
// retryable 5xx), or, when every event was refused with 4xx statuses, a
// problem of their common status (400 when they differ) that lists each
// event's outcome. Every field of a batch reply starts with the event's
// index: "[3].id", "[3].data.$.qty", "[3]" for the event as a whole.
func writeResults(w http.ResponseWriter, contentType string, results []Result) {
	isBatch := strings.HasPrefix(strings.ToLower(contentType), BatchContentType)
	if !isBatch && len(results) == 1 && results[0].Problem != nil {
		problem.Write(w, results[0].Problem)
		return
	}
	reply := BatchReply{Results: results}
	status, all4xx := 0, true
	for i, r := range results {
		if r.Status == http.StatusAccepted {
			reply.Accepted++
		} else {
			reply.Rejected++
		}
		all4xx = all4xx && r.Status >= 400 && r.Status < 500
		if status == 0 {
			status = r.Status
		} else if status != r.Status {
			status = http.StatusMultiStatus
		}
		if isBatch && r.Problem != nil {
			indexFields(r.Problem, i)
		}
	}
	if isBatch && reply.Accepted == 0 && all4xx {
		if status == http.StatusMultiStatus {
			status = http.StatusBadRequest
		}
		first := results[0].Problem
		p := problem.New(status, first.Field, fmt.Sprintf("none of the %d events was accepted (first: %s); results lists each", len(results), first.Error()))
		w.Header().Set("Content-Type", problem.ContentType)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			*problem.Problem
			BatchReply
		}{p, reply})
		return
	}
	if retryable(results) {
		w.Header().Set("Retry-After", "1") // as problem.Write does for a single event
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(reply)
}

// retryable reports whether some event was not stored for a passing reason
// (503: a leader election, NATS unreachable): the producer should send
// those again, and Retry-After says when.
func retryable(results []Result) bool {
	for _, r := range results {
		if r.Status == http.StatusServiceUnavailable {
			return true
		}
	}
	return false
}

// indexFields prefixes the fields of an event's problem with its index in
// the batch.
func indexFields(p *problem.Problem, i int) {
	idx := "[" + strconv.Itoa(i) + "]"
	p.Field = joinField(idx, p.Field)
	for j := range p.Errors {
		p.Errors[j].Field = joinField(idx, p.Errors[j].Field)
	}
}

func joinField(idx, field string) string {
	if field == "" {
		return idx
	}
	return idx + "." + field
}
