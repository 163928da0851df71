package analytics

import (
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzParseCounts feeds arbitrary query strings to the counts endpoint's
// parameter parsing: it must never panic, and whatever it accepts must be a
// valid query aligned to its step.
func FuzzParseCounts(f *testing.F) {
	for _, seed := range []string{
		"", "step=1m", "step=15m&type=com.acme.order.created", "step=24h&from=2026-03-01T12:00:00Z&to=2026-03-02T12:00:00Z",
		"from=2026-03-01T12:00:30Z&to=2026-03-01T12:01:30Z", "step=30s", "step=2562047h", "from=1969-12-31T23:59:00Z",
		"to=9999-12-31T23:59:59Z", "from=0001-01-01T00:00:00Z&to=0001-01-01T00:01:00Z", "step=-5m", "step=1m&from=bad",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	h := &Handler{Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/v1/stats/counts", nil)
		r.URL.RawQuery = raw
		q, p := h.parse(r, "acme")
		if p != nil {
			return
		}
		if err := q.Check(); err != nil {
			t.Fatalf("parse accepted %q as %+v, which Check refuses: %v", raw, q, err)
		}
		if !q.From.Equal(q.From.Truncate(q.Step)) || !q.To.Equal(q.To.Truncate(q.Step)) {
			t.Fatalf("parse accepted %q with bounds %v..%v not aligned to %v", raw, q.From, q.To, q.Step)
		}
	})
}
