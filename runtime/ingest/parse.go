package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
)

// Content types of the CloudEvents HTTP binding.
const (
	StructuredContentType = "application/cloudevents+json"
	BatchContentType      = "application/cloudevents-batch+json"
)

// Limits bounds what one request may carry.
type Limits struct {
	MaxEventBytes   int64 // one event (default 1 MiB)
	MaxRequestBytes int64 // one request body (default 16 MiB)
	MaxBatch        int   // events in one batch (default 1000)
}

func (l Limits) withDefaults() Limits {
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = 1 << 20
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = 16 << 20
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = 1000
	}
	return l
}

// incoming is one event of a request, or the problem that stopped it from
// being read.
type incoming struct {
	ev      *cloudevents.Event
	problem *Problem
}

// readEvents reads the events of a request in whichever mode its headers
// say. A problem returned here concerns the whole request; problems of
// single events in a batch are in their incoming.
func readEvents(r *http.Request, lim Limits, rawDefaults RawDefaults) ([]incoming, *Problem) {
	body, p := readBody(r, lim.MaxRequestBytes)
	if p != nil {
		return nil, p
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return nil, NewProblem(http.StatusUnsupportedMediaType, "Content-Type", fmt.Sprintf("unparsable content type %q", ct))
	}
	mt = strings.ToLower(mt)
	switch {
	case mt == StructuredContentType:
		if int64(len(body)) > lim.MaxEventBytes {
			return nil, tooLarge(lim.MaxEventBytes)
		}
		ev, p := parseStructured(body)
		if p != nil {
			return nil, p
		}
		return []incoming{{ev: ev}}, nil
	case mt == BatchContentType:
		return readBatch(body, lim)
	case r.Header.Get("Ce-Specversion") != "":
		if int64(len(body)) > lim.MaxEventBytes {
			return nil, tooLarge(lim.MaxEventBytes)
		}
		ev, p := parseBinary(r.Header, ct, body)
		if p != nil {
			return nil, p
		}
		return []incoming{{ev: ev}}, nil
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || ct == "":
		if int64(len(body)) > lim.MaxEventBytes {
			return nil, tooLarge(lim.MaxEventBytes)
		}
		ev, p := wrapRaw(r, body, rawDefaults)
		if p != nil {
			return nil, p
		}
		return []incoming{{ev: ev}}, nil
	}
	return nil, NewProblem(http.StatusUnsupportedMediaType, "Content-Type",
		fmt.Sprintf("unsupported content type %q: send %s, %s, binary mode (ce-* headers) or application/json", mt, StructuredContentType, BatchContentType))
}

func readBody(r *http.Request, max int64) ([]byte, *Problem) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, "body", "reading the body: "+err.Error())
	}
	if int64(len(body)) > max {
		return nil, tooLarge(max)
	}
	return body, nil
}

func tooLarge(max int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("larger than the limit of %d bytes", max))
}

func parseStructured(body []byte) (*cloudevents.Event, *Problem) {
	ev, err := cloudevents.ParseStructured(body)
	if err != nil {
		return nil, attributeProblem(err)
	}
	return ev, nil
}

// attributeProblem turns a CloudEvents parse/check error into a problem:
// 400 for malformed JSON, 400 naming the attribute for spec violations.
func attributeProblem(err error) *Problem {
	var ae *cloudevents.AttributeError
	if errors.As(err, &ae) {
		return NewProblem(http.StatusBadRequest, ae.Attribute, ae.Reason)
	}
	return NewProblem(http.StatusBadRequest, "body", err.Error())
}

func readBatch(body []byte, lim Limits) ([]incoming, *Problem) {
	items, err := cloudevents.SplitArray(body)
	if err != nil {
		return nil, NewProblem(http.StatusBadRequest, "body", "a batch must be a JSON array of structured events: "+err.Error())
	}
	if len(items) == 0 {
		return nil, NewProblem(http.StatusBadRequest, "body", "empty batch")
	}
	if len(items) > lim.MaxBatch {
		return nil, NewProblem(http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("%d events in a batch, the limit is %d", len(items), lim.MaxBatch))
	}
	out := make([]incoming, len(items))
	for i, raw := range items {
		if int64(len(raw)) > lim.MaxEventBytes {
			out[i].problem = tooLarge(lim.MaxEventBytes)
			out[i].problem.Field = fmt.Sprintf("[%d]", i)
			continue
		}
		ev, p := parseStructured(raw)
		if p != nil {
			p.Field = fmt.Sprintf("[%d].%s", i, p.Field)
			p.EventID = peekID(raw)
		}
		out[i] = incoming{ev: ev, problem: p}
	}
	return out, nil
}

// peekID returns the id of a malformed event when it can be read, so a
// batch reply can name it.
func peekID(raw []byte) string {
	var ev cloudevents.Event
	_ = cloudevents.Parse(raw, &ev)
	return ev.ID
}

// parseBinary reads a binary-mode event: attributes in ce-* headers
// (percent-encoded), data in the body with Content-Type as datacontenttype.
func parseBinary(h http.Header, contentType string, body []byte) (*cloudevents.Event, *Problem) {
	ev := &cloudevents.Event{DataContentType: contentType}
	for name, values := range h {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "ce-") || len(values) == 0 {
			continue
		}
		attr := lname[3:]
		v, err := percentDecode(values[0])
		if err != nil {
			return nil, NewProblem(http.StatusBadRequest, name, err.Error())
		}
		ev.SetAttribute(attr, v)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if !cloudevents.IsJSONContentType(contentType) {
			return nil, NewProblem(http.StatusUnsupportedMediaType, "Content-Type",
				fmt.Sprintf("data must be JSON, got %q", contentType))
		}
		if !json.Valid(body) {
			return nil, NewProblem(http.StatusBadRequest, "body", "data is not valid JSON")
		}
		ev.Data = body
	}
	if err := ev.Check(); err != nil {
		p := attributeProblem(err)
		p.Field = "ce-" + p.Field
		return nil, p
	}
	return ev, nil
}

// percentDecode decodes %XX escapes as the HTTP binding requires (§3.1.3.2);
// unlike URL query decoding it leaves '+' alone.
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("bad percent-encoding at byte %d", i)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
