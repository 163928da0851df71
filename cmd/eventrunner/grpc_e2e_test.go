package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/generated/typedpb"
	"github.com/eventrunner/eventrunner/runtime/grpcingest"
	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// The gRPC end-to-end tests drive the real `serve` binary with real gRPC
// clients: the generic CloudEvents service, the typed services generated
// from the schemas, health and reflection.

func dialGRPC(t *testing.T, s *server) *grpc.ClientConn {
	t.Helper()
	if s.grpcAddr == "" {
		t.Fatal("the banner printed no gRPC address")
	}
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(grpcingest.Codec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func authed(t *testing.T, key string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// orderSamples returns the data of the first n orders of rules/orders.
func orderSamples(t *testing.T, n int) []json.RawMessage {
	f, err := os.Open("../../rules/orders/samples.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() && len(out) < n {
		var ev struct{ Data json.RawMessage }
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Data)
	}
	return out
}

const (
	orderType   = "com.acme.order.created"
	orderSchema = "com.acme.order.created/v1"
	orderTime   = "2026-11-28T09:00:00Z"
)

func typedOrder(t *testing.T, id string, data []byte) *typedpb.OrderCreatedV1Event {
	var f generated.OrderCreatedV1
	if err := f.DecodeJSON(data, new(rules.Violations)); err != nil {
		t.Fatal(err)
	}
	d := new(typedpb.OrderCreatedV1)
	d.FromFact(&f)
	ts, _ := time.Parse(time.RFC3339, orderTime)
	return &typedpb.OrderCreatedV1Event{Id: id, Source: "shop/web", Subject: "orders/eu", Time: timestamppb.New(ts),
		Extensions: map[string]string{"region": "eu"}, Data: d}
}

func genericOrder(id string, data []byte) *cepb.CloudEvent {
	ts, _ := time.Parse(time.RFC3339, orderTime)
	return &cepb.CloudEvent{
		Id: id, Source: "shop/web", SpecVersion: "1.0", Type: orderType,
		Attributes: map[string]*cepb.CloudEvent_CloudEventAttributeValue{
			"time":       {Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeTimestamp{CeTimestamp: timestamppb.New(ts)}},
			"dataschema": {Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeUriRef{CeUriRef: orderSchema}},
			"subject":    {Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: "orders/eu"}},
			"region":     {Attr: &cepb.CloudEvent_CloudEventAttributeValue_CeString{CeString: "eu"}},
		},
		Data: &cepb.CloudEvent_TextData{TextData: string(data)},
	}
}

func TestGRPCSameAsHTTP(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := dialGRPC(t, s)
	ctx := authed(t, testKey)
	samples := orderSamples(t, 3)
	ways := []string{"http", "generic", "generic-stream", "typed", "typed-stream"}
	id := func(way string, i int) string { return fmt.Sprintf("%s-%d", way, i) }

	for i, d := range samples {
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"shop/web","type":%q,"time":%q,"dataschema":%q,"subject":"orders/eu","region":"eu","data":%s}`,
			id("http", i), orderType, orderTime, orderSchema, d)
		if code, b := s.post(t, "application/cloudevents+json", nil, body); code != 202 {
			t.Fatalf("http: %d %s", code, b)
		}
	}

	generic := cepb.NewCloudEventIngestClient(conn)
	batch := &cepb.CloudEventBatch{}
	for i, d := range samples {
		batch.Events = append(batch.Events, genericOrder(id("generic", i), d))
	}
	resp, err := generic.Publish(ctx, batch)
	if err != nil || resp.Accepted != int32(len(samples)) {
		t.Fatalf("generic publish: %v %v", resp, err)
	}
	gs, err := generic.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range samples {
		if err := gs.Send(genericOrder(id("generic-stream", i), d)); err != nil {
			t.Fatal(err)
		}
	}
	gs.CloseSend()
	expectAcks(t, func() (*cepb.Ack, error) { return gs.Recv() }, len(samples), cepb.Ack_STATUS_ACCEPTED)

	typed := typedpb.NewOrderCreatedV1IngestClient(conn)
	for i, d := range samples {
		ack, err := typed.PublishOrderCreatedV1(ctx, typedOrder(t, id("typed", i), d))
		if err != nil || ack.Status != typedpb.Ack_STATUS_ACCEPTED {
			t.Fatalf("typed publish: %v %v", ack, err)
		}
	}
	ts, err := typed.StreamOrderCreatedV1(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range samples {
		if err := ts.Send(typedOrder(t, id("typed-stream", i), d)); err != nil {
			t.Fatal(err)
		}
	}
	ts.CloseSend()
	for range samples {
		a, err := ts.Recv()
		if err != nil || a.Status != typedpb.Ack_STATUS_ACCEPTED {
			t.Fatalf("typed stream ack: %v %v", a, err)
		}
	}

	// Retries are acknowledged and deduplicated by source and id.
	if resp, err := generic.Publish(ctx, &cepb.CloudEventBatch{Events: batch.Events[:1]}); err != nil || resp.Accepted != 1 {
		t.Fatalf("generic retry: %v %v", resp, err)
	}
	if _, err := typed.PublishOrderCreatedV1(ctx, typedOrder(t, id("typed", 0), samples[0])); err != nil {
		t.Fatalf("typed retry: %v", err)
	}

	for i := range samples {
		want := withoutID(s.waitEvent(t, id("http", i)))
		if want["erfired"] == nil || want["data"] == nil || want["region"] != "eu" || want["subject"] != "orders/eu" {
			t.Fatalf("http event not processed: %v", want)
		}
		for _, way := range ways[1:] {
			if got := withoutID(s.waitEvent(t, id(way, i))); !reflect.DeepEqual(got, want) {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				t.Errorf("%s event %d differs from HTTP's\n got: %s\nwant: %s", way, i, gb, wb)
			}
		}
	}
	got := readTenantStream(t, s.natsURL, "demo", len(ways)*len(samples))
	for _, way := range ways {
		for i := range samples {
			if n := got[id(way, i)]; n != 1 {
				t.Errorf("tenant stream has %s %d times, want once", id(way, i), n)
			}
		}
	}
	s.stop(t)
}

func withoutID(ev map[string]any) map[string]any {
	delete(ev, "id")
	return ev
}

func expectAcks(t *testing.T, recv func() (*cepb.Ack, error), n int, want cepb.Ack_Status) []*cepb.Ack {
	t.Helper()
	var acks []*cepb.Ack
	for range n {
		a, err := recv()
		if err != nil {
			t.Fatalf("ack %d: %v", len(acks), err)
		}
		if a.Status != want {
			t.Fatalf("ack %v, want %v", a, want)
		}
		acks = append(acks, a)
	}
	if _, err := recv(); err != io.EOF {
		t.Fatalf("stream did not end after %d acks: %v", n, err)
	}
	return acks
}

func TestGRPCRefusals(t *testing.T) {
	s := startServer(t, t.TempDir())
	conn := dialGRPC(t, s)
	ctx := authed(t, testKey)
	typed := typedpb.NewOrderCreatedV1IngestClient(conn)
	generic := cepb.NewCloudEventIngestClient(conn)
	good := orderSamples(t, 1)[0]

	t.Run("health and reflection", func(t *testing.T) {
		h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "eventrunner.typed.v1.OrderCreatedV1Ingest"})
		if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v %v", h, err)
		}
		rs, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rs.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
		r, err := rs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		rs.CloseSend()
		var names []string
		for _, sv := range r.GetListServicesResponse().GetService() {
			names = append(names, sv.Name)
		}
		sort.Strings(names)
		for _, want := range []string{"eventrunner.ingest.v1.CloudEventIngest", "eventrunner.typed.v1.PaymentCapturedV2Ingest", "grpc.health.v1.Health"} {
			if sort.SearchStrings(names, want) == len(names) || names[sort.SearchStrings(names, want)] != want {
				t.Errorf("reflection lists %v, missing %s", names, want)
			}
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		_, err := typed.PublishOrderCreatedV1(authed(t, "wrong-key-0123456789"), typedOrder(t, "x-1", good))
		wantCode(t, err, codes.Unauthenticated)
		_, err = generic.Publish(context.Background(), &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{genericOrder("x-2", good)}})
		wantCode(t, err, codes.Unauthenticated)
	})

	t.Run("invalid data names the field", func(t *testing.T) {
		ev := typedOrder(t, "bad-1", good)
		ev.Data.Items = nil
		ev.Data.Customer.Email = "not-an-email"
		_, err := typed.PublishOrderCreatedV1(ctx, ev)
		fields := badRequestFields(t, err)
		if !reflect.DeepEqual(fields, []string{"data.$.customer.email", "data.$.items"}) {
			t.Fatalf("BadRequest fields %v", fields)
		}
	})

	t.Run("unknown enum value", func(t *testing.T) {
		ev := typedOrder(t, "bad-2", good)
		ev.Data.Currency = 42
		fields := badRequestFields(t, func() error { _, err := typed.PublishOrderCreatedV1(ctx, ev); return err }())
		if len(fields) != 1 || fields[0] != "data.$.currency" {
			t.Fatalf("BadRequest fields %v", fields)
		}
	})

	t.Run("other tenant", func(t *testing.T) {
		ev := typedOrder(t, "bad-3", good)
		ev.Extensions = map[string]string{"tenantid": "globex"}
		_, err := typed.PublishOrderCreatedV1(ctx, ev)
		wantCode(t, err, codes.PermissionDenied)
	})

	t.Run("too large", func(t *testing.T) {
		ev := typedOrder(t, "bad-4", good)
		ev.Data.Notes = strings.Repeat("n", 2<<20)
		_, err := typed.PublishOrderCreatedV1(ctx, ev)
		wantCode(t, err, codes.ResourceExhausted)
	})

	t.Run("generic batch acks each event", func(t *testing.T) {
		bad := genericOrder("bad-5", good)
		bad.SpecVersion = "0.3"
		unknown := genericOrder("bad-6", good)
		unknown.Type = "com.acme.nope"
		resp, err := generic.Publish(ctx, &cepb.CloudEventBatch{Events: []*cepb.CloudEvent{genericOrder("ok-1", good), bad, unknown}})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, a := range resp.Acks {
			got = append(got, fmt.Sprintf("%s %v %v %s", a.Id, a.Status, codes.Code(a.Code), a.Field))
		}
		want := []string{"ok-1 STATUS_ACCEPTED OK ", "bad-5 STATUS_REJECTED InvalidArgument specversion", "bad-6 STATUS_REJECTED InvalidArgument type"}
		if !reflect.DeepEqual(got, want) || resp.Accepted != 1 || resp.Rejected != 2 {
			t.Fatalf("acks %q, want %q", got, want)
		}
	})

	t.Run("stream acks refusals and goes on", func(t *testing.T) {
		st, err := generic.Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bad := genericOrder("bad-7", []byte(`{"orderId":1}`))
		st.Send(bad)
		st.Send(genericOrder("ok-2", good))
		st.CloseSend()
		acks := map[string]*cepb.Ack{}
		for {
			a, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			acks[a.Id] = a
		}
		if a := acks["bad-7"]; a == nil || a.Status != cepb.Ack_STATUS_REJECTED || codes.Code(a.Code) != codes.InvalidArgument || len(a.Violations) == 0 {
			t.Fatalf("bad-7 ack %v", a)
		}
		if a := acks["ok-2"]; a == nil || a.Status != cepb.Ack_STATUS_ACCEPTED {
			t.Fatalf("ok-2 ack %v", a)
		}
	})
	t.Run("send --grpc", func(t *testing.T) {
		cmd := exec.Command(buildBinary(t), "send", "--grpc", "--grpc-addr", s.grpcAddr, "--api-key", testKey, "--progress=false")
		cmd.Stdin = strings.NewReader(iotEvent("send-1", 212) + "\n" + iotEvent("send-2", 212)[:0] +
			`{"specversion":"1.0","id":"send-2","source":"/e2e","type":"com.acme.iot.reading","data":{"deviceId":"nope"}}` + "\n")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(stdout.String(), "sent 2, accepted 1, rejected 1") ||
			!strings.Contains(stderr.String(), "rejected send-2: InvalidArgument data.$.") {
			t.Fatalf("send --grpc: %v (exit %d)\nstdout: %s\nstderr: %s", err, code, stdout.String(), stderr.String())
		}
		s.waitEvent(t, "send-1")
	})
	s.waitEvent(t, "ok-2")
	resp, err := http.Get(s.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`eventrunner_grpc_ingest_events_total{code="InvalidArgument",tenant="demo"}`, `eventrunner_grpc_ingest_events_total{code="OK",tenant="demo"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	s.stop(t)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func badRequestFields(t *testing.T, err error) []string {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.FieldViolations {
				fields = append(fields, v.Field)
			}
		}
	}
	sort.Strings(fields)
	return fields
}
