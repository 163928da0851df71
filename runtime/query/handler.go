package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/dataschema"
	"github.com/eventrunner/eventrunner/runtime/ingest"
	"github.com/eventrunner/eventrunner/runtime/problem"
	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// Handler serves the query API.
type Handler struct {
	Store store.Store
	Auth  ingest.Authenticator
	// MaxPageBytes bounds the events of one list page (default
	// DefaultMaxPageBytes); see boundPage.
	MaxPageBytes int
	// SchemaBase, when set, makes every answered event carry the canonical
	// dataschema of its schema version, as the engine writes it (see
	// canonical).
	SchemaBase dataschema.Base
}

// DefaultMaxPageBytes bounds a list page: 4 MiB, a few events of the
// largest size ingest accepts, or thousands of ordinary ones.
const DefaultMaxPageBytes = 4 << 20

// Register adds the query routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/events/{id}", h.get)
	mux.HandleFunc("GET /v1/events/{id}/input", h.input)
	mux.HandleFunc("GET /v1/events", h.list)
}

// ListReply is the body of GET /v1/events.
type ListReply struct {
	Events []json.RawMessage `json:"events"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	t, err := h.Auth.Authenticate(tenant.APIKey(r))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="eventrunner"`)
		problem.Write(w, problem.New(http.StatusUnauthorized, "Authorization", "missing or unknown API key"))
		return "", false
	}
	return t.ID, true
}

// maxCandidates bounds the records a 300 reply lists, and so what one
// ambiguous GET reads.
const maxCandidates = 20

// Ambiguous is the problem+json body of a 300 reply: several sources sent an
// event with the requested id, each listed with the URL that picks it.
type Ambiguous struct {
	*problem.Problem
	ID         string      `json:"id"`
	Candidates []Candidate `json:"candidates"`
	// Truncated says that more than the listed candidates exist.
	Truncated bool `json:"truncated,omitempty"`
}

// Candidate is one of the events an ambiguous id names.
type Candidate struct {
	Source string `json:"source"`
	Type   string `json:"type"`
	Time   string `json:"time,omitempty"`
	Href   string `json:"href"`
}

// EventURL is the path of the event (source, id): GET answers exactly it.
func EventURL(id, source string) string {
	return "/v1/events/" + url.PathEscape(id) + "?source=" + url.QueryEscape(source)
}

// get answers the event with the id, of the source named by ?source= or
// else the only one there is; several sources without ?source= get 300.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	if rec, ok := h.find(w, r, EventURL); ok {
		w.Header().Set("Content-Type", "application/cloudevents+json")
		w.Header().Set("Content-Location", EventURL(rec.ID, rec.Source))
		_, _ = w.Write(h.canonical(rec))
	}
}

// input answers the data of the event as it arrived, before the rules (what
// rules diff replays), picked as get picks the event; 404 for a record
// stored before the store kept it.
func (h *Handler) input(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.find(w, r, inputURL)
	if !ok {
		return
	}
	if rec.Input == nil {
		problem.Write(w, problem.New(http.StatusNotFound, "id", fmt.Sprintf("event %q from source %q was stored without its input data (before the store kept it)", rec.ID, rec.Source)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Location", inputURL(rec.ID, rec.Source))
	_, _ = w.Write(rec.Input)
}

// inputURL is the path of the input data of the event (source, id).
func inputURL(id, source string) string {
	return "/v1/events/" + url.PathEscape(id) + "/input?source=" + url.QueryEscape(source)
}

// find reads the record the request names: the tenant's event with the
// path's id, of the source named by ?source= or else the only one there is.
// Otherwise it answers (401, 400, 404, or 300 listing the candidates, each
// with its href) and reports false.
func (h *Handler) find(w http.ResponseWriter, r *http.Request, href func(id, source string) string) (store.Record, bool) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return store.Record{}, false
	}
	id := r.PathValue("id")
	if v := r.URL.Query(); v.Has("source") {
		return h.findFrom(w, r, tenant, v.Get("source"), id)
	}
	recs, err := h.Store.Lookup(r.Context(), tenant, id, maxCandidates+1)
	if err != nil {
		writeStoreError(w, err)
		return store.Record{}, false
	}
	switch len(recs) {
	case 0:
		problem.Write(w, problem.New(http.StatusNotFound, "id", fmt.Sprintf("no event %q for this tenant", id)))
	case 1:
		return recs[0], true
	default:
		writeAmbiguous(w, id, recs, href)
	}
	return store.Record{}, false
}

func (h *Handler) findFrom(w http.ResponseWriter, r *http.Request, tenant, source, id string) (store.Record, bool) {
	if source == "" {
		problem.Write(w, problem.New(http.StatusBadRequest, "source", "must name the event's source (a CloudEvents source is never empty)"))
		return store.Record{}, false
	}
	rec, err := h.Store.Get(r.Context(), tenant, source, id)
	if errors.Is(err, store.ErrNotFound) {
		problem.Write(w, problem.New(http.StatusNotFound, "id", fmt.Sprintf("no event %q from source %q for this tenant", id, source)))
		return store.Record{}, false
	}
	if err != nil {
		writeStoreError(w, err)
		return store.Record{}, false
	}
	return rec, true
}

// canonical is the event of rec with the canonical dataschema of the schema
// version it was processed as. The engine writes that already; an event
// stored before it did (with the short form "<type>/v<N>", which is not
// the absolute URI the CloudEvents SDKs require) or under another base is
// answered as the engine would write it now. The store keeps what it has.
func (h *Handler) canonical(rec store.Record) []byte {
	if h.SchemaBase == "" || rec.SchemaID == "" {
		return rec.Event
	}
	want := h.SchemaBase.URL(rec.SchemaID)
	var ev cloudevents.Event
	if err := cloudevents.Parse(rec.Event, &ev); err != nil || ev.DataSchema == want {
		return rec.Event
	}
	ev.DataSchema = want
	return cloudevents.Append(make([]byte, 0, len(rec.Event)+len(want)), &ev, ev.Data, nil)
}

// writeAmbiguous answers 300 Multiple Choices listing recs (at most
// maxCandidates of them) with the URL href gives each, also as Link headers.
func writeAmbiguous(w http.ResponseWriter, id string, recs []store.Record, href func(id, source string) string) {
	reply := Ambiguous{ID: id, Truncated: len(recs) > maxCandidates}
	recs = recs[:min(len(recs), maxCandidates)]
	more := ""
	if reply.Truncated {
		more = "more than "
	}
	reply.Problem = &problem.Problem{
		Type:   "https://eventrunner.dev/problems/ambiguous-id",
		Title:  http.StatusText(http.StatusMultipleChoices),
		Status: http.StatusMultipleChoices,
		Field:  "source",
		Detail: fmt.Sprintf("%s%d events of this tenant have id %q, from different sources: pick one with ?source=", more, len(recs), id),
	}
	for _, rec := range recs {
		c := Candidate{Source: rec.Source, Type: rec.Type, Href: href(rec.ID, rec.Source)}
		if !rec.Time.IsZero() {
			c.Time = rec.Time.Format(time.RFC3339Nano)
		}
		reply.Candidates = append(reply.Candidates, c)
		w.Header().Add("Link", "<"+c.Href+`>; rel="alternate"`)
	}
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(http.StatusMultipleChoices)
	_ = json.NewEncoder(w).Encode(reply)
}

// writeStoreError answers a failed read: 400 for a malformed key, else 503.
func writeStoreError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrInvalid) {
		problem.Write(w, problem.New(http.StatusBadRequest, "id", err.Error()))
		return
	}
	problem.Write(w, problem.New(http.StatusServiceUnavailable, "", err.Error()))
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	tenant, ok := h.tenant(w, r)
	if !ok {
		return
	}
	q, p := parseQuery(r)
	if p != nil {
		problem.Write(w, p)
		return
	}
	q.Tenant = tenant
	page, err := h.Store.List(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrInvalidCursor):
		problem.Write(w, problem.New(http.StatusBadRequest, "cursor", err.Error()))
		return
	case errors.Is(err, store.ErrInvalid):
		problem.Write(w, problem.New(http.StatusBadRequest, "", err.Error()))
		return
	case err != nil:
		problem.Write(w, problem.New(http.StatusServiceUnavailable, "", err.Error()))
		return
	}
	page = boundPage(q, page, h.MaxPageBytes)
	reply := ListReply{Events: make([]json.RawMessage, len(page.Records)), Next: page.NextCursor}
	for i, rec := range page.Records {
		reply.Events[i] = h.canonical(rec)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// parseQuery reads type, from, to (RFC 3339), cursor and limit.
func parseQuery(r *http.Request) (store.Query, *problem.Problem) {
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
			return q, problem.New(http.StatusBadRequest, b.name, fmt.Sprintf("must be an RFC 3339 time, got %q", s))
		}
		*b.dst = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, problem.New(http.StatusBadRequest, "limit", fmt.Sprintf("must be a positive integer, got %q", s))
		}
		q.Limit = n
	}
	return q, nil
}

// boundPage cuts page before the event that would take it over max bytes
// (DefaultMaxPageBytes when max <= 0), keeping at least one event, and
// points the cursor after the last event kept, so that the next page
// continues there: a page of 60 events of 1 MiB is 4 pages, not 60 MB.
func boundPage(q store.Query, page store.Page, max int) store.Page {
	if max <= 0 {
		max = DefaultMaxPageBytes
	}
	n := 0
	for i, rec := range page.Records {
		n += len(rec.Event) + 1
		if n > max && i > 0 {
			last := page.Records[i-1]
			page.Records = page.Records[:i]
			page.NextCursor = store.EncodeCursor(q, store.Position{Time: last.Time, ID: last.ID, Source: last.Source})
			break
		}
	}
	return page
}
