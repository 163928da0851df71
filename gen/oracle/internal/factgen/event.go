package factgen

import (
	"math/rand/v2"

	"github.com/eventrunner/eventrunner/runtime/rules"
)

// Small pools of CloudEvent attributes; the GRL's string literals (and
// variants of them) are mixed in so that conditions on Event match sometimes.
var (
	eventSources  = []string{"app/ios", "app/android", "web/checkout", "pos/store-12", "sandbox/payments", "psp/stripe", "warehouse/ams-1", "gateway/g7", ""}
	eventSubjects = []string{"orders/5501", "devices/dev-abc123/heartbeat", "devices/dev-lab42/reading", "payments/pay-9f3", "shipments/sh-77", ""}
	eventTenants  = []string{"acme", "globex", "initech", "demo", ""}
)

// Event fills the CloudEvent attributes of ev (its actions are untouched);
// types are the event types the knowledge base is triggered by.
func (f *Filler) Event(r *rand.Rand, ev *rules.Event, types []string) {
	ev.ID = UUID(r)
	ev.Time = Time(r)
	ev.Type = f.pick(r, "Event.Type", types)
	ev.Source = f.pick(r, "Event.Source", eventSources)
	ev.Subject = f.pick(r, "Event.Subject", eventSubjects)
	ev.TenantID = f.pick(r, "Event.TenantID", eventTenants)
}

// pick takes a value from pool most of the time, else a variant of a GRL
// string literal.
func (f *Filler) pick(r *rand.Rand, path string, pool []string) string {
	lits := f.pool(r, path)
	if len(lits.Strings) > 0 && (len(pool) == 0 || r.IntN(100) < 40) {
		return Variant(r, lits.Strings[r.IntN(len(lits.Strings))])
	}
	if len(pool) == 0 {
		return ""
	}
	return pool[r.IntN(len(pool))]
}
