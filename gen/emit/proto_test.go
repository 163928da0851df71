package emit

import "testing"

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
