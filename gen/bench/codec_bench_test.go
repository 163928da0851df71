package bench

import (
	"encoding/json"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// codecOrder is a ~1 KB com.acme.order.created/v1 event's data, with the
// escapes and non-ASCII text real events carry.
var codecOrder = []byte(`{
  "orderId": "7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13",
  "customer": {"id": "cus_48213", "email": "maria.lopez@example.com", "tier": "gold", "country": "ES", "orderCount": 17},
  "items": [
    {"sku": "BK-10422", "name": "The Pragmatic Programmer, 20th Anniversary Edition", "quantity": 1, "unitPrice": 39.95, "category": "books"},
    {"sku": "EL-88301", "name": "USB-C charging cable 2 m, braided", "quantity": 3, "unitPrice": 12.5, "category": "electronics"},
    {"sku": "GR-00017", "name": "Organic espresso beans 1 kg", "quantity": 2, "unitPrice": 24.9, "category": "grocery"},
    {"sku": "TY-55120", "name": "Wooden train set & tracks", "quantity": 1, "unitPrice": 59, "category": "toys"}
  ],
  "currency": "EUR",
  "total": 186.25,
  "discount": 5,
  "status": "pending",
  "priority": 3,
  "riskScore": 0.125,
  "channel": "web",
  "coupon": "SPRING-10",
  "giftWrap": true,
  "notes": "Leave at the back door, ring twice. \u00dcberraschung f\u00fcr Oma \u2014 danke!",
  "createdAt": "2026-03-14T09:26:53.589Z",
  "shippingAddress": {"line1": "Calle de Alcal\u00e1 42, 3\u00ba B", "city": "Madrid", "postalCode": "28014", "country": "ES"}
}`)

// TestCodecBenchInputValid keeps the benchmark honest: the event is valid and
// both decoders agree on it.
func TestCodecBenchInputValid(t *testing.T) {
	var ours, theirs generated.OrderCreatedV1
	if err := rules.Decode(&ours, codecOrder); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(codecOrder, &theirs); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(&theirs)
	if b := ours.AppendJSON(nil); string(a) != string(b) {
		t.Fatalf("encoders disagree:\n%s\n%s", a, b)
	}
}

// BenchmarkDecodeGenerated decodes into a reused (pooled) fact, as the
// engine does.
func BenchmarkDecodeGenerated(b *testing.B) {
	var f generated.OrderCreatedV1
	var v rules.Violations
	b.SetBytes(int64(len(codecOrder)))
	b.ReportAllocs()
	for b.Loop() {
		v.Reset()
		if err := f.DecodeJSON(codecOrder, &v); err != nil || v.Len() > 0 {
			b.Fatal(err, v.List)
		}
	}
}

// BenchmarkDecodeEncodingJSON is the same work with encoding/json into the
// same struct (zeroed first, as DecodeJSON resets).
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	var f generated.OrderCreatedV1
	b.SetBytes(int64(len(codecOrder)))
	b.ReportAllocs()
	for b.Loop() {
		f = generated.OrderCreatedV1{}
		if err := json.Unmarshal(codecOrder, &f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeValidateGenerated adds Validate: the full check ingest runs.
func BenchmarkDecodeValidateGenerated(b *testing.B) {
	var f generated.OrderCreatedV1
	var v rules.Violations
	b.SetBytes(int64(len(codecOrder)))
	b.ReportAllocs()
	for b.Loop() {
		v.Reset()
		if err := f.DecodeJSON(codecOrder, &v); err != nil {
			b.Fatal(err)
		}
		f.Validate(&v)
		if v.Len() > 0 {
			b.Fatal(v.List)
		}
	}
}

// BenchmarkValidateGenerated is Validate alone on a decoded fact.
func BenchmarkValidateGenerated(b *testing.B) {
	var f generated.OrderCreatedV1
	var v rules.Violations
	if err := f.DecodeJSON(codecOrder, &v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f.Validate(&v)
	}
	if v.Len() > 0 {
		b.Fatal(v.List)
	}
}

func BenchmarkEncodeGenerated(b *testing.B) {
	var f generated.OrderCreatedV1
	if err := json.Unmarshal(codecOrder, &f); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodeEncodingJSON(b *testing.B) {
	var f generated.OrderCreatedV1
	if err := json.Unmarshal(codecOrder, &f); err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		out, err := json.Marshal(&f)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}

// codecReading is a com.acme.iot.reading/v1 event whose location carries
// members its schema does not name (kept by the generated decoder, dropped
// by encoding/json).
var codecReading = []byte(`{"deviceId":"dev-a1b2c3d4","site":"plant-7","sensor":"temperature","value":21.75,"unit":"C",` +
	`"samples":[21.5,21.625,21.75],"battery":87,"firmware":"2.14.1","alert":false,"anomalies":0,` +
	`"location":{"lat":52.52,"lon":13.405,"altitude":34.5,"source":"gps","fix":{"sats":9,"hdop":0.8,"mode":"3d"}},` +
	`"labels":["hall-a","line 3"],"recordedAt":"2026-03-14T09:26:53+01:00"}`)

// BenchmarkDecodeGeneratedExtras decodes an event with extra members into a
// reused fact: the extras' storage is reused, only their paths allocate.
func BenchmarkDecodeGeneratedExtras(b *testing.B) {
	var f generated.IotReadingV1
	var v rules.Violations
	b.SetBytes(int64(len(codecReading)))
	b.ReportAllocs()
	for b.Loop() {
		v.Reset()
		if err := f.DecodeJSON(codecReading, &v); err != nil || v.Len() > 0 {
			b.Fatal(err, v.List)
		}
	}
}

// BenchmarkDecodeEncodingJSONExtras is encoding/json on the same event
// (which drops the extras).
func BenchmarkDecodeEncodingJSONExtras(b *testing.B) {
	var f generated.IotReadingV1
	b.SetBytes(int64(len(codecReading)))
	b.ReportAllocs()
	for b.Loop() {
		f = generated.IotReadingV1{}
		if err := json.Unmarshal(codecReading, &f); err != nil {
			b.Fatal(err)
		}
	}
}
