package grpcingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/eventrunner/eventrunner/runtime/accept"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// These tests cover the transport: auth, status mapping, acks and
// batching, over an in-memory connection with an Acceptor that answers
// what each test says. The real publish path (NATS, the Normalizer) is
// covered end to end in cmd/eventrunner.

const key = "test-key-0123456789"

// scripted answers each event by its id.
type scripted struct {
	mu      sync.Mutex
	answers map[string]error
	calls   [][]string // ids per Accept call
	tenants []string
}

func (s *scripted) Accept(_ context.Context, t string, evs []*cloudevents.Event) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(evs))
	out := make([]error, len(evs))
	for i, ev := range evs {
		ids[i], out[i] = ev.ID, s.answers[ev.ID]
	}
	s.calls = append(s.calls, ids)
	s.tenants = append(s.tenants, t)
	return out
}

type refuseAll struct{}

func (refuseAll) Allow(tenant.Tenant, int) (time.Duration, bool) { return 3 * time.Second, false }

func startTest(t *testing.T, cfg Config) (*grpc.ClientConn, *scripted) {
	t.Helper()
	reg := tenant.NewRegistry()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
		t.Fatal(err)
	}
	acc := &scripted{answers: map[string]error{}}
	cfg.Auth, cfg.Accept = reg, acc
	srv := New(cfg)
	ln := bufconn.Listen(1 << 20)
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.GracefulStop(ctx)
	})
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, acc
}

func withKey(t *testing.T, header, value string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if header == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, header, value)
}

func event(id string) *cepb.CloudEvent {
	return &cepb.CloudEvent{Id: id, Source: "/test", SpecVersion: "1.0", Type: "com.acme.test", Data: &cepb.CloudEvent_TextData{TextData: `{"n":1}`}}
}

func TestAuth(t *testing.T) {
	conn, acc := startTest(t, Config{})
	c := cepb.NewCloudEventIngestClient(conn)
	batch := &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("a")}}
	tests := []struct {
		name, header, value string
		want                codes.Code
	}{
		{"none", "", "", codes.Unauthenticated},
		{"unknown", "authorization", "Bearer nope", codes.Unauthenticated},
		{"not bearer", "authorization", "Basic " + key, codes.Unauthenticated},
		{"bearer", "authorization", "Bearer " + key, codes.OK},
		{"x-api-key", "x-api-key", key, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Publish(withKey(t, tt.header, tt.value), batch)
			if status.Code(err) != tt.want {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if len(acc.tenants) != 2 || acc.tenants[0] != "acme" {
		t.Fatalf("accepted for tenants %v", acc.tenants)
	}
	h, err := healthpb.NewHealthClient(conn).Check(withKey(t, "", ""), &healthpb.HealthCheckRequest{Service: "eventrunner.ingest.v1.CloudEventIngest"})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health without a key: %v %v", h, err)
	}
}

func TestPublishAcks(t *testing.T) {
	conn, acc := startTest(t, Config{MaxBatch: 5})
	acc.answers["invalid"] = &accept.Error{Kind: accept.KindInvalidData, Field: "data.$.n", Reason: "bad",
		Violations: []rules.Violation{{Path: "$.n", Message: "must be >= 2, got 1"}, {Path: "$.m", Message: "is required"}}}
	acc.answers["attr"] = &accept.Error{Kind: accept.KindAttribute, Field: "time", Reason: "must be RFC 3339"}
	acc.answers["other"] = &accept.Error{Kind: accept.KindTenant, Field: "tenantid", Reason: "another tenant"}
	acc.answers["down"] = errors.New("nats: no responders")
	proto := event("proto")
	proto.Data = &cepb.CloudEvent_ProtoData{}
	c := cepb.NewCloudEventIngestClient(conn)
	ctx := withKey(t, "x-api-key", key)
	resp, err := c.Publish(ctx, &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("ok"), event("invalid"), event("attr"), event("other"), event("down")}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ok STATUS_ACCEPTED OK  0",
		"invalid STATUS_REJECTED InvalidArgument data.$.n 2",
		"attr STATUS_REJECTED InvalidArgument time 0",
		"other STATUS_REJECTED PermissionDenied  0",
		"down STATUS_RETRY Unavailable  0",
	}
	for i, a := range resp.Acks {
		if got := fmt.Sprintf("%s %v %v %s %d", a.Id, a.Status, codes.Code(a.Code), a.Field, len(a.Violations)); got != want[i] || a.Source != "/test" {
			t.Errorf("ack %d: %q, want %q", i, got, want[i])
		}
	}
	if resp.Accepted != 1 || resp.Rejected != 4 || len(acc.calls) != 1 {
		t.Fatalf("accepted %d rejected %d in %d Accept calls", resp.Accepted, resp.Rejected, len(acc.calls))
	}
	// proto_data is refused before the Acceptor sees it.
	resp, err = c.Publish(ctx, &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{proto}})
	if err != nil || resp.Acks[0].Field != "proto_data" || len(acc.calls) != 1 {
		t.Fatalf("proto_data: %v %v, %d calls", resp, err, len(acc.calls))
	}
	// Whole-call refusals.
	_, err = c.Publish(ctx, &cepb.CloudEventBatch{})
	wantDetails(t, err, codes.InvalidArgument, "events")
	_, err = c.Publish(ctx, &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("1"), event("2"), event("3"), event("4"), event("5"), event("6")}})
	wantDetails(t, err, codes.ResourceExhausted, "")
}

func wantDetails(t *testing.T, err error, code codes.Code, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	if field == "" {
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && br.FieldViolations[0].Field == field {
			return
		}
	}
	t.Fatalf("%v: no BadRequest naming %q", err, field)
}

func TestStreamAcksInOrderInBatches(t *testing.T) {
	conn, acc := startTest(t, Config{MaxBatch: 50})
	acc.answers["e-7"] = &accept.Error{Kind: accept.KindInvalidData, Field: "data.$.n", Reason: "bad"}
	st, err := cepb.NewCloudEventIngestClient(conn).Stream(withKey(t, "authorization", "Bearer "+key))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	go func() {
		for i := range n {
			st.Send(event(fmt.Sprintf("e-%d", i)))
		}
		st.CloseSend()
	}()
	for i := range n {
		a, err := st.Recv()
		if err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		wantStatus := cepb.Ack_STATUS_ACCEPTED
		if i == 7 {
			wantStatus = cepb.Ack_STATUS_REJECTED
		}
		if a.Id != fmt.Sprintf("e-%d", i) || a.Source != "/test" || a.Status != wantStatus {
			t.Fatalf("ack %d: %v", i, a)
		}
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("stream did not end: %v", err)
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	total := 0
	for _, c := range acc.calls {
		if len(c) > 50 {
			t.Fatalf("a batch of %d events, the limit is 50", len(c))
		}
		total += len(c)
	}
	if total != n {
		t.Fatalf("%d events accepted, want %d", total, n)
	}
}

func TestRateLimited(t *testing.T) {
	conn, acc := startTest(t, Config{Limiter: refuseAll{}})
	resp, err := cepb.NewCloudEventIngestClient(conn).Publish(withKey(t, "x-api-key", key), &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("a")}})
	if err != nil || resp.Acks[0].Status != cepb.Ack_STATUS_RETRY || codes.Code(resp.Acks[0].Code) != codes.ResourceExhausted || len(acc.calls) != 0 {
		t.Fatalf("%v %v", resp, err)
	}
	st := statusOf(nil)
	if st != nil {
		t.Fatal("nil error has a status")
	}
	if d := exhausted(3 * time.Second).Details(); len(d) != 1 || d[0].(*errdetails.RetryInfo).RetryDelay.AsDuration() != 3*time.Second {
		t.Fatalf("RetryInfo missing: %v", d)
	}
}

func TestEventTooLarge(t *testing.T) {
	conn, acc := startTest(t, Config{MaxEventBytes: 5})
	resp, err := cepb.NewCloudEventIngestClient(conn).Publish(withKey(t, "x-api-key", key), &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{event("big")}})
	if err != nil || codes.Code(resp.Acks[0].Code) != codes.ResourceExhausted || len(acc.calls) != 0 {
		t.Fatalf("%v %v", resp, err)
	}
}

// TestShutdownEndsStreams: GracefulStop does not wait for producers that
// keep their streams open.
func TestShutdownEndsStreams(t *testing.T) {
	reg := tenant.NewRegistry()
	reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}})
	srv := New(Config{Auth: reg, Accept: &scripted{answers: map[string]error{}}})
	ln := bufconn.Listen(1 << 20)
	go srv.Serve(ln)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := cepb.NewCloudEventIngestClient(conn).Stream(withKey(t, "x-api-key", key))
	if err != nil {
		t.Fatal(err)
	}
	st.Send(event("a"))
	if a, err := st.Recv(); err != nil || a.Status != cepb.Ack_STATUS_ACCEPTED {
		t.Fatalf("%v %v", a, err)
	}
	done := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.GracefulStop(ctx)
		close(done)
	}()
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("stream ended with %v, want Unavailable", err)
	}
	<-done
}

// TestClientGoesAway: a client that cancels mid-stream ends the handler
// (run with -race: the receiver and the handler share no state unguarded).
func TestClientGoesAway(t *testing.T) {
	conn, acc := startTest(t, Config{})
	for range 20 {
		ctx, cancel := context.WithCancel(withKey(t, "x-api-key", key))
		st, err := cepb.NewCloudEventIngestClient(conn).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Send(event("a"))
		if _, err := st.Recv(); err != nil {
			t.Fatal(err)
		}
		st.Send(event("b"))
		cancel()
		// The ack of "b" may already be on its way: read until the stream
		// ends, which must be with Canceled.
		err = nil
		for n := 0; err == nil && n < 2; n++ {
			_, err = st.Recv()
		}
		if status.Code(err) != codes.Canceled {
			t.Fatalf("after cancel: %v", err)
		}
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if len(acc.calls) < 20 {
		t.Fatalf("%d Accept calls", len(acc.calls))
	}
}
