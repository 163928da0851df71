package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventrunner/eventrunner/runtime/store"
	"github.com/eventrunner/eventrunner/runtime/store/pebble"
	"github.com/eventrunner/eventrunner/runtime/tenant"
)

// TestListPagesBoundedInBytes: pages stop before MaxPageBytes, keep at
// least one event, and the cursor continues after the last event of the
// cut page, with and without filters, so that nothing is lost or repeated.
func TestListPagesBoundedInBytes(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	var recs []store.Record
	var want []string
	sizes := []int{90, 90, 90, 300, 10, 10, 10, 90, 90, 1, 90, 90} // KiB; one larger than a page
	for i, kb := range sizes {
		id := fmt.Sprintf("e%02d", i)
		recs = append(recs, store.Record{Tenant: "acme", ID: id, Type: "t", Source: "/s", Time: base.Add(time.Duration(i) * time.Second),
			Event: []byte(fmt.Sprintf(`{"id":%q,"pad":%q}`, id, strings.Repeat("x", kb<<10)))})
		want = append([]string{id}, want...) // newest first
	}
	if err := st.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	reg := tenant.NewRegistry()
	key := tenant.NewKey()
	_ = reg.Add(tenant.Tenant{ID: "acme", KeyHashes: []string{tenant.HashKey(key)}})
	const max = 250 << 10
	mux := http.NewServeMux()
	(&Handler{Store: st, Auth: reg, MaxPageBytes: max}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, filter := range []string{"", "type=t&", "from=2026-11-28T09:00:00Z&to=2026-11-28T10:00:00Z&"} {
		var got []string
		pages := 0
		url := srv.URL + "/v1/events?" + filter + "limit=100"
		for {
			var reply ListReply
			if code := get(t, url, key, &reply); code != 200 {
				t.Fatalf("%s: status %d", filter, code)
			}
			pages++
			size := 0
			for _, raw := range reply.Events {
				var ev struct{ ID string }
				_ = json.Unmarshal(raw, &ev)
				got = append(got, ev.ID)
				size += len(raw)
			}
			if size > max && len(reply.Events) > 1 {
				t.Fatalf("%s: page of %d events takes %d bytes, over %d", filter, len(reply.Events), size, max)
			}
			if reply.Next == "" {
				break
			}
			url = srv.URL + "/v1/events?" + filter + "limit=100&cursor=" + reply.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: listed %v, want %v", filter, got, want)
		}
		if pages < 5 {
			t.Fatalf("%s: %d pages for %d KiB", filter, pages, 1061)
		}
	}
}
