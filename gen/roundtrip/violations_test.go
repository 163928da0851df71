package roundtrip

import (
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/runtime/rules"
)

const validOrder = `{"orderId":"7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13","customer":{"id":"c1","email":"a@b.co","tier":"gold"},` +
	`"items":[{"sku":"BK-1","quantity":1,"unitPrice":2.5}],"currency":"EUR","total":2.5,"createdAt":"2026-03-14T09:26:53Z"}`

// order edits validOrder: each pair replaces old with new.
func order(pairs ...string) string {
	s := validOrder
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			panic("no " + pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// TestViolations pins the path and message of every kind of violation the
// generated decoders and validators report.
func TestViolations(t *testing.T) {
	tests := []struct {
		name, id, in string
		want         []string
	}{
		{"valid", "com.acme.order.created/v1", validOrder, nil},
		{"missing required", "com.acme.order.created/v1", order(`"currency":"EUR",`, ``, `"sku":"BK-1",`, ``),
			[]string{`$.items[0].sku: is required`, `$.currency: is required`, `$.items[0].sku: must match pattern "^[A-Z0-9-]{3,32}$", got ""`,
				`$.currency: must be one of "EUR", "USD", "GBP", got ""`}},
		{"unknown property", "com.acme.order.created/v1", order(`"total":2.5`, `"total":2.5,"tip":1,"we ird":{}`, `"tier":"gold"`, `"tier":"gold","vip":true`),
			[]string{`$.customer.vip: unknown property`, `$.tip: unknown property`, `$["we ird"]: unknown property`}},
		{"wrong types", "com.acme.order.created/v1", order(`"total":2.5`, `"total":"2.5"`, `"quantity":1`, `"quantity":1.5`, `"customer":{`, `"customer":null,"x":{`),
			[]string{`$.customer: must be an object, got null`, `$.x: unknown property`, `$.items[0].quantity: must be an integer, got 1.5`,
				`$.total: must be a number, got string`,
				`$.customer.id: length must be >= 1, got 0`, `$.customer.email: must be an email address, got ""`,
				`$.customer.tier: must be one of "standard", "gold", "platinum", got ""`, `$.items[0].quantity: must be >= 1, got 0`}},
		{"bounds and lengths", "com.acme.order.created/v1", order(`"quantity":1`, `"quantity":1001`, `"unitPrice":2.5`, `"unitPrice":-0.5`, `"id":"c1"`, `"id":"`+strings.Repeat("é", 65)+`"`),
			[]string{`$.customer.id: length must be <= 64, got 65`, `$.items[0].quantity: must be <= 1000, got 1001`, `$.items[0].unitPrice: must be >= 0, got -0.5`}},
		{"item counts", "com.acme.order.created/v1", order(`[{"sku":"BK-1","quantity":1,"unitPrice":2.5}]`, `[]`),
			[]string{`$.items: item count must be >= 1, got 0`}},
		{"enums patterns formats", "com.acme.order.created/v1",
			order(`"currency":"EUR"`, `"currency":"JPY","status":"lost","priority":11`, `"sku":"BK-1"`, `"sku":"bk 1"`, `"createdAt":"2026-03-14T09:26:53Z"`, `"createdAt":"yesterday"`,
				`"orderId":"7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13"`, `"orderId":"42"`, `"tier":"gold"`, `"tier":"gold","country":"es"`),
			[]string{`$.orderId: must be a UUID, got "42"`, `$.customer.country: must match pattern "^[A-Z]{2}$", got "es"`,
				`$.items[0].sku: must match pattern "^[A-Z0-9-]{3,32}$", got "bk 1"`, `$.currency: must be one of "EUR", "USD", "GBP", got "JPY"`,
				`$.status: must be one of "pending", "approved", "review", "rejected", got "lost"`, `$.priority: must be <= 10, got 11`,
				`$.createdAt: must be an RFC 3339 date-time, got "yesterday"`}},
		{"optional zero values sent are checked", "com.acme.order.created/v1", order(`"currency":"EUR"`, `"currency":"EUR","status":"","coupon":"","priority":0,"shippingAddress":{}`),
			[]string{`$.status: must be one of "pending", "approved", "review", "rejected", got ""`}},
		{"not an object (decode only)", "com.acme.order.created/v1", `[1]`, []string{`$: must be an object, got array`}},
		{"scalar array items", "com.acme.iot.reading/v1",
			`{"deviceId":"dev-abcd","sensor":"humidity","value":1,"recordedAt":"2026-03-14T09:26:53Z","labels":["a",1,null],"samples":[1,"x"]}`,
			[]string{`$.labels[1]: must be a string, got number`, `$.labels[2]: must be a string, got null`, `$.samples[1]: must be a number, got string`}},
		{"nested arrays of objects", "com.acme.shipment.dispatched/v1",
			`{"shipmentId":"0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e","orderId":"0b6d7c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e","carrier":"dhl","destination":{"country":"DE"},` +
				`"parcels":[{"id":"P1","weightKg":1},{"id":"","weightKg":1001,"dimensions":{"lengthCm":-1}}]}`,
			[]string{`$.parcels[1].id: length must be >= 1, got 0`, `$.parcels[1].weightKg: must be <= 1000, got 1001`, `$.parcels[1].dimensions.lengthCm: must be >= 0, got -1`}},
		{"uri", "com.acme.payment.captured/v2",
			`{"paymentId":"pay_12345678","orderId":"7f1c9a52-3b8e-4d21-9a6f-0c2b5e8d4f13","amount":1,"currency":"USD","method":"wallet","receiptUrl":"/r/1"}`,
			[]string{`$.receiptUrl: must be an absolute URI, got "/r/1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schema(t, tt.id)
			f := s.New()
			var v rules.Violations
			if err := f.DecodeJSON([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(tt.name, "(decode only)") {
				f.Validate(&v)
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

// TestDecodeAllocatesOnlyForStrings: a reused fact decodes a valid event
// with one allocation per string that is not an enum value, and validates
// it without allocating.
func TestDecodeAllocatesOnlyForStrings(t *testing.T) {
	data := []byte(validOrder) // orderId, customer.id, email, sku, createdAt
	var f generated.OrderCreatedV1
	var v rules.Violations
	allocs := testing.AllocsPerRun(200, func() {
		v.Reset()
		if err := f.DecodeJSON(data, &v); err != nil || v.Len() > 0 {
			t.Fatal(err, v.List)
		}
	})
	if allocs != 5 {
		t.Errorf("decode: %v allocations, want 5 (one per non-enum string)", allocs)
	}
	if allocs := testing.AllocsPerRun(200, func() { f.Validate(&v) }); allocs != 0 || v.Len() > 0 {
		t.Errorf("validate: %v allocations, violations %v", allocs, v.List)
	}
	buf := make([]byte, 0, 1024)
	if allocs := testing.AllocsPerRun(200, func() { buf = f.AppendJSON(buf[:0]) }); allocs != 0 {
		t.Errorf("encode: %v allocations", allocs)
	}
}
