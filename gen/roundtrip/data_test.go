package roundtrip

import (
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// reading is a valid com.acme.iot.reading/v1 event's data; its location
// allows members the schema does not name.
const reading = `{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"recordedAt":"2026-03-14T09:26:53Z"`

// TestDataAsSent: what the schema accepts is written back member for
// member: members it allows but does not name (at any depth), optional
// properties sent with their zero value, integers written 10.0 or 1e1
// (canonicalised to 10).
func TestDataAsSent(t *testing.T) {
	deep := strings.Repeat(`{"n":`, 1000) + `[]` + strings.Repeat(`}`, 1000)
	tests := []struct{ name, in, want string }{
		{"extras in location", reading + `,"location":{"lat":1,"altitude":12.50,"LAT":2,"geo":{"crs":"WGS84","d":[1,{"x":null}]}}}`,
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"location":{"lat":1,"altitude":12.50,"LAT":2,"geo":{"crs":"WGS84","d":[1,{"x":null}]}},"recordedAt":"2026-03-14T09:26:53Z"}`},
		{"extras only", reading + `,"location":{"z":true}}`,
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"location":{"z":true},"recordedAt":"2026-03-14T09:26:53Z"}`},
		{"extra nested 1000 deep", reading + `,"location":{"deep":` + deep + `}}`,
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"location":{"deep":` + deep + `},"recordedAt":"2026-03-14T09:26:53Z"}`},
		{"explicit zero values", reading + `,"alert":false,"battery":0,"site":"","anomalies":0,"location":{},"labels":[]}`,
			`{"deviceId":"dev-abcd","site":"","sensor":"humidity","value":1.5,"battery":0,"location":{},"alert":false,"anomalies":0,"labels":[],"recordedAt":"2026-03-14T09:26:53Z"}`},
		{"zero location members", reading + `,"location":{"lat":0,"lon":0}}`,
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"location":{"lat":0,"lon":0},"recordedAt":"2026-03-14T09:26:53Z"}`},
		{"integers with fraction or exponent", reading + `,"battery":10.0,"anomalies":1e1}`,
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"battery":10,"anomalies":10,"recordedAt":"2026-03-14T09:26:53Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f generated.IotReadingV1
			if err := rules.Decode(&f, []byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			if got := string(f.AppendJSON(nil)); got != tt.want {
				t.Errorf("AppendJSON:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDataExactInteger: integers are parsed without float64 rounding.
func TestDataExactInteger(t *testing.T) {
	var f generated.OrderCreatedV1
	in := order(`"total":2.5`, `"total":2.5,"priority":1e0`, `"quantity":1`, `"quantity":10.000`)
	if err := rules.Decode(&f, []byte(in)); err != nil {
		t.Fatal(err)
	}
	if f.Priority != 1 || f.Items[0].Quantity != 10 {
		t.Errorf("priority %d, quantity %d", f.Priority, f.Items[0].Quantity)
	}
	var big generated.IotReadingV1
	var v rules.Violations
	if err := big.DecodeJSON([]byte(reading+`,"anomalies":9007199254740993.0}`), &v); err != nil || v.Len() > 0 || big.Anomalies != 9007199254740993 {
		t.Errorf("anomalies %d (%v %v), want 9007199254740993", big.Anomalies, err, v.List)
	}
}

// TestDataRefused: inside data, what would be stored mangled, ambiguous or
// silently dropped is a violation at its path.
func TestDataRefused(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"duplicate member", `{"deviceId":"dev-abcd","deviceId":"dev-efgh","sensor":"humidity","value":1,"recordedAt":"2026-03-14T09:26:53Z"}`,
			[]string{`$.deviceId: appears more than once`}},
		{"duplicate spelled with an escape", reading + `,"device\u0049d":"dev-efgh"}`, []string{`$.deviceId: appears more than once`}},
		{"duplicate nested property", reading + `,"location":{"lat":1,"lat":2}}`, []string{`$.location.lat: appears more than once`}},
		{"duplicate extras", reading + `,"location":{"alt":1,"\u0061lt":2}}`, []string{`$.location.alt: appears more than once`}},
		{"duplicate inside an extra", reading + `,"location":{"geo":{"a":[{"k":1,"k":2}]}}}`, []string{`$.location.geo.a[0].k: appears more than once`}},
		{"invalid UTF-8 in a value", strings.Replace(reading, `"dev-abcd"`, "\"dev-\xff\"", 1) + `}`,
			[]string{`$.deviceId: not valid UTF-8: byte 0xff at offset 5`}},
		{"overlong UTF-8", reading + ",\"site\":\"\xc0\xaf\"}", []string{`$.site: not valid UTF-8: byte 0xc0 at offset 1`}},
		{"UTF-8-encoded surrogate", reading + ",\"labels\":[\"ok\",\"\xed\xa0\x80\"]}", []string{`$.labels[1]: not valid UTF-8: byte 0xed at offset 1`}},
		{"unpaired surrogate escape", reading + `,"site":"\ud800"}`, []string{`$.site: unpaired UTF-16 surrogate \ud800 at offset 1`}},
		{"unpaired surrogate in an enum", strings.Replace(reading, `"humidity"`, `"humidity\udc00"`, 1) + `}`,
			[]string{`$.sensor: unpaired UTF-16 surrogate \udc00 at offset 9`}},
		{"unpaired surrogate in an extra", reading + `,"location":{"name":"\ud800\u0041"}}`, []string{`$.location.name: unpaired UTF-16 surrogate \ud800 at offset 1`}},
		{"invalid UTF-8 in an extra's name", reading + ",\"location\":{\"n\xff\":1}}", []string{`$.location["n\xff"]: not valid UTF-8: byte 0xff at offset 2`}},
		{"invalid UTF-8 in an unknown name", reading + ",\"x\xff\":1}", []string{`$["x\xff"]: not valid UTF-8: byte 0xff at offset 2`}},
		{"case variant is not the property", reading + `,"DeviceID":"dev-efgh"}`, []string{`$.DeviceID: unknown property`}},
		{"integer with a fraction", reading + `,"battery":1.5}`, []string{`$.battery: must be an integer, got 1.5`}},
		{"integer too large", reading + `,"anomalies":1e400}`, []string{`$.anomalies: must be an integer within int64, got 1e400`}},
		{"integer out of int64", reading + `,"anomalies":9223372036854775808.0}`, []string{`$.anomalies: must be an integer within int64, got 9223372036854775808.0`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f generated.IotReadingV1
			var v rules.Violations
			if err := f.DecodeJSON([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range v.List {
				got = append(got, x.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestDataRuleAssignments: a rule that sets an optional property writes it
// even when the event left it out; one that zeroes a property the event sent
// still writes it (its zero value), so AppendJSON never drops a member.
func TestDataRuleAssignments(t *testing.T) {
	var f generated.IotReadingV1
	if err := rules.Decode(&f, []byte(reading+`,"battery":50}`)); err != nil {
		t.Fatal(err)
	}
	f.Alert, f.Battery = true, 0
	want := `{"deviceId":"dev-abcd","sensor":"humidity","value":1.5,"battery":0,"alert":true,"recordedAt":"2026-03-14T09:26:53Z"}`
	if got := string(f.AppendJSON(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestDecodeWithoutExtrasDoesNotAllocate: presence bits and the extra member
// set cost nothing on an event that sends no extra member, once the fact is
// pooled; a reused fact keeps the extras' capacity, so it allocates less
// than a fresh one for an event with extras.
func TestDecodeWithoutExtrasDoesNotAllocate(t *testing.T) {
	plain := []byte(reading + `,"location":{"lat":1,"lon":2},"alert":false}`)
	var f generated.IotReadingV1
	var v rules.Violations
	decode := func(f *generated.IotReadingV1, data []byte) {
		v.Reset()
		if err := f.DecodeJSON(data, &v); err != nil || v.Len() > 0 {
			t.Fatal(err, v.List)
		}
	}
	// deviceId and recordedAt are the strings that are not enum values.
	if allocs := testing.AllocsPerRun(200, func() { decode(&f, plain) }); allocs != 2 {
		t.Errorf("without extras: %v allocations, want 2 (one per non-enum string)", allocs)
	}
	extra := []byte(reading + `,"location":{"lat":1,"alt":{"m":[1,2]},"src":"gps","a":1,"b":2,"c":3}}`)
	reused := testing.AllocsPerRun(200, func() { decode(&f, extra) })
	fresh := testing.AllocsPerRun(200, func() { decode(new(generated.IotReadingV1), extra) })
	if reused >= fresh {
		t.Errorf("with extras: reused fact %v allocations, fresh %v: Reset does not keep the extras' capacity", reused, fresh)
	}
}
