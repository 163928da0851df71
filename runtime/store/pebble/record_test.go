package pebble

import (
	"bytes"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

func FuzzBody(f *testing.F) {
	f.Add("t", "/s", "sub", "t/v1", []byte(`{"a":1}`), int64(1), uint32(2))
	f.Add("", "", "", "", []byte(nil), int64(-1), uint32(0))
	f.Fuzz(func(t *testing.T, typ, src, subj, schema string, ev []byte, sec int64, nsec uint32) {
		in := store.Record{Type: typ, Source: src, Subject: subj, SchemaID: schema, Event: ev,
			StoredAt: time.Unix(sec, int64(nsec%1e9)).UTC()}
		b := encodeBody(&in)
		var out store.Record
		if err := decodeBody(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != typ || out.Source != src || out.Subject != subj || out.SchemaID != schema ||
			!bytes.Equal(out.Event, ev) || !out.StoredAt.Equal(in.StoredAt) {
			t.Fatalf("round trip: %+v, want %+v", out, in)
		}
		// Truncations and garbage must fail cleanly, not panic.
		for i := range b {
			_ = decodeBody(b[:i], &out)
		}
		_ = decodeBody(ev, &out)
	})
}
