package ingest

import (
	"net/http"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
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
func wrapRaw(r *http.Request, body []byte, d RawDefaults) (*cloudevents.Event, *problem.Problem) {
	q := r.URL.Query()
	ev := cloudevents.WrapJSON(first(r.Header.Get(IdempotencyHeader), cloudevents.NewID()),
		first(r.Header.Get(SourceHeader), q.Get("source"), d.Source, "/ingest/http"),
		first(r.Header.Get(TypeHeader), q.Get("type"), d.Type), time.Now(), q.Get("dataschema"), body)
	if err := cloudevents.CheckJSON(body); err != nil {
		return nil, problem.New(http.StatusBadRequest, "body", "not valid JSON: "+err.Error())
	}
	if ev.Type == "" {
		return nil, problem.New(http.StatusBadRequest, TypeHeader, "a raw JSON event needs a type: set the "+TypeHeader+" header or the type query parameter")
	}
	if err := ev.CheckIncoming(); err != nil {
		p := attributeProblem(err)
		p.Field = rawField(r, p.Field)
		return nil, p
	}
	return ev, nil
}

// rawField names where a raw post's refused attribute came from: its
// header, else its query parameter.
func rawField(r *http.Request, attr string) string {
	header := map[string]string{"id": IdempotencyHeader, "source": SourceHeader, "type": TypeHeader}[attr]
	switch {
	case header != "" && r.Header.Get(header) != "":
		return header
	case r.URL.Query().Has(attr):
		return "?" + attr
	}
	return attr
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
