package ingest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
)

// Headers and query parameters that describe raw JSON posts.
const (
	// TypeHeader (or the "type" query parameter) names the event type of a
	// raw JSON post.
	TypeHeader = "Eventrunner-Type"
	// SourceHeader (or "source") sets its source.
	SourceHeader = "Eventrunner-Source"
	// IdempotencyHeader sets its id, so a retried post is deduplicated.
	IdempotencyHeader = "Idempotency-Key"
)

// RawDefaults fills what a raw JSON post does not say.
type RawDefaults struct {
	Type   string // used when neither header nor query names a type
	Source string // default "/ingest/http"
}

// wrapRaw makes a CloudEvent of a plain JSON body.
func wrapRaw(r *http.Request, body []byte, d RawDefaults) (*cloudevents.Event, *Problem) {
	q := r.URL.Query()
	ev := &cloudevents.Event{
		SpecVersion:     cloudevents.SpecVersion,
		ID:              first(r.Header.Get(IdempotencyHeader), cloudevents.NewID()),
		Source:          first(r.Header.Get(SourceHeader), q.Get("source"), d.Source, "/ingest/http"),
		Type:            first(r.Header.Get(TypeHeader), q.Get("type"), d.Type),
		Time:            time.Now().UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		DataSchema:      q.Get("dataschema"),
		Data:            body,
	}
	if !json.Valid(body) {
		return nil, NewProblem(http.StatusBadRequest, "body", "not valid JSON")
	}
	if ev.Type == "" {
		return nil, NewProblem(http.StatusBadRequest, TypeHeader, "a raw JSON event needs a type: set the "+TypeHeader+" header or the type query parameter")
	}
	if err := ev.Check(); err != nil {
		return nil, attributeProblem(err)
	}
	return ev, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
