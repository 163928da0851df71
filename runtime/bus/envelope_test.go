package bus_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	type ent struct{ schema, event string }
	in := []ent{{"a/v1", `{"id":"1"}`}, {"", `{"id":"2"}`}, {"b.c/v12", string(bytes.Repeat([]byte("x"), 300))}}
	var body []byte
	size := 0
	for _, e := range in {
		body = bus.AppendEnvelopeEntry(body, e.schema, []byte(e.event))
		size += bus.EnvelopeEntrySize(e.schema, []byte(e.event))
	}
	if size != len(body) {
		t.Fatalf("EnvelopeEntrySize sums to %d, the body has %d bytes", size, len(body))
	}
	var got []ent
	h := nats.Header{bus.HeaderContentType: []string{bus.ContentTypeEnvelope}}
	err := bus.EachEvent(h, body, func(part int, schema string, event []byte) error {
		if part != len(got)+1 {
			t.Errorf("part %d, want %d", part, len(got)+1)
		}
		got = append(got, ent{schema, string(event)})
		return nil
	})
	if err != nil || fmt.Sprint(got) != fmt.Sprint(in) {
		t.Fatalf("EachEvent = %v, %v; want %v", got, err, in)
	}
	single := nats.Header{bus.HeaderSchema: []string{"a/v1"}}
	_ = bus.EachEvent(single, []byte(`{}`), func(part int, schema string, event []byte) error {
		if part != 0 || schema != "a/v1" || string(event) != `{}` {
			t.Errorf("a single event: part %d schema %q event %q", part, schema, event)
		}
		return nil
	})
}

func TestEnvelopeRefusesDamage(t *testing.T) {
	good := bus.AppendEnvelopeEntry(nil, "a/v1", []byte(`{"id":"1"}`))
	cases := map[string][]byte{
		"truncated event":  append(append([]byte{}, good...), good[:len(good)-1]...),
		"truncated length": append(append([]byte{}, good...), 0x80),
		"length past end":  append(append([]byte{}, good...), 1, 'a', 50, '{'),
		"empty event":      append(append([]byte{}, good...), 0, 0),
	}
	for name, body := range cases {
		n := 0
		err := bus.EachEnvelopeEntry(body, func(int, string, []byte) error { n++; return nil })
		if !errors.Is(err, bus.ErrBadEnvelope) || n != 1 {
			t.Errorf("%s: %d entries, %v; want the first entry then ErrBadEnvelope", name, n, err)
		}
	}
}

func TestEnvelopeMsgID(t *testing.T) {
	a := bus.EnvelopeMsgID([]string{"t/s/1", "t/s/2"})
	if a != bus.EnvelopeMsgID([]string{"t/s/1", "t/s/2"}) {
		t.Fatal("not deterministic")
	}
	for _, other := range [][]string{{"t/s/2", "t/s/1"}, {"t/s/1t/s/2"}, {"t/s/1", "t/s/2", ""}} {
		if bus.EnvelopeMsgID(other) == a {
			t.Errorf("%q has the id of [t/s/1 t/s/2]", other)
		}
	}
}

func FuzzEachEnvelopeEntry(f *testing.F) {
	f.Add(bus.AppendEnvelopeEntry(bus.AppendEnvelopeEntry(nil, "a/v1", []byte("{}")), "", []byte("x")))
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, body []byte) {
		var again []byte
		err := bus.EachEnvelopeEntry(body, func(_ int, schema string, event []byte) error {
			again = bus.AppendEnvelopeEntry(again, schema, event)
			return nil
		})
		if err == nil && !bytes.Equal(again, body) {
			// Non-minimal varints decode but re-encode shorter; anything
			// else accepted must round-trip.
			if len(again) >= len(body) {
				t.Fatalf("accepted %x, re-encoded %x", body, again)
			}
		}
		if err != nil && !errors.Is(err, bus.ErrBadEnvelope) {
			t.Fatalf("error %v is not ErrBadEnvelope", err)
		}
	})
}
