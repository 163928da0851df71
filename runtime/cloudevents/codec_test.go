package cloudevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var eventSeeds = []string{
	`{"specversion":"1.0","id":"1","source":"/s","type":"com.acme.order.created","data":{"a":1}}`,
	`{"specversion":"1.0","id":"e\u00e9\n","source":"urn:x","type":"t","subject":"s","time":"2024-01-02T03:04:05.123Z",` +
		`"datacontenttype":"application/json","dataschema":"t/v2","tenantid":"acme","ext1":"x","ext2":42,"ext3":true,"data":[1,2.5e3,-0,"x",null,{}]}`,
	` { "specversion" : "1.0" , "id" : "2" , "source" : "/" , "type" : "t" , "data" : null } `,
	`{"specversion":"1.0","id":"3","source":"/","type":"t","data_base64":"eyJhIjoxfQ=="}`,
	`{"specversion":"1.0","id":"4","source":"/","type":"t","data":"a \"quoted\" \\ string \u2028"}`,
	`{}`,
	`{"specversion":1}`,
	`{"id":"1",}`,
	`[]`,
	`{"a":[1,2,{"b":[true,false,null]}]} x`,
	`{"specversion":"1.0","id":"5","source":"/","type":"t","data":{"deep":[[[[[]]]]],"n":-12.5E-3}}`,
	`{"id":"\ud83d\ude00","source":"/","type":"t","specversion":"1.0"}`,
	"{\"id\":\"bad \xff utf8\",\"source\":\"/\",\"type\":\"t\",\"specversion\":\"1.0\"}",
	`{"id":"1","id":"2","source":"/","type":"t","specversion":"1.0"}`,
	`{"data":01}`,
	`{"data":1.}`,
	`{"data":"\x"}`,
	`{"data":tru}`,
}

func TestParseEventMatchesParseStructured(t *testing.T) {
	for _, s := range eventSeeds {
		checkParseEvent(t, []byte(s))
	}
	for _, h := range hostileEvents {
		checkParseEvent(t, []byte(h.in))
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	for _, h := range hostileEvents {
		f.Add([]byte(h.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkParseEvent(t, b) })
}

// checkParseEvent holds Parse to parseReference (the
// reference, built on encoding/json) and Append to a round trip.
func checkParseEvent(t *testing.T, b []byte) {
	var ev Event
	err := Parse(b, &ev)
	var syn *SyntaxError
	isObject := json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
	if errors.As(err, &syn) == isObject {
		t.Fatalf("Parse(%q): syntax error %v, but json.Valid && object = %v", b, err, isObject)
	}
	ref, refErr := parseReference(b)
	if refErr == nil {
		if err != nil {
			t.Fatalf("Parse(%q) = %v, ParseStructured accepted it", b, err)
		}
		if err := ev.Check(); err != nil {
			t.Fatalf("Parse(%q) gave an event failing Check: %v", b, err)
		}
		if !bytes.Contains(b, []byte("data_base64")) { // with both, the winner depends on map order
			assertSameEvent(t, b, &ev, ref)
		}
	}
	if err != nil {
		return
	}
	// Round trip through Append.
	out := Append(nil, &ev, ev.Data, []Extension{{Name: "erkb", Value: "k@1"}, {Name: "erdropped", Value: "true", Raw: true}})
	if !json.Valid(out) {
		t.Fatalf("Append produced invalid JSON %q from %q", out, b)
	}
	var back Event
	if err := Parse(out, &back); err != nil {
		t.Fatalf("Parse(Append(%q)) = %v", b, err)
	}
	want := ev
	want.Extensions = map[string]json.RawMessage{}
	for k, v := range ev.Extensions {
		want.Extensions[k] = v
	}
	want.Extensions["erkb"] = json.RawMessage(`"k@1"`)
	want.Extensions["erdropped"] = json.RawMessage(`true`)
	normalizeUTF8(&want)
	assertSameEvent(t, out, &back, &want)
}

// normalizeUTF8 applies what encoding a string does to invalid UTF-8.
func normalizeUTF8(ev *Event) {
	for _, p := range []*string{&ev.SpecVersion, &ev.ID, &ev.Source, &ev.Type, &ev.Subject, &ev.Time, &ev.DataContentType, &ev.DataSchema, &ev.TenantID} {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}
}

func assertSameEvent(t *testing.T, in []byte, got, want *Event) {
	t.Helper()
	g, w := *got, *want
	g.Extensions, w.Extensions = compactAll(g.Extensions), compactAll(w.Extensions)
	g.Data, w.Data = compact(g.Data), compact(w.Data)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("event from %q:\n got %+v\nwant %+v", in, g, w)
	}
}

func compactAll(m map[string]json.RawMessage) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = compact(v)
	}
	return out
}

func compact(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return append(json.RawMessage("invalid:"), b...)
	}
	return buf.Bytes()
}

func TestAppendEvent(t *testing.T) {
	ev := &Event{
		SpecVersion: "1.0", ID: "42", Source: "/shop", Type: "com.acme.order.created",
		Time: "2024-01-02T03:04:05Z", TenantID: "acme",
		Extensions: map[string]json.RawMessage{"zeta": json.RawMessage(`"z"`), "alpha": json.RawMessage(`1`), "erkb": json.RawMessage(`"forged"`)},
	}
	got := string(Append(nil, ev, []byte(`{"total":5}`), []Extension{
		{Name: "erkb", Value: "orders@1.0.0"},
		{Name: "erdropped", Value: "false", Raw: true},
		{Name: "ertags", Value: "vip,\"big\""},
	}))
	want := `{"specversion":"1.0","id":"42","source":"/shop","type":"com.acme.order.created","time":"2024-01-02T03:04:05Z","tenantid":"acme",` +
		`"alpha":1,"zeta":"z","erkb":"orders@1.0.0","erdropped":false,"ertags":"vip,\"big\"","data":{"total":5}}`
	if got != want {
		t.Fatalf("Append:\n got %s\nwant %s", got, want)
	}
	if s := string(appendString(nil, "a\x01\t\"\\\xffé")); s != `"a\u0001\t\"\\\ufffdé"` {
		t.Errorf("appendString = %s", s)
	}
}

func BenchmarkParseEvent(b *testing.B) {
	ev := &Event{SpecVersion: "1.0", ID: "0190c3a4-7e4f-7b1a-9c1d-5e3f2a1b0c9d", Source: "/shop/eu", Type: "com.acme.order.created",
		Time: "2024-01-02T03:04:05.123456Z", TenantID: "acme", DataContentType: "application/json"}
	data := []byte(`{"orderId":"o-1","customer":{"id":"c-1","email":"a@b.c"},"items":[` + strings.Repeat(`{"sku":"sku-123","qty":2,"price":9.99},`, 20) + `{"sku":"x","qty":1,"price":1}],"total":200.5}`)
	msg := Append(nil, ev, data, nil)
	b.Run("bus.Parse", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		var out Event
		for b.Loop() {
			if err := Parse(msg, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parseReference", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseReference(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		ext := []Extension{{Name: "erkb", Value: "orders@1.0.0"}, {Name: "erfired", Value: "a,b"}}
		for b.Loop() {
			buf = Append(buf[:0], ev, data, ext)
		}
	})
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`[]`, nil, true},
		{` [ {"a":1} , {"b":[1,2]} ] `, []string{`{"a":1}`, `{"b":[1,2]}`}, true},
		{`[1,"x",null]`, []string{`1`, `"x"`, `null`}, true},
		{`[{"a":1}`, nil, false},
		{`[{"a":1},]`, nil, false},
		{`{"a":1}`, nil, false},
		{`[1] 2`, nil, false},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("SplitArray(%s) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if tt.ok && strings.Join(gs, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitArray(%s) = %q, want %q", tt.in, gs, tt.want)
		}
	}
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[{"a":1},{"b":2}]`, `[1,`, `[[],[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := SplitArray(b)
		var ref []json.RawMessage
		refErr := json.Unmarshal(b, &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("SplitArray(%q) = %v, encoding/json says %v", b, err, refErr)
		}
		if err == nil && len(parts) != len(ref) {
			t.Fatalf("SplitArray(%q): %d parts, encoding/json %d", b, len(parts), len(ref))
		}
	})
}
