package console

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// pingEvery is how often an idle tail writes an SSE comment, so that a
// client that went away is noticed (the write fails) and proxies keep the
// connection open.
const pingEvery = 15 * time.Second

// stream is the live tail, GET /v1/events/stream[?type=T][&since=all|10m]:
// the tenant's processed events as Server-Sent Events, one structured
// CloudEvent per event, its id the stream sequence. A reconnecting
// EventSource sends Last-Event-ID and resumes after it. The events come from
// the tenant's own stream (ER_T_<tenant>) through an ordered consumer,
// deleted when the client goes.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, tenantID string) {
	if c.cfg.Streams == nil {
		writeProblem(w, http.StatusNotFound, "", "this process has no tenant streams")
		return
	}
	cfg, field, err := tailConfig(r, tenantID)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, field, err.Error())
		return
	}
	js, err := c.cfg.Streams(tenantID)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	ctx := r.Context()
	streamName := tenantnats.StreamName(tenantID)
	cons, err := js.OrderedConsumer(ctx, streamName, cfg)
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "", fmt.Sprintf("tail %s: %v", streamName, err))
		return
	}
	msgs := make(chan jetstream.Msg, 64)
	// done ends the callback's wait on a full msgs whichever way the tail
	// ends (the client went, or the server shuts down): Closed waits for it.
	done := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-done:
		}
	})
	if err != nil {
		writeProblem(w, http.StatusServiceUnavailable, "", fmt.Sprintf("tail %s: %v", streamName, err))
		return
	}
	defer c.closeTail(js, streamName, cons, cc)
	defer close(done) // runs before closeTail
	c.writeEvents(w, r, msgs)
}

// tailConfig is the ordered consumer of a tail request.
func tailConfig(r *http.Request, tenantID string) (jetstream.OrderedConsumerConfig, string, error) {
	q := r.URL.Query()
	subject, err := bus.TenantFilter(tenantID)
	if typ := q.Get("type"); typ != "" && err == nil {
		subject, err = bus.TenantSubject(tenantID, typ)
		if err != nil {
			return jetstream.OrderedConsumerConfig{}, "type", err
		}
	}
	if err != nil {
		return jetstream.OrderedConsumerConfig{}, "tenant", err
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy,
		InactiveThreshold: time.Minute} // should the delete below fail
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		seq, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return cfg, "Last-Event-ID", fmt.Errorf("want a stream sequence, got %q", last)
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
		return cfg, "", nil
	}
	switch since := q.Get("since"); since {
	case "", "new":
	case "all":
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	default:
		d, err := time.ParseDuration(since)
		if err != nil || d <= 0 {
			return cfg, "since", fmt.Errorf("want new, all or a positive duration, got %q", since)
		}
		start := time.Now().Add(-d)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	return cfg, "", nil
}

// writeEvents streams msgs to the client until it goes.
func (c *Console) writeEvents(w http.ResponseWriter, r *http.Request, msgs <-chan jetstream.Msg) {
	rc := http.NewResponseController(w)
	// The server's read and write timeouts bound ordinary requests; a tail
	// lasts as long as its client stays.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	bw.WriteString(": eventrunner live tail\nretry: 2000\n\n")
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		if bw.Flush() != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-c.closing:
			return
		case <-ping.C:
			bw.WriteString(": ping\n\n")
		case m := <-msgs:
			writeEvent(bw, m)
			for len(msgs) > 0 && bw.Buffered() < 64<<10 { // a burst goes out in one write
				writeEvent(bw, <-msgs)
			}
		}
	}
}

// writeEvent writes one SSE event: the stream sequence as its id, the
// event as its data (one data: line per line, as SSE wants).
func writeEvent(bw *bufio.Writer, m jetstream.Msg) {
	if md, err := m.Metadata(); err == nil {
		bw.WriteString("id: ")
		bw.WriteString(strconv.FormatUint(md.Sequence.Stream, 10))
		bw.WriteByte('\n')
	}
	for line := range bytes.Lines(m.Data()) {
		bw.WriteString("data: ")
		bw.Write(bytes.TrimRight(line, "\r\n"))
		bw.WriteByte('\n')
	}
	bw.WriteByte('\n')
}

// closeTail stops the consumption and deletes the ordered consumer at once
// (its inactivity threshold would remove it a minute later).
func (c *Console) closeTail(js jetstream.JetStream, stream string, cons jetstream.Consumer, cc jetstream.ConsumeContext) {
	cc.Stop()
	<-cc.Closed()
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteConsumer(ctx, stream, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		c.log.Debug("live tail: delete consumer", "stream", stream, "consumer", info.Name, "err", err)
	}
}
