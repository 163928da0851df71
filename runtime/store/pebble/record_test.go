package pebble

import (
	"bytes"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

func FuzzBody(f *testing.F) {
	f.Add("t", "/s", "sub", "t/v1", []byte(`{"a":0}`), []byte(`{"a":1}`), int64(1), uint32(2))
	f.Add("", "", "", "", []byte(nil), []byte(nil), int64(-1), uint32(0))
	f.Fuzz(func(t *testing.T, typ, src, subj, schema string, input, ev []byte, sec int64, nsec uint32) {
		in := store.Record{Type: typ, Source: src, Subject: subj, SchemaID: schema, Input: input, Event: ev,
			StoredAt: time.Unix(sec, int64(nsec%1e9)).UTC()}
		b := encodeBody(&in)
		var out store.Record
		if err := decodeBody(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != typ || out.Source != src || out.Subject != subj || out.SchemaID != schema ||
			!bytes.Equal(out.Input, input) || !bytes.Equal(out.Event, ev) || !out.StoredAt.Equal(in.StoredAt) {
			t.Fatalf("round trip: %+v, want %+v", out, in)
		}
		// Truncations and garbage must fail cleanly, not panic.
		for i := range b {
			_ = decodeBody(b[:i], &out)
		}
		_ = decodeBody(ev, &out)
	})
}

// TestBodyVersion1 reads a body written before Input was kept: the same
// fields, no Input.
func TestBodyVersion1(t *testing.T) {
	v1 := []byte{bodyVersion1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9}
	for _, s := range []string{"com.acme.x", "/s", "subj", "com.acme.x/v1"} {
		v1 = append(v1, byte(len(s)))
		v1 = append(v1, s...)
	}
	v1 = append(v1, `{"data":1}`...)
	var r store.Record
	if err := decodeBody(v1, &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != "com.acme.x" || r.Source != "/s" || r.Subject != "subj" || r.SchemaID != "com.acme.x/v1" ||
		r.Input != nil || string(r.Event) != `{"data":1}` || !r.StoredAt.Equal(time.Unix(7, 9)) {
		t.Fatalf("version 1 body read as %+v", r)
	}
	if typ, src, err := bodyTypeSource(v1); err != nil || typ != "com.acme.x" || src != "/s" {
		t.Fatalf("bodyTypeSource(version 1) = %q, %q, %v", typ, src, err)
	}
}
