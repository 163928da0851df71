package ingest

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/problem"
)

// Content types of the CloudEvents HTTP binding.
const (
	StructuredContentType = "application/cloudevents+json"
	BatchContentType      = "application/cloudevents-batch+json"
)

// Limits bounds what one request may carry, and how slowly.
type Limits struct {
	// MaxEventBytes bounds one event (default 1 MiB): a structured event,
	// one event of a batch, or a binary-mode event's ce-* headers and body
	// together.
	MaxEventBytes   int64
	MaxRequestBytes int64 // one request body (default 16 MiB)
	MaxBatch        int   // events in one batch (default 1000)
	// BodyGrace and MinBodyRate bound a slow body: it must have arrived by
	// BodyGrace plus its length at MinBodyRate bytes per second from when
	// the handler starts reading (defaults 10 s and 16 KiB/s), else the
	// request gets 408 and its connection is closed. A body that stalls or
	// trickles (slowloris) holds a connection for BodyGrace at most, while
	// a 16 MiB batch may take 17 minutes.
	BodyGrace   time.Duration
	MinBodyRate int64

	// respondWithin is how long the handler may take to answer once the
	// body is in (the Handler's Timeout plus time to write the reply); it
	// replaces the server's write timeout, which started with the headers.
	respondWithin time.Duration
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
	if l.BodyGrace <= 0 {
		l.BodyGrace = 10 * time.Second
	}
	if l.MinBodyRate <= 0 {
		l.MinBodyRate = 16 << 10
	}
	return l
}

// incoming is one event of a request, or the problem that stopped it from
// being read.
type incoming struct {
	ev      *cloudevents.Event
	problem *problem.Problem
}

// mode is how a request carries its events.
type mode int

const (
	modeStructured mode = iota
	modeBatch
	modeBinary
	modeRaw
)

// modeOf tells a request's mode from its headers.
func modeOf(h http.Header) (mode, *problem.Problem) {
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return 0, problem.New(http.StatusUnsupportedMediaType, "Content-Type", fmt.Sprintf("unparsable content type %q", ct))
	}
	mt = strings.ToLower(mt)
	switch {
	case mt == StructuredContentType:
		return modeStructured, nil
	case mt == BatchContentType:
		return modeBatch, nil
	case h.Get("Ce-Specversion") != "":
		return modeBinary, nil
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || ct == "":
		return modeRaw, nil
	}
	return 0, problem.New(http.StatusUnsupportedMediaType, "Content-Type",
		fmt.Sprintf("unsupported content type %q: send %s, %s, binary mode (ce-* headers) or application/json", mt, StructuredContentType, BatchContentType))
}

// readEvents reads the events of a request in whichever mode its headers
// say. A problem returned here concerns the whole request; problems of
// single events in a batch are in their incoming. Before reading the body
// it answers 413 for a declared Content-Length over the limit; the body is
// read through that limit and the minimum rate.
func readEvents(w http.ResponseWriter, r *http.Request, lim Limits, rawDefaults RawDefaults) ([]incoming, *problem.Problem) {
	m, p := modeOf(r.Header)
	if p != nil {
		return nil, p
	}
	max, p := bodyLimit(m, r.Header, lim)
	if p != nil {
		return nil, p
	}
	body, p := readBody(w, r, max, lim)
	if p != nil {
		return nil, p
	}
	switch m {
	case modeStructured:
		ev, p := parseStructured(body)
		if p != nil {
			return nil, p
		}
		return []incoming{{ev: ev}}, nil
	case modeBatch:
		return readBatch(body, lim)
	case modeBinary:
		ev, p := parseBinary(r.Header, r.Header.Get("Content-Type"), body)
		if p != nil {
			return nil, p
		}
		return []incoming{{ev: ev}}, nil
	}
	ev, p := wrapRaw(r, body, rawDefaults)
	if p != nil {
		return nil, p
	}
	return []incoming{{ev: ev}}, nil
}

// bodyLimit is the most body a request of mode m may carry: a batch the
// request limit, one event the event limit less, in binary mode, what its
// ce-* headers take (they are attributes of the event).
func bodyLimit(m mode, h http.Header, lim Limits) (int64, *problem.Problem) {
	switch m {
	case modeBatch:
		return lim.MaxRequestBytes, nil
	case modeBinary:
		n := ceHeaderBytes(h)
		if n > lim.MaxEventBytes {
			p := problem.New(http.StatusRequestEntityTooLarge, "ce-*", fmt.Sprintf("the ce-* headers take %d bytes, more than the event limit of %d bytes", n, lim.MaxEventBytes))
			return 0, p
		}
		return lim.MaxEventBytes - n, nil
	}
	return lim.MaxEventBytes, nil
}

// ceHeaderBytes is the size of a request's ce-* headers, names and values.
func ceHeaderBytes(h http.Header) int64 {
	var n int64
	for name, vs := range h {
		if len(name) > 3 && strings.EqualFold(name[:3], "ce-") {
			for _, v := range vs {
				n += int64(len(name) + len(v))
			}
		}
	}
	return n
}

// readBody reads the body through max and the minimum rate (bodyReader).
func readBody(w http.ResponseWriter, r *http.Request, max int64, lim Limits) ([]byte, *problem.Problem) {
	if r.ContentLength > max {
		w.Header().Set("Connection", "close")
		return nil, tooLarge(max, fmt.Sprintf("Content-Length %d", r.ContentLength))
	}
	rc := http.NewResponseController(w)
	br := &bodyReader{r: http.MaxBytesReader(w, r.Body, max), rc: rc, start: time.Now(), grace: lim.BodyGrace, rate: lim.MinBodyRate}
	body, err := readAll(br, r.ContentLength)
	switch {
	case br.deadlines && err == nil:
		// Past the body, the request is bounded by the handler's own
		// timeout; a read deadline left behind would cancel the request's
		// context while it waits for JetStream.
		_ = rc.SetReadDeadline(time.Time{})
		if lim.respondWithin > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(lim.respondWithin))
		}
	case br.deadlines:
		// The connection is to close after the reply: a deadline in the
		// past keeps net/http from waiting to drain the rest of the body.
		_ = rc.SetReadDeadline(time.Now())
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &mbe):
		w.Header().Set("Connection", "close")
		return nil, tooLarge(max, "the body")
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return nil, problem.New(http.StatusRequestTimeout, "body", fmt.Sprintf("the body did not arrive in time: %d bytes after %s, the minimum is %d bytes/s after %s",
			br.n, time.Since(br.start).Round(time.Millisecond), lim.MinBodyRate, lim.BodyGrace))
	}
	return nil, problem.New(http.StatusBadRequest, "body", "reading the body: "+err.Error())
}

// bodyReader reads a request body with a read deadline that moves on as
// the bytes come: BodyGrace after the start plus the time the bytes read so
// far take at MinBodyRate. Without deadline support (a test recorder) it
// only reads.
type bodyReader struct {
	r         io.Reader
	rc        *http.ResponseController
	start     time.Time
	grace     time.Duration
	rate      int64
	n         int64
	deadlines bool
	noSupport bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if !b.noSupport {
		dl := b.start.Add(b.grace + time.Duration(b.n)*time.Second/time.Duration(b.rate))
		if err := b.rc.SetReadDeadline(dl); err != nil {
			b.noSupport = true
		} else {
			b.deadlines = true
		}
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// readAll is io.ReadAll with the buffer sized by the declared length: one
// allocation for a body up to 1 MiB (its limit has been checked), doubling
// from there, so that a large declaration costs memory only as bytes come.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	size := int64(512)
	if declared >= 0 {
		size = min(declared+1, 1<<20) // +1: room to see EOF without growing
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			next := 2 * int64(cap(b))
			if declared >= int64(cap(b)) {
				next = min(next, declared+1)
			}
			nb := make([]byte, len(b), next)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func tooLarge(max int64, what string) *problem.Problem {
	return problem.New(http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("%s is larger than the limit of %d bytes", what, max))
}

func parseStructured(body []byte) (*cloudevents.Event, *problem.Problem) {
	ev := &cloudevents.Event{}
	if err := cloudevents.Parse(body, ev); err != nil {
		return nil, attributeProblem(err)
	}
	if err := ev.CheckIncoming(); err != nil {
		return nil, attributeProblem(err)
	}
	return ev, nil
}

// attributeProblem turns a CloudEvents parse/check error into a problem:
// 400 for malformed JSON, 400 naming the attribute for spec violations.
func attributeProblem(err error) *problem.Problem {
	var ae *cloudevents.AttributeError
	if errors.As(err, &ae) {
		return problem.New(http.StatusBadRequest, ae.Attribute, ae.Reason)
	}
	return problem.New(http.StatusBadRequest, "body", err.Error())
}

// readBatch splits a batch into its events. Problems of single events name
// their field as in the event; the handler prefixes the index ([3].id).
func readBatch(body []byte, lim Limits) ([]incoming, *problem.Problem) {
	items, err := cloudevents.SplitArray(body)
	if err != nil {
		return nil, problem.New(http.StatusBadRequest, "body", "a batch must be a JSON array of structured events: "+err.Error())
	}
	if len(items) == 0 {
		return nil, problem.New(http.StatusBadRequest, "body", "empty batch")
	}
	if len(items) > lim.MaxBatch {
		return nil, problem.New(http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("%d events in a batch, the limit is %d", len(items), lim.MaxBatch))
	}
	out := make([]incoming, len(items))
	for i, raw := range items {
		if int64(len(raw)) > lim.MaxEventBytes {
			p := problem.New(http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the event takes %d bytes, more than the limit of %d bytes", len(raw), lim.MaxEventBytes))
			p.EventID, p.EventSource = peekIdentity(raw)
			out[i].problem = p
			continue
		}
		ev, p := parseStructured(raw)
		if p != nil {
			p.EventID, p.EventSource = peekIdentity(raw)
		}
		out[i] = incoming{ev: ev, problem: p}
	}
	return out, nil
}

// peekIdentity returns the id and source of a refused event when they can
// be read, so a batch reply can name it (never invalid UTF-8, which the
// reply could not carry).
func peekIdentity(raw []byte) (id, source string) {
	var ev cloudevents.Event
	_ = cloudevents.Parse(raw, &ev)
	return strings.ToValidUTF8(ev.ID, "\uFFFD"), strings.ToValidUTF8(ev.Source, "\uFFFD")
}

// parseBinary reads a binary-mode event (cloudevents.FromHTTPBinary).
// Fields are named by header, lower-case ("ce-id").
func parseBinary(h http.Header, contentType string, body []byte) (*cloudevents.Event, *problem.Problem) {
	ev, err := cloudevents.FromHTTPBinary(h, contentType, body)
	var be *cloudevents.BindingError
	switch {
	case err == nil:
		return ev, nil
	case errors.As(err, &be) && be.Media:
		return nil, problem.New(http.StatusUnsupportedMediaType, be.Header, be.Reason)
	case errors.As(err, &be):
		return nil, problem.New(http.StatusBadRequest, be.Header, be.Reason)
	}
	p := attributeProblem(err)
	p.Field = "ce-" + p.Field
	return nil, p
}
