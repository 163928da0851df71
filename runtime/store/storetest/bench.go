package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
)

// BenchEvent is a ~1 KB processed CloudEvent, the size the pipeline targets.
// Every backend's benchmarks write it, so that their records/s compare;
// callers must not modify it.
var BenchEvent = func() []byte {
	ev := `{"specversion":"1.0","id":"%s","source":"/bench","type":"com.acme.order.created",` +
		`"time":"2026-03-01T12:00:00Z","tenantid":"acme","datacontenttype":"application/json",` +
		`"erkb":"orders@1.0.0","erbundle":"b1","erfired":["Discount","Flag"],"data":{"note":"%s"}}`
	return []byte(fmt.Sprintf(ev, "x", strings.Repeat("n", 1024-len(ev))))
}()

var benchT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// BenchRecord is the benchmarks' i-th record of tenant "acme": a new id, one
// microsecond after record i-1, with BenchEvent as its event.
func BenchRecord(i int64) store.Record {
	return store.Record{
		Tenant: "acme", ID: fmt.Sprintf("evt-%012d", i), Type: "com.acme.order.created",
		Source: "/bench", Subject: "order", Time: benchT0.Add(time.Duration(i) * time.Microsecond),
		SchemaID: "com.acme.order.created/v1", Event: BenchEvent,
	}
}
