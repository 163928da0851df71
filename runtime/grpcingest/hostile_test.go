package grpcingest

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/bus"
	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/runner/runnertest"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// startTCP serves cfg on a loopback TCP port and dials it with opts.
func startTCP(t *testing.T, cfg Config, opts ...grpc.DialOption) (*Server, func() *grpc.ClientConn) {
	t.Helper()
	reg := tenant.NewRegistry()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
		t.Fatal(err)
	}
	cfg.Auth = reg
	srv := New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.GracefulStop(ctx)
	})
	dial := func() *grpc.ClientConn {
		conn, err := grpc.NewClient(ln.Addr().String(), append([]grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(Codec{}))}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	return srv, dial
}

func order(id string, mod func(*cepb.CloudEvent)) *cepb.CloudEvent {
	e := &cepb.CloudEvent{Id: id, Source: "/pos", SpecVersion: "1.0", Type: runnertest.OrderType,
		Data: &cepb.CloudEvent_TextData{TextData: `{"id":"o-1","amount":1}`}}
	if mod != nil {
		mod(e)
	}
	return e
}

func str(s string) *cepb.CloudEvent_CloudEventAttributeValue {
	return &cepb.CloudEvent_CloudEventAttributeValue{Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: s}}
}

// TestHostileGRPC: hostile events over the generic service, through the
// real Normalizer and JetStream: each refusal names the field, and what is
// accepted reaches ER_PROC exactly as sent.
func TestHostileGRPC(t *testing.T) {
	env := bustest.Start(t)
	acc := &accept.Acceptor{Normalizer: accept.NewNormalizer(runnertest.Registry(), ""), Publisher: bus.NewPublisher(env.JS, bus.PublisherOptions{})}
	_, dial := startTCP(t, Config{Accept: acc, MaxEventBytes: 1 << 20})
	c := cepb.NewCloudEventIngestClient(dial())
	cases := []struct {
		name  string
		ev    *cepb.CloudEvent
		code  codes.Code
		field string
	}{
		{"ok", order("ok-1", nil), codes.OK, ""},
		{"ok Unicode", order("ok-é😀", func(e *cepb.CloudEvent) { e.Source = "/café" }), codes.OK, ""},
		{"invalid UTF-8 id", order("coll\xff", nil), codes.InvalidArgument, "id"},
		{"overlong UTF-8 id", order("coll\xc0\xaf", nil), codes.InvalidArgument, "id"},
		{"encoded surrogate source", order("s-1", func(e *cepb.CloudEvent) { e.Source = "/\xed\xa0\x80" }), codes.InvalidArgument, "source"},
		{"NUL id", order("a\x00b", nil), codes.InvalidArgument, "id"},
		{"control source", order("s-2", func(e *cepb.CloudEvent) { e.Source = "/a\x1b" }), codes.InvalidArgument, "source"},
		{"source a space", order("s-3", func(e *cepb.CloudEvent) { e.Source = " " }), codes.InvalidArgument, "source"},
		{"source blank", order("s-4", func(e *cepb.CloudEvent) { e.Source = "" }), codes.InvalidArgument, "source"},
		{"erfired", order("s-5", func(e *cepb.CloudEvent) {
			e.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"erfired": str("r")}
		}), codes.InvalidArgument, "erfired"},
		{"ertags", order("s-6", func(e *cepb.CloudEvent) {
			e.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"ertags": str("vip")}
		}), codes.InvalidArgument, "ertags"},
		{"attribute data", order("s-7", func(e *cepb.CloudEvent) {
			e.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"data": str("x")}
		}), codes.InvalidArgument, "data"},
		{"extension invalid UTF-8", order("s-8", func(e *cepb.CloudEvent) {
			e.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"region": str("eu\xff")}
		}), codes.InvalidArgument, "region"},
		{"extension NUL", order("s-9", func(e *cepb.CloudEvent) {
			e.Attributes = map[string]*cepb.CloudEvent_CloudEventAttributeValue{"region": str("\x00")}
		}), codes.InvalidArgument, "region"},
		{"truncated data", order("s-10", func(e *cepb.CloudEvent) { e.Data = &cepb.CloudEvent_TextData{TextData: `{"id":"o",`} }), codes.InvalidArgument, "text_data"},
		{"10^5 deep data", order("s-11", func(e *cepb.CloudEvent) {
			e.Data = &cepb.CloudEvent_BinaryData{BinaryData: []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))}
		}), codes.InvalidArgument, "binary_data"},
	}
	batch := &cepb.CloudEventBatch{}
	for _, tc := range cases {
		batch.Events = append(batch.Events, tc.ev)
	}
	resp, err := c.Publish(withKey(t, "x-api-key", key), batch)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for i, tc := range cases {
		a := resp.Acks[i]
		if codes.Code(a.Code) != tc.code || a.Field != tc.field {
			t.Errorf("%s: code %v field %q (%s), want %v %q", tc.name, codes.Code(a.Code), a.Field, a.Error, tc.code, tc.field)
		}
		if tc.code == codes.OK {
			accepted++
		}
	}
	got := map[string]string{}
	for _, pe := range env.ProcEvents(t, accepted, 10*time.Second) {
		ev, err := cloudevents.ParseStructured(pe.Data)
		if err != nil {
			t.Fatal(err)
		}
		got[ev.ID] = ev.Source
	}
	if len(got) != 2 || got["ok-1"] != "/pos" || got["ok-é😀"] != "/café" {
		t.Fatalf("ER_PROC holds %v", got)
	}
}

// counting is an Acceptor that accepts everything and counts.
type counting struct {
	mu sync.Mutex
	n  int
}

func (c *counting) Accept(_ context.Context, _ string, evs []*cloudevents.Event) []error {
	c.mu.Lock()
	c.n += len(evs)
	c.mu.Unlock()
	return make([]error, len(evs))
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestStreamNeverReadingAcks: a producer that streams without ever reading
// its acks is held by the stream's budget and HTTP/2 flow control: the
// server stops receiving, holds no more than MaxStreamBytes, and serves
// other producers meanwhile; when the stream goes, so do its bytes.
func TestStreamNeverReadingAcks(t *testing.T) {
	const budget = 64 << 10
	acc := &counting{}
	srv, dial := startTCP(t, Config{Accept: acc, MaxStreamBytes: budget},
		// Fixed 64 KiB windows (no BDP growth), so that the client's own
		// buffer of unread acks is small and the plateau comes quickly.
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	ctx, cancel := context.WithCancel(withKey(t, "x-api-key", key))
	st, err := cepb.NewCloudEventIngestClient(dial()).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const total = 200000
	data := `{"id":"o-1","amount":1,"pad":"` + strings.Repeat("x", 1000) + `"}`
	sent := make(chan int, 1)
	go func() {
		n := 0
		for ; n < total; n++ {
			if st.Send(&cepb.CloudEvent{Id: "e", Source: "/s", SpecVersion: "1.0", Type: "t", Data: &cepb.CloudEvent_TextData{TextData: data}}) != nil {
				break
			}
		}
		sent <- n
	}()
	// Wait until the server stops taking events.
	last, stable := -1, 0
	for stable < 10 {
		time.Sleep(100 * time.Millisecond)
		if n := acc.count(); n == last && n > 0 {
			stable++
		} else {
			last, stable = n, 0
		}
	}
	select {
	case n := <-sent:
		t.Fatalf("the client sent all %d events without reading an ack", n)
	default:
	}
	if last >= total/10 {
		t.Fatalf("the server took %d events from a stream that reads no acks", last)
	}
	t.Logf("the server took %d events and holds %d bytes", last, srv.held.Load())
	if held := srv.held.Load(); held > budget+2048 {
		t.Fatalf("the stream holds %d bytes, the budget is %d", held, budget)
	}
	// Another producer is served meanwhile.
	resp, err := cepb.NewCloudEventIngestClient(dial()).Publish(withKey(t, "x-api-key", key), &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("other")}})
	if err != nil || resp.Accepted != 1 {
		t.Fatalf("another producer: %v %v", resp, err)
	}
	cancel()
	<-sent
	deadline := time.Now().Add(10 * time.Second)
	for srv.held.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream still holds %d bytes", srv.held.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
