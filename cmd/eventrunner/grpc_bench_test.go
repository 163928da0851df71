package main

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/generated/typedpb"
	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// BenchmarkDecodeOrder decodes the data of the same ~1 KB order event
// (bench.go's) into its fact: from JSON with the generated decoder, and
// from the typed protobuf message with vtprotobuf's generated unmarshaller
// plus the generated ToFact (and, for reference, protobuf's reflection
// unmarshaller).
func BenchmarkDecodeOrder(b *testing.B) {
	var ev cloudevents.Event
	if err := cloudevents.Parse(benchEvent("decode-1", 1), &ev); err != nil {
		b.Fatal(err)
	}
	jsonData := []byte(ev.Data)
	typed, err := typedBenchEvent(benchEvent("decode-1", 1))
	if err != nil {
		b.Fatal(err)
	}
	pbData, err := typed.Data.MarshalVT()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("data: %d bytes of JSON, %d bytes of protobuf", len(jsonData), len(pbData))
	var f generated.OrderCreatedV1
	b.Run("json-generated", func(b *testing.B) {
		var v rules.Violations
		b.SetBytes(int64(len(jsonData)))
		b.ReportAllocs()
		for b.Loop() {
			v.Reset()
			if err := f.DecodeJSON(jsonData, &v); err != nil || v.Len() > 0 {
				b.Fatal(err, v.List)
			}
		}
	})
	var m typedpb.OrderCreatedV1
	b.Run("protobuf-vtproto", func(b *testing.B) {
		b.SetBytes(int64(len(pbData)))
		b.ReportAllocs()
		for b.Loop() {
			m.Reset()
			if err := m.UnmarshalVT(pbData); err != nil {
				b.Fatal(err)
			}
			m.ToFact(&f)
		}
	})
	b.Run("protobuf-reflect", func(b *testing.B) {
		b.SetBytes(int64(len(pbData)))
		b.ReportAllocs()
		for b.Loop() {
			m.Reset()
			if err := proto.Unmarshal(pbData, &m); err != nil {
				b.Fatal(err)
			}
			m.ToFact(&f)
		}
	})
}

// TestTypedRoundTrip converts every sample's data JSON → fact → typed
// message → protobuf bytes → message → fact and checks that the fact
// encodes to the same JSON: the generated conversions lose nothing.
func TestTypedRoundTrip(t *testing.T) {
	checked := 0
	for i, d := range orderSamples(t, 1000) {
		var f, back generated.OrderCreatedV1
		if err := rules.Decode(&f, d); err != nil {
			continue // invalid samples (e.g. enum values the message cannot hold)
		}
		checked++
		var m, m2 typedpb.OrderCreatedV1
		m.FromFact(&f)
		b, err := m.MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := proto.Marshal(&m); string(want) != string(b) {
			t.Errorf("sample %d: vtproto and protobuf encode differently", i)
		}
		if err := m2.UnmarshalVT(b); err != nil {
			t.Fatal(err)
		}
		m2.ToFact(&back)
		if got, want := string(back.AppendJSON(nil)), string(f.AppendJSON(nil)); got != want {
			t.Errorf("sample %d round trip:\n got %s\nwant %s", i, got, want)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d valid samples", checked)
	}
}
