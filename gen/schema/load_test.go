package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/diag"
	"github.com/eventrunner/eventrunner/gen/ir"
)

// TestExampleSchemas loads the repository's schemas/ without a diagnostic.
func TestExampleSchemas(t *testing.T) {
	var l diag.List
	ss := Load("../..", &l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"com.acme.iot.reading/v1":         "IotReadingV1",
		"com.acme.order.created/v1":       "OrderCreatedV1",
		"com.acme.payment.captured/v1":    "PaymentCapturedV1",
		"com.acme.payment.captured/v2":    "PaymentCapturedV2",
		"com.acme.shipment.dispatched/v1": "ShipmentDispatchedV1",
	}
	if len(ss) != len(want) {
		t.Fatalf("got %d schemas, want %d", len(ss), len(want))
	}
	for _, s := range ss {
		if want[s.ID] != s.GoName || s.Root.GoName != s.GoName || len(s.Hash) != 64 {
			t.Errorf("%s: GoName %q root %q hash %q", s.ID, s.GoName, s.Root.GoName, s.Hash)
		}
	}
}

// TestIR checks what the loader records for the rich golden case.
func TestIR(t *testing.T) {
	var l diag.List
	ss := Load("../testdata/cases/schema_rich/input", &l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	tel, order := ss[0], ss[1]
	if tel.GoName != "Telemetry" || !tel.Breaking || tel.FileStem != "telemetry" || tel.Version != 2 {
		t.Errorf("telemetry: %+v", tel)
	}
	if got := tel.Root.Field("Readings").Type.Items.Object.GoName; got != "TelemetryReadingsItem" {
		t.Errorf("items type %q", got)
	}
	o := order.Root
	if order.GoName != "OrderPlacedV1" || order.FileStem != "order_placed_v1" || order.Breaking {
		t.Errorf("order: %+v", order)
	}
	checks := []struct {
		field, name string
		required    bool
	}{
		{"OrderId", "order_id", true}, {"Buyer", "buyer", true}, {"Lines", "lines", true},
		{"Remarks", "notes", false}, {"Address", "shipTo", false}, {"Meta", "meta", false},
	}
	for _, c := range checks {
		f := o.Field(c.field)
		if f == nil || f.Name != c.name || f.Required != c.required {
			t.Errorf("field %s: %+v", c.field, f)
		}
	}
	if o.AdditionalProperties || !o.Field("Lines").Type.Items.Object.AdditionalProperties {
		t.Error("additionalProperties: want false at the top, default true in items")
	}
	if got := o.Field("Buyer").Type.Object.Field("DisplayName"); got == nil || *got.Type.MaxLength != 80 {
		t.Errorf("display-name: %+v", got)
	}
	cur := o.Field("Currency").Type
	if strings.Join(cur.EnumNames, ",") != "OrderPlacedV1CurrencyEUR,OrderPlacedV1CurrencyUSD,OrderPlacedV1CurrencyBankTransfer" {
		t.Errorf("enum names %v", cur.EnumNames)
	}
	tags := o.Field("Lines").Type.Items.Object.Field("Tags").Type.Items
	if tags.EnumNames[0] != "OrderPlacedV1LineTagsItemGift" {
		t.Errorf("items enum names %v", tags.EnumNames)
	}
	m := o.Field("Matrix").Type
	if m.Kind != ir.Array || m.Items.Kind != ir.Array || *m.Items.MinItems != 2 || m.Items.Items.Kind != ir.Integer {
		t.Errorf("matrix: %+v", m)
	}
	if order.Description != "An order was placed.\nSecond line of the description." {
		t.Errorf("description %q", order.Description)
	}
	line, col := order.Root.Field("Currency").Pos.File.LineCol(order.Root.Field("Currency").Pos.Offset)
	if line != 43 || col != 5 {
		t.Errorf("currency at %d:%d, want 43:5", line, col)
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ fn, in, want string }{
		{"field", "orderId", "OrderId"},
		{"field", "unit_price", "UnitPrice"},
		{"field", "x-trace-id", "XTraceId"},
		{"field", "_id", "Id"},
		{"field", "2fa", "2fa"},
		{"enum", "bank_transfer", "BankTransfer"},
		{"enum", "hPa", "HPa"},
		{"enum", "a b.c", "ABC"},
		{"enum", "--", ""},
		{"snake", "OrderCreatedV1", "order_created_v1"},
		{"snake", "HTTPServerV2", "http_server_v2"},
		{"snake", "Order2CreatedV10", "order2_created_v10"},
		{"stem", "FooLinux", "foo_linux_schema"},
		{"stem", "BarTest", "bar_test_schema"},
		{"stem", "PaymentCapturedV2", "payment_captured_v2"},
		{"fact", "com.acme.order.created", "OrderCreatedV1"},
		{"fact", "orders", "OrdersV1"},
		{"fact", "com.acme.shipment-dispatched", "AcmeShipmentDispatchedV1"},
	}
	for _, tt := range tests {
		var got string
		switch tt.fn {
		case "field":
			got = goFieldName(tt.in)
		case "enum":
			got = goEnumSuffix(tt.in)
		case "snake":
			got = snake(tt.in)
		case "stem":
			got = fileStem(tt.in)
		case "fact":
			got = factGoName(tt.in, "1")
		}
		if got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.fn, tt.in, got, tt.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	kw := allKeywords()
	for in, want := range map[string]string{
		"maxLenght": "maxLength", "MINIMUM": "minimum", "itmes": "items", "requried": "required",
		"x-gorename": "x-go-name", "frobnicate": "",
	} {
		if got := didYouMean(in, kw); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHashIsCanonical: layout and key order do not change a schema's hash,
// content does.
func TestHashIsCanonical(t *testing.T) {
	hash := func(src string) string {
		var l diag.List
		s := NewLoader(&l).File(diag.NewFile("schemas/com.acme.x/v1.json", []byte(src)))
		if s == nil {
			t.Fatalf("load %s: %v", src, l.Err())
		}
		return s.Hash
	}
	a := hash(`{"$id":"com.acme.x/v1","type":"object","properties":{"n":{"type":"number","maximum":10}}}`)
	b := hash("{\n  \"properties\": {\"n\": {\"maximum\": 1e1, \"type\": \"number\"}},\n  \"type\": \"object\",\n  \"$id\": \"com.acme.x/v1\"\n}\n")
	c := hash(`{"$id":"com.acme.x/v1","type":"object","properties":{"n":{"type":"number","maximum":11}}}`)
	if a != b {
		t.Errorf("reformatting changed the hash: %s != %s", a, b)
	}
	if a == c {
		t.Error("changing a bound kept the hash")
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in      string
		errOff  int
		errPart string
		str     string
	}{
		{in: `"a\u00e9\ud83d\ude00\n\/"`, errOff: -1, str: "aé😀\n/"},
		{in: `{"a":1,}`, errOff: 7, errPart: "expected a property name"},
		{in: `[1 2]`, errOff: 3, errPart: "expected ',' or ']'"},
		{in: `01`, errOff: 0, errPart: "leading zero"},
		{in: `1.`, errOff: 2, errPart: "after '.'"},
		{in: `"\ud800"`, errOff: 1, errPart: "lone surrogate"},
		{in: "\"\xff\"", errOff: 1, errPart: "invalid UTF-8"},
		{in: `"a`, errOff: 2, errPart: "unterminated"},
		{in: `{} x`, errOff: 3, errPart: "after the top-level value"},
		{in: `tru`, errOff: 0, errPart: "expected a value"},
		{in: strings.Repeat("[", 2000), errOff: 1001, errPart: "nesting deeper"},
	}
	for _, tt := range tests {
		n, err := parseJSON([]byte(tt.in))
		if tt.errOff < 0 {
			if err != nil || n.text != tt.str {
				t.Errorf("%q: got %v %q, want %q", tt.in, err, n.text, tt.str)
			}
			continue
		}
		je, ok := err.(*jsonError)
		if !ok || je.off != tt.errOff || !strings.Contains(je.msg, tt.errPart) {
			t.Errorf("%q: got %v, want offset %d and %q", tt.in, err, tt.errOff, tt.errPart)
		}
	}
}

// FuzzLoad feeds arbitrary bytes to the loader as a schema file: it must
// not panic, and every diagnostic must point inside the file.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../schemas/*/*.json")
	more, _ := filepath.Glob("../testdata/cases/*/input/schemas/*/*.json")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"$id":"com.acme.fuzz/v1","type":"object","properties":{"a":{"type":"array","items":{"type":"array","items":{"type":"object","x-go-name":"X"}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l diag.List
		file := diag.NewFile("schemas/com.acme.fuzz/v1.json", data)
		s := NewLoader(&l).File(file)
		if s != nil && l.HasErrors() {
			t.Fatal("a schema was returned despite errors")
		}
		if s == nil && !l.HasErrors() {
			t.Fatal("no schema and no error")
		}
		for _, d := range l.Sorted() {
			if d.Pos.File != file || d.Pos.Offset < 0 || d.Pos.Offset > len(data) {
				t.Fatalf("diagnostic outside the file: %+v", d)
			}
			if !strings.HasPrefix(d.String(), "schemas/com.acme.fuzz/v1.json:") {
				t.Fatalf("bad rendering %q", d.String())
			}
		}
	})
}
