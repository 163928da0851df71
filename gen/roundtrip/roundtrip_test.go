package roundtrip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
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
	`{"location":{"lat":1,"alt":{"x":[1,"\ud800",{"y":2,"y":3}]},"src":"gps"}}`, `{"location":{"a":1,"\u0061":2},"LAT":1}`,
	`{"battery":10.0,"anomalies":1e1,"priority":1000e-2,"quantity":9007199254740993.0}`, `{"battery":1.5,"anomalies":1e400}`,
	`{"deviceId":"a","device\u0049d":"b"}`, `{"alert":false,"battery":0,"site":"","location":{},"express":false,"destination":{}}`,
	"{\"site\":\"\xc0\xaf\",\"x\xff\":1}", `{"dimensions":{"lengthCm":0,"extra":{"deep":[[[{}]]]}}}`,
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

// check runs one input through the generated codec and holds it to its
// contract: syntax errors where encoding/json finds them; and for data
// decoded without violation, nothing lost or changed — AppendJSON's output
// is the input member for member (numbers equal in value: integers exactly,
// numbers as float64), encoding/json reads the named properties from it as
// the generated decoder read them, and encoding it again changes nothing.
func check(t *testing.T, s *rules.Schema, data []byte) {
	got := s.New()
	var v rules.Violations
	err := got.DecodeJSON(data, &v)

	var ourSyntax *rules.SyntaxError
	if err != nil && !errors.As(err, &ourSyntax) {
		t.Fatalf("DecodeJSON returned a non-syntax error: %v", err)
	}
	if (ourSyntax != nil) == json.Valid(data) {
		t.Fatalf("syntax errors disagree on %q:\n generated:     %v\n json.Valid: %v", data, err, json.Valid(data))
	}
	if ourSyntax != nil {
		if ourSyntax.Offset < 0 || ourSyntax.Offset > len(data) {
			t.Fatalf("syntax error offset %d outside input of %d bytes", ourSyntax.Offset, len(data))
		}
		return
	}

	enc := got.AppendJSON(nil)
	if !json.Valid(enc) {
		t.Fatalf("AppendJSON wrote invalid JSON %q for %q", enc, data)
	}
	if v.Len() == 0 {
		if why := sameJSON(data, enc); why != "" {
			t.Fatalf("AppendJSON lost or changed data: %s\n input:  %s\n output: %s", why, data, enc)
		}
		want := reflect.New(reflect.TypeOf(got).Elem()).Interface()
		if jerr := json.Unmarshal(enc, want); jerr != nil {
			t.Fatalf("encoding/json fails on AppendJSON's output %s: %v", enc, jerr)
		}
		// encoding/json folds case ("CountrY" fills Country); the codec
		// keeps such a member as an extra, so the two differ by design.
		if !foldsOntoProperty(enc, reflect.TypeOf(got).Elem()) && !exportedEqual(reflect.ValueOf(got), reflect.ValueOf(want)) {
			t.Fatalf("named properties differ on %q:\n generated:     %s\n encoding/json: %s", data, marshal(t, got), marshal(t, want))
		}
	}

	again := s.New()
	var v2 rules.Violations
	if err := again.DecodeJSON(enc, &v2); err != nil {
		t.Fatalf("decoding AppendJSON's output %s: %v", enc, err)
	}
	if v.Len() == 0 && v2.Len() > 0 {
		t.Fatalf("AppendJSON's output %s has violations %v", enc, v2.List)
	}
	if enc2 := again.AppendJSON(nil); v.Len() == 0 && !bytes.Equal(enc2, enc) {
		t.Fatalf("encode(decode(encode(x))) != encode(x):\n once:  %s\n twice: %s", enc, enc2)
	}

	// A pooled fact that held another event must decode to the same value
	// and violations as a fresh one.
	reused := s.New()
	_ = reused.DecodeJSON(dirty[s.ID], &rules.Violations{})
	var v3 rules.Violations
	if err := reused.DecodeJSON(data, &v3); err != nil {
		t.Fatalf("reused decode: %v", err)
	}
	if r := reused.AppendJSON(nil); !bytes.Equal(r, enc) || !exportedEqual(reflect.ValueOf(reused), reflect.ValueOf(got)) || !slices.Equal(v3.List, v.List) {
		t.Fatalf("reused fact decodes differently:\n fresh:  %s %v\n reused: %s %v", enc, v.List, r, v3.List)
	}
	got.Validate(&v)
}

// exportedEqual compares the exported fields of two values of the same type
// (the named properties), deeply: slices by length, nil-ness and elements.
// The unexported presence bits and extra members are compared through
// AppendJSON's output instead, where they show.
func exportedEqual(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Pointer:
		return a.IsNil() == b.IsNil() && (a.IsNil() || exportedEqual(a.Elem(), b.Elem()))
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() && !exportedEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			return false
		}
		for i := range a.Len() {
			if !exportedEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	return a.Interface() == b.Interface()
}

// foldsOntoProperty reports whether a member name in doc equals, under case
// folding but not exactly, a property name of the struct type t (or of any
// struct inside it): encoding/json would read that member into the property.
func foldsOntoProperty(doc []byte, t reflect.Type) bool {
	props := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Slice, reflect.Pointer:
			collect(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() {
					name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
					props[name] = true
					collect(f.Type)
				}
			}
		}
	}
	collect(t)
	v, err := decodeUseNumber(doc)
	if err != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !props[k] {
					for p := range props {
						if strings.EqualFold(k, p) {
							return true
						}
					}
				}
				if walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// marshal is json.Marshal of the exported fields: the named properties as
// encoding/json sees them.
func marshal(t *testing.T, x any) []byte {
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return b
}

// sameJSON compares two JSON documents member for member and says where
// they differ ("" when they do not). Members are compared by name, not
// order (named properties are written in schema order, the others after
// them), array elements in order. Numbers are equal when their exact values
// are, or when both round to the same float64 (a "number" property is a
// float64).
func sameJSON(a, b []byte) string {
	va, err := decodeUseNumber(a)
	if err != nil {
		return err.Error()
	}
	vb, err := decodeUseNumber(b)
	if err != nil {
		return err.Error()
	}
	return sameValue(va, vb, "$")
}

func decodeUseNumber(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	return v, d.Decode(&v)
}

func sameValue(a, b any, path string) string {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return fmt.Sprintf("%s: %d members, got %v", path, len(a), b)
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok {
				return fmt.Sprintf("%s: member %q lost", path, k)
			}
			if why := sameValue(v, w, path+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return fmt.Sprintf("%s: %d elements, got %v", path, len(a), b)
		}
		for i := range a {
			if why := sameValue(a[i], bs[i], fmt.Sprintf("%s[%d]", path, i)); why != "" {
				return why
			}
		}
		return ""
	case json.Number:
		if bn, ok := b.(json.Number); ok && sameNumber(a, bn) {
			return ""
		}
	default:
		if a == b {
			return ""
		}
	}
	return fmt.Sprintf("%s: %v != %v", path, a, b)
}

func sameNumber(a, b json.Number) bool {
	ra, oka := new(big.Rat).SetString(string(a))
	rb, okb := new(big.Rat).SetString(string(b))
	if oka && okb && ra.Cmp(rb) == 0 {
		return true
	}
	fa, ea := a.Float64()
	fb, eb := b.Float64()
	return ea == nil && eb == nil && fa == fb
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
