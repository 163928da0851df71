package roundtrip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

// sample returns the valid sample event of a schema (testdata/samples).
func sample(t testing.TB, s *rules.Schema) []byte {
	t.Helper()
	stem := stemOf(s)
	b, err := os.ReadFile(filepath.Join("testdata", "samples", stem+".json"))
	if err != nil {
		t.Fatalf("sample of %s: %v", s.ID, err)
	}
	return b
}

// stemOf names a schema's generated files, e.g. order_created_v1.
func stemOf(s *rules.Schema) string {
	name := reflect.TypeOf(s.New()).Elem().Name()
	var b []byte
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && !(name[i-1] >= 'A' && name[i-1] <= 'Z') {
				b = append(b, '_')
			}
			r += 'a' - 'A'
		}
		b = append(b, byte(r))
	}
	return string(b)
}

func schema(t testing.TB, id string) *rules.Schema {
	s, ok := generated.Registry().Schema(id)
	if !ok {
		t.Fatalf("no schema %s", id)
	}
	return s
}

// mutations turn a valid sample into seeds that reach the codec's corners:
// wrong types, nulls, duplicate keys, case-variant keys, escapes, unknown
// properties, syntax errors.
var mutations = []func([]byte) []byte{
	func(b []byte) []byte { return b },
	func(b []byte) []byte { return bytes.Replace(b, []byte(`{`), []byte(`{"zz":[1,{"q":null}],`), 1) },
	func(b []byte) []byte { return bytes.Replace(b, []byte(`": "`), []byte(`": null, "x": "`), 1) },
	func(b []byte) []byte { return bytes.Replace(b, []byte(`":"`), []byte(`":1,"y":"`), 1) },
	func(b []byte) []byte { return bytes.Replace(b, []byte(`"`), []byte(`"\u00`), 3) },
	func(b []byte) []byte { return bytes.ToUpper(b) },
	func(b []byte) []byte { return append(append([]byte(nil), b[:len(b)/2]...), '}') },
	func(b []byte) []byte {
		return append(bytes.TrimRight(b, "}\n"), []byte(`,"items":[],"flags":[],"labels":[]}`)...)
	},
	func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`e`), []byte(`\u0065`)) },
	func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`a`), []byte("\xff")) },
	func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`1`), []byte(`1.5e3`)) },
	func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(`"`), []byte(`'`)) },
	func(b []byte) []byte { return append(b, b...) },
}

var extraSeeds = []string{
	``, `null`, `[]`, `{}`, `{"a":1}`, `"x"`, `{"orderId":1e400}`, `{"items":[{},{}]}`,
	`{"items":[{"sku":"AAA"}],"items":[{"quantity":2},{"sku":"B"}]}`,
	`{"customer":{"id":"a"},"customer":{"email":"b"}}`,
	`{"ORDERID":"x","orderid":"y","Priority":-0,"riskScore":-0}`,
	`{"labels":["\ud800","\ud83d\ude00","\udc00\u0041","\u2029"]}`,
	`{"samples":[9007199254740993,1e-400,-0,123456789012345678901234567890]}`,
	`{"battery":9223372036854775807,"anomalies":-9223372036854775808}`,
	`{"battery":9223372036854775808}`, `{"battery":1.0}`, `{"battery":"1"}`,
	`{"parcels":[{"id":"a","dimensions":{"lengthCm":1}}],"parcels":[{},{"id":"b"}]}`,
	"{\"label\":\"\x00\"}", `{"x":[[[[[[[[]]]]]]]]}`, ` {} `, `{} {}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{"a":tru}`,
}

func addSeeds(f *testing.F, s *rules.Schema) {
	base := sample(f, s)
	for _, m := range mutations {
		f.Add(m(bytes.Clone(base)))
	}
	for _, e := range extraSeeds {
		f.Add([]byte(e))
	}
}

// check runs one input through the generated codec and encoding/json.
func check(t *testing.T, s *rules.Schema, data []byte) {
	got := s.New()
	var v rules.Violations
	err := got.DecodeJSON(data, &v)

	want := reflect.New(reflect.TypeOf(got).Elem()).Interface()
	jerr := json.Unmarshal(data, want)

	var ourSyntax *rules.SyntaxError
	var theirSyntax *json.SyntaxError
	if err != nil && !errors.As(err, &ourSyntax) {
		t.Fatalf("DecodeJSON returned a non-syntax error: %v", err)
	}
	if (ourSyntax != nil) != errors.As(jerr, &theirSyntax) {
		t.Fatalf("syntax errors disagree on %q:\n generated:     %v\n encoding/json: %v", data, err, jerr)
	}
	if ourSyntax != nil {
		if ourSyntax.Offset < 0 || ourSyntax.Offset > len(data) {
			t.Fatalf("syntax error offset %d outside input of %d bytes", ourSyntax.Offset, len(data))
		}
		return
	}
	if v.Len() == 0 {
		if jerr != nil {
			t.Fatalf("no violation, but encoding/json fails on %q: %v", data, jerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded values differ on %q:\n generated:     %#v\n encoding/json: %#v", data, got, want)
		}
	}

	enc := got.AppendJSON(nil)
	if mj, merr := json.Marshal(got); merr != nil || !bytes.Equal(enc, mj) {
		t.Fatalf("AppendJSON differs from json.Marshal (err %v):\n generated:    %s\n json.Marshal: %s", merr, enc, mj)
	}

	again := s.New()
	var v2 rules.Violations
	if err := again.DecodeJSON(enc, &v2); err != nil {
		t.Fatalf("decoding AppendJSON's output %s: %v", enc, err)
	}
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("decode(encode(x)) != x:\n x:     %#v\n again: %#v", got, again)
	}

	// A pooled fact that held another event must decode to the same value
	// and violations as a fresh one.
	reused := s.New()
	_ = reused.DecodeJSON(dirty[s.ID], &rules.Violations{})
	var v3 rules.Violations
	if err := reused.DecodeJSON(data, &v3); err != nil {
		t.Fatalf("reused decode: %v", err)
	}
	if !reflect.DeepEqual(reused, got) || !slices.Equal(v3.List, v.List) {
		t.Fatalf("reused fact decodes differently:\n fresh:  %#v %v\n reused: %#v %v", got, v.List, reused, v3.List)
	}
	got.Validate(&v)
}

// dirty holds, per schema, a large event decoded before each reuse check.
var dirty = map[string][]byte{}

func init() {
	for _, s := range generated.Schemas() {
		b, err := os.ReadFile(filepath.Join("testdata", "samples", stemOf(s)+".json"))
		if err == nil {
			dirty[s.ID] = b
		}
	}
}

func fuzz(f *testing.F, id string) {
	s := schema(f, id)
	addSeeds(f, s)
	f.Fuzz(func(t *testing.T, data []byte) { check(t, s, data) })
}

func FuzzDecodeIotReadingV1(f *testing.F)         { fuzz(f, "com.acme.iot.reading/v1") }
func FuzzDecodeOrderCreatedV1(f *testing.F)       { fuzz(f, "com.acme.order.created/v1") }
func FuzzDecodePaymentCapturedV1(f *testing.F)    { fuzz(f, "com.acme.payment.captured/v1") }
func FuzzDecodePaymentCapturedV2(f *testing.F)    { fuzz(f, "com.acme.payment.captured/v2") }
func FuzzDecodeShipmentDispatchedV1(f *testing.F) { fuzz(f, "com.acme.shipment.dispatched/v1") }

// TestEverySchemaCovered fails when a schema is added without a sample and a
// fuzz target here.
func TestEverySchemaCovered(t *testing.T) {
	covered := map[string]bool{
		"com.acme.iot.reading/v1": true, "com.acme.order.created/v1": true,
		"com.acme.payment.captured/v1": true, "com.acme.payment.captured/v2": true,
		"com.acme.shipment.dispatched/v1": true,
	}
	for _, s := range generated.Schemas() {
		if !covered[s.ID] {
			t.Errorf("schema %s has no FuzzDecode target in gen/roundtrip", s.ID)
		}
		if _, ok := dirty[s.ID]; !ok {
			t.Errorf("schema %s has no sample testdata/samples/%s.json", s.ID, stemOf(s))
		}
	}
}

// TestSamplesValid checks that every sample decodes and validates cleanly.
func TestSamplesValid(t *testing.T) {
	for _, s := range generated.Schemas() {
		t.Run(s.ID, func(t *testing.T) {
			f := s.New()
			if err := rules.Decode(f, sample(t, s)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

var _ = fmt.Sprint
