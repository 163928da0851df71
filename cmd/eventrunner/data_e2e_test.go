package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// iotData wraps data members (after the required ones) into a
// com.acme.iot.reading event. The iot rules leave a pressure reading of a
// mid-charged device alone, so what is stored is the data as sent.
func iotData(id, members string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"/e2e/data","type":"com.acme.iot.reading","data":` + readingData(members) + `}`
}

func readingData(members string) string {
	return `{"deviceId":"dev-data1","sensor":"pressure","value":1013.25,"unit":"hPa"` + members + `,"recordedAt":"2026-11-28T09:00:00Z"}`
}

// storedData GETs a processed event and returns its data exactly as the API
// serves it (compacted, member order kept).
func (s *server) storedData(t *testing.T, id string) string {
	t.Helper()
	s.waitEvent(t, id)
	_, b := s.getRaw(t, "/v1/events/"+id)
	var ev struct{ Data json.RawMessage }
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("event %s: %v: %s", id, err, b)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, ev.Data); err != nil {
		t.Fatalf("event %s data: %v", id, err)
	}
	return c.String()
}

// sameMembers reports whether two JSON documents hold the same members with
// the same values, numbers compared as written. Order is not compared: the
// named properties come back in schema order, the others after them in the
// order sent.
func sameMembers(t *testing.T, a, b string) bool {
	t.Helper()
	decode := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%v: %.200s", err, s)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// TestServeDataAsSent: inside data, nothing answered 202 is lost or
// changed. Members the schema allows but does not name (location's, nested
// 10 and 1000 deep), optional properties sent with their zero value and
// integers written with a fraction or an exponent are read back member for
// member; integers come back canonical (20.0 → 20), the one change besides
// the order (schema order for named properties). What would be stored
// mangled or ambiguous is 422 naming its path.
func TestServeDataAsSent(t *testing.T) {
	t.Run("compiled", func(t *testing.T) { dataAsSent(t, startServer(t, t.TempDir()), false) })
	// grule's interpreter reaches the fact by reflection: the extra members
	// and presence bits must survive it too.
	t.Run("interpreted", func(t *testing.T) {
		s := startServer(t, t.TempDir(), "--rules-dir", filepath.Join("..", "..", "rules"))
		dataAsSent(t, s, true)
	})
}

// dataAsSent posts to s and reads back; interpreted says s runs grule.
func dataAsSent(t *testing.T, s *server, interpreted bool) {
	nest := func(n int) string { return strings.Repeat(`{"n":`, n) + `"leaf"` + strings.Repeat(`}`, n) }
	accepted := []struct{ id, members, want string }{
		{"d-extras", `,"location":{"lat":48.1,"lon":11.5,"altitude":519.5,"geo":{"crs":"WGS84","d":[1,{"x":null}]},"deep10":` + nest(10) + `,"deep1000":` + nest(1000) + `}`, ""},
		{"d-zeros", `,"site":"","battery":0,"location":{},"alert":false,"anomalies":0,"labels":[]`, ""},
		{"d-integers", `,"battery":20.0,"anomalies":2e0`, readingData(`,"battery":20,"anomalies":2`)},
	}
	for _, a := range accepted {
		if code, body := s.post(t, "application/cloudevents+json", nil, iotData(a.id, a.members)); code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", a.id, code, body)
		}
	}
	ev := s.waitEvent(t, "d-extras")
	if !strings.Contains(fmt.Sprint(ev["erkb"]), "iot@") || strings.HasPrefix(fmt.Sprint(ev["erbundle"]), "interpreted-") != interpreted {
		t.Fatalf("not run by the expected iot rules (interpreted %v): %v", interpreted, ev)
	}
	for _, a := range accepted {
		want := a.want
		if want == "" {
			want = readingData(a.members)
		}
		if got := s.storedData(t, a.id); !sameMembers(t, got, want) {
			t.Errorf("%s: stored data differs from what was sent:\n got %.300s\nwant %.300s", a.id, got, want)
		}
	}

	refused := []struct{ name, body, field, detail string }{
		{"duplicate member", iotData("r-1", `,"deviceId":"dev-data2"`), "data.$.deviceId", "appears more than once"},
		{"duplicate spelled with an escape", iotData("r-2", `,"device\u0049d":"dev-data2"`), "data.$.deviceId", "appears more than once"},
		{"duplicate extras", iotData("r-3", `,"location":{"alt":1,"alt":2}`), "data.$.location.alt", "appears more than once"},
		{"invalid UTF-8", iotData("r-4", ",\"site\":\"plant-\xff\""), "data.$.site", "not valid UTF-8: byte 0xff at offset 7"},
		{"overlong UTF-8 in an extra", iotData("r-5", ",\"location\":{\"name\":\"\xc0\xaf\"}"), "data.$.location.name", "not valid UTF-8: byte 0xc0 at offset 1"},
		{"unpaired surrogate", iotData("r-6", `,"location":{"name":"\ud800"}`), "data.$.location.name", `unpaired UTF-16 surrogate \ud800 at offset 1`},
		{"integer with a fraction", iotData("r-7", `,"battery":1.5`), "data.$.battery", "must be an integer, got 1.5"},
		{"integer out of range", iotData("r-8", `,"anomalies":1e400`), "data.$.anomalies", "must be an integer within int64, got 1e400"},
		{"case variant name", iotData("r-9", `,"DeviceID":"dev-data2"`), "data.$.DeviceID", "unknown property"},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			code, body := s.post(t, "application/cloudevents+json", nil, r.body)
			var p struct {
				Status        int
				Field, Detail string
			}
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%d %s: %v", code, body, err)
			}
			if code != http.StatusUnprocessableEntity || p.Field != r.field || !strings.Contains(p.Detail, r.detail) {
				t.Errorf("got %d field %q detail %q, want 422 at %s: %s", code, p.Field, p.Detail, r.field, r.detail)
			}
		})
	}
	s.stop(t)
}
