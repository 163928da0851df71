package pebble

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

func FuzzBody(f *testing.F) {
	f.Add("t", "/s", "sub", "t/v1", []byte(`{"a":0}`), []byte(`{"a":1}`), int64(1), uint32(2))
	f.Add("", "", "", "", []byte(nil), []byte(nil), int64(-1), uint32(0))
	// Input that the processed event mostly holds: written as a delta.
	f.Add("t", "/s", "", "t/v1", []byte(deltaInput), []byte(deltaEvent), int64(3), uint32(4))
	f.Add("t", "/s", "", "t/v1", []byte(deltaInput), []byte(deltaInput), int64(3), uint32(4))
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

// deltaInput and deltaEvent are an event's data as it arrived and the
// processed event the rules made of it: two members changed, one added.
const (
	deltaInput = `{"orderId":"7f1c2a9e-4b1d-4c8e-9a57-000000000001","customer":{"id":"cust-000001","tier":"gold"},` +
		`"items":[{"sku":"BOOK-0001","name":"The Analytical Engine","quantity":2,"unitPrice":24.5}],"total":49,"priority":3,` +
		`"notes":"Leave at the porter's lodge; ring twice.","shippingAddress":{"line1":"12 St James's Square","city":"London"}}`
	deltaEvent = `{"specversion":"1.0","id":"e1","source":"/s","type":"t","erfired":"GoldPriority","data":` +
		`{"orderId":"7f1c2a9e-4b1d-4c8e-9a57-000000000001","customer":{"id":"cust-000001","tier":"gold"},` +
		`"items":[{"sku":"BOOK-0001","name":"The Analytical Engine","quantity":2,"unitPrice":24.5}],"total":53.99,"priority":8,` +
		`"remarks":"gift;","notes":"Leave at the porter's lodge; ring twice.","shippingAddress":{"line1":"12 St James's Square","city":"London"}}}`
)

// TestBodyInputDelta: an input the processed event mostly holds is stored
// as a delta (version 3), much smaller than the input, and read back
// exactly; one it does not hold (other spacing) is stored whole.
func TestBodyInputDelta(t *testing.T) {
	for name, tc := range map[string]struct {
		input, event string
		version      byte
	}{
		"rules changed a few members": {deltaInput, deltaEvent, bodyVersion3},
		"data unchanged":              {deltaInput, `{"id":"e1","data":` + deltaInput + `}`, bodyVersion3},
		"other spacing":               {`{ "orderId": "7f1c2a9e", "customer": { "id": "cust-000001" } }`, deltaEvent, bodyVersion},
		"short input":                 {`{"a":1}`, `{"data":{"a":1}}`, bodyVersion},
	} {
		r := store.Record{Type: "t", Source: "/s", Input: []byte(tc.input), Event: []byte(tc.event), StoredAt: time.Unix(1, 0).UTC()}
		b := encodeBody(&r)
		if b[0] != tc.version {
			t.Errorf("%s: version %d, want %d", name, b[0], tc.version)
		}
		if tc.version == bodyVersion3 {
			if extra := len(b) - len(tc.event) - bodyContent; extra > len(tc.input)/3 {
				t.Errorf("%s: the input takes %d bytes of %d", name, extra, len(tc.input))
			}
		}
		var out store.Record
		if err := decodeBody(b, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out.Input) != tc.input || string(out.Event) != tc.event {
			t.Errorf("%s: read back input %q event %q", name, out.Input, out.Event)
		}
	}
}

// TestSameContentAcrossVersions: a record stored with its input whole
// (version 2, before the delta) and the same record encoded now (version 3)
// are the same content, so its redelivery after an upgrade writes nothing.
func TestSameContentAcrossVersions(t *testing.T) {
	r := store.Record{Type: "t", Source: "/s", SchemaID: "t/v1", Input: []byte(deltaInput), Event: []byte(deltaEvent), StoredAt: time.Unix(5, 0).UTC()}
	v3 := encodeBody(&r)
	if v3[0] != bodyVersion3 {
		t.Fatalf("version %d, want 3", v3[0])
	}
	v2 := append([]byte{bodyVersion}, v3[1:bodyContent]...)
	for _, f := range []string{r.Type, r.Source, r.Subject, r.SchemaID, string(r.Input)} {
		v2 = binary.AppendUvarint(v2, uint64(len(f)))
		v2 = append(v2, f...)
	}
	v2 = append(v2, r.Event...)
	var back store.Record
	if err := decodeBody(v2, &back); err != nil || string(back.Input) != deltaInput {
		t.Fatalf("the version 2 body: %v %q", err, back.Input)
	}
	if !sameContent(v2, v3) || !sameContent(v3, v2) {
		t.Error("versions 2 and 3 of one record are not the same content")
	}
	r.Event = []byte(deltaEvent + " ")
	if sameContent(v2, encodeBody(&r)) {
		t.Error("another event is the same content")
	}
}
