package grpcingest

import (
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	"github.com/eventrunner/eventrunner/runtime/grpcingest/cepb"
)

func TestCodec(t *testing.T) {
	small := event("small")
	nilOneof := event("nil-oneof")
	nilOneof.Data = &cepb.CloudEvent_ProtoData{} // vtprotobuf miscounts it
	big := event("big")
	big.Data = &cepb.CloudEvent_TextData{TextData: strings.Repeat("x", 64<<10)} // above grpc's pooling threshold
	for _, m := range []*cepb.CloudEvent{small, big, nilOneof} {
		data, err := Codec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := proto.Marshal(m)
		if got := data.Materialize(); string(got) != string(want) {
			t.Fatalf("%s: vtproto bytes differ from protobuf's", m.Id)
		}
		var back cepb.CloudEvent
		if err := (Codec{}).Unmarshal(data, &back); err != nil || !proto.Equal(&back, m) {
			t.Fatalf("%s: round trip: %v", m.Id, err)
		}
		data.Free()
	}
	// Messages without vtprotobuf code go through the standard codec.
	h := &healthpb.HealthCheckRequest{Service: "x"}
	data, err := Codec{}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back healthpb.HealthCheckRequest
	if err := (Codec{}).Unmarshal(data, &back); err != nil || back.Service != "x" {
		t.Fatalf("fallback: %v %v", &back, err)
	}
}
