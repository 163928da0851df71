package emit

import (
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/gen/ir"
	"github.com/eventrunner/eventrunner/gen/protogen"
)

func TestProtoNames(t *testing.T) {
	tests := []struct{ prop, field, upper, part string }{
		{"orderId", "order_id", "ORDER_ID", "OrderId"},
		{"shipping-address", "shipping_address", "SHIPPING_ADDRESS", "ShippingAddress"},
		{"line1", "line1", "LINE1", "Line1"},
		{"1st", "f_1st", "1ST", "F1st"},
		{"hPa", "h_pa", "H_PA", "HPa"},
		{"mm/s", "mm_s", "MM_S", "MmS"},
		{"", "f_", "", "F"},
		{"été", "t", "T", "T"},
		{"URL", "url", "URL", "Url"},
	}
	for _, tt := range tests {
		if got := fieldName(tt.prop); got != tt.field {
			t.Errorf("fieldName(%q) = %q, want %q", tt.prop, got, tt.field)
		}
		if got := upperSnake(tt.prop); got != tt.upper {
			t.Errorf("upperSnake(%q) = %q, want %q", tt.prop, got, tt.upper)
		}
		if got := goPart(tt.prop); got != tt.part {
			t.Errorf("goPart(%q) = %q, want %q", tt.prop, got, tt.part)
		}
	}
	used := map[string]bool{}
	if a, b, c := unique(used, "X"), unique(used, "X"), unique(used, "X"); a != "X" || b != "X2" || c != "X3" {
		t.Errorf("unique: %s %s %s", a, b, c)
	}
}

func TestFieldNamesStayDistinct(t *testing.T) {
	o := &ir.ObjectType{GoName: "X", Fields: []*ir.Field{
		{Name: "fooBar1", GoName: "FooBar1", Type: &ir.Type{Kind: ir.String}},
		{Name: "foo_bar_1", GoName: "FooBar1b", Type: &ir.Type{Kind: ir.String}},
		{Name: "foo-bar-1", GoName: "FooBar1c", Type: &ir.Type{Kind: ir.String}},
	}}
	s := &ir.Schema{ID: "x/v1", Type: "x", Version: 1, GoName: "X", FileStem: "x", Root: o}
	m := buildProtoModel(&ir.Bundle{Schemas: []*ir.Schema{s}}, "example.com/x;x")
	if _, err := protogen.GoIdents(m.files); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range o.Fields {
		got = append(got, m.schemas[s].fields[f])
	}
	if strings.Join(got, " ") != "foo_bar1 foo_bar_1_2 foo_bar_1_3" {
		t.Fatalf("field names %v", got)
	}
}
