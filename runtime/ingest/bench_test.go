package ingest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/cloudevents"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// acceptAll is an Acceptor that stores nothing: the benchmarks measure
// reading, parsing and answering, not JetStream.
type acceptAll struct{}

func (acceptAll) Accept(_ context.Context, _ string, evs []*cloudevents.Event) []error {
	return make([]error, len(evs))
}

// BenchmarkHandler is the HTTP ingest handler over each mode, with an
// Acceptor that does nothing.
func BenchmarkHandler(b *testing.B) {
	reg := tenant.NewRegistry()
	key := tenant.NewKey()
	if err := reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}}); err != nil {
		b.Fatal(err)
	}
	h := NewHandler(Config{Auth: reg, Accept: acceptAll{}})
	data := `{"orderId":"o-1","customer":{"id":"c-1","email":"a@b.c"},"items":[` + strings.Repeat(`{"sku":"sku-123","qty":2,"price":9.99},`, 20) + `{"sku":"x","qty":1,"price":1}],"total":200.5}`
	event := func(i int) string {
		return `{"specversion":"1.0","id":"0190c3a4-7e4f-7b1a-9c1d-` + strconv.Itoa(100000000000+i) + `","source":"/shop/eu","type":"com.acme.order.created",` +
			`"time":"2024-01-02T03:04:05.123456Z","datacontenttype":"application/json","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":` + data + `}`
	}
	batch := make([]string, 100)
	for i := range batch {
		batch[i] = event(i)
	}
	cases := []struct {
		name, ct, body string
		hdr            map[string]string
		n              int
	}{
		{"structured", StructuredContentType, event(0), nil, 1},
		{"binary", "application/json", data, map[string]string{
			"Ce-Specversion": "1.0", "Ce-Id": "0190c3a4-7e4f-7b1a-9c1d-5e3f2a1b0c9d", "Ce-Source": "/shop/eu", "Ce-Type": "com.acme.order.created",
			"Ce-Time": "2024-01-02T03:04:05.123456Z", "Ce-Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, 1},
		{"batch100", BatchContentType, "[" + strings.Join(batch, ",") + "]", nil, 100},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(c.body))
				r.Header.Set("Content-Type", c.ct)
				r.Header.Set("Authorization", "Bearer "+key)
				for k, v := range c.hdr {
					r.Header.Set(k, v)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
