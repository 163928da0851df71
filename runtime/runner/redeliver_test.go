package runner

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
)

// A runner that dies after publishing but before acking (the raw messages
// come back after AckWait) must not duplicate anything in ER_PROC: wrapped
// raw JSON gets the same id on every delivery and Nats-Msg-Id dedupes.
func TestRedeliveryDoesNotDuplicate(t *testing.T) {
	env := bustest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 40
	for i := 0; i < n; i++ {
		m := nats.NewMsg("er.raw.acme")
		if i%2 == 0 {
			m.Header.Set("ce-type", runnertest.OrderType)
			m.Data = []byte(`{"id":"raw","amount":1}`) // identical bodies: only the stream position tells them apart
		} else {
			m.Data = []byte(`{"specversion":"1.0","id":"s` + strconv.Itoa(i) + `","source":"/s","type":"com.acme.order.created","data":{"id":"x","amount":2}}`)
		}
		if _, err := env.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r, err := New(ctx, env.JS, Options{Registry: runnertest.Registry(), AckWait: 300 * time.Millisecond, Batch: 16, MaxWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The first "process" handles a batch and crashes before acking.
	mb, err := r.cons.Fetch(n, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var first []*nats.Msg
	for m := range mb.Messages() {
		out, dead := r.process(m)
		if dead {
			t.Fatalf("dead letter: %v", out.Header)
		}
		first = append(first, out)
	}
	if len(first) != n {
		t.Fatalf("fetched %d, want %d", len(first), n)
	}
	if err := r.pub.PublishBatch(ctx, first, make([]error, n)); err != nil {
		t.Fatal(err)
	}
	if got := env.Count(t, bus.StreamProc, ""); got != n {
		t.Fatalf("ER_PROC holds %d after the first pass, want %d", got, n)
	}
	// A new process consumes the redeliveries.
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := r.cons.Info(ctx)
		if err == nil && info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0 && info.AckFloor.Stream == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("raw messages not all acked: %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if got := env.Count(t, bus.StreamProc, ""); got != n {
		t.Fatalf("ER_PROC holds %d after redelivery, want %d (duplicates)", got, n)
	}
	if got := env.Count(t, bus.StreamDLQ, ""); got != 0 {
		t.Fatalf("DLQ holds %d", got)
	}
}

func TestRawIDIsStable(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	a, b := rawID(at, "ER_RAW", 7), rawID(at, "ER_RAW", 7)
	if a != b {
		t.Fatalf("rawID differs across calls: %s %s", a, b)
	}
	if c := rawID(at, "ER_RAW", 8); c == a {
		t.Fatal("rawID ignores the sequence")
	}
	// UUIDv7: 018bcfe5-687b-7xxx-[89ab]xxx-..., time prefix from the timestamp.
	if len(a) != 36 || a[:13] != "018bcfe5-687b" || a[14] != '7' || (a[19] != '8' && a[19] != '9' && a[19] != 'a' && a[19] != 'b') {
		t.Fatalf("rawID = %s, not a UUIDv7 of that time", a)
	}
}

func TestHeaderLookup(t *testing.T) {
	h := nats.Header{"Ce-Type": {"x"}, "content-type": {"application/cloudevents+json; charset=utf-8"}}
	if header(h, "ce-type") != "x" || header(h, "Content-Type") != "application/cloudevents+json; charset=utf-8" || header(h, "missing") != "" {
		t.Fatal("case-insensitive header lookup")
	}
	if !isCloudEventsType(header(h, "Content-Type")) || isCloudEventsType("application/json") {
		t.Fatal("isCloudEventsType")
	}
}
