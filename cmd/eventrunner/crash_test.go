package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeCrashLosesNothing kills serve with SIGKILL under load, restarts
// it on the same data directory, and checks that every event answered 202
// is stored exactly once, processed, and published once to the tenant
// stream.
func TestServeCrashLosesNothing(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--ack-wait", "3s")
	// Kill once a good amount is in flight through every stage.
	accepted := loadThenKill(t, s, "c", 3, func(n int) bool { return n >= 3000 })
	if len(accepted) < 1000 {
		t.Fatalf("only %d events accepted before the kill", len(accepted))
	}

	s = startServer(t, dir, "--ack-wait", "3s")
	stored := waitAllStored(t, s, accepted)
	for id := range accepted {
		if stored[id] != 1 {
			t.Errorf("%s stored %d times in the listing, want once", id, stored[id])
		}
	}
	streamed := readTenantStream(t, s.natsURL, "demo", len(accepted))
	for id := range accepted {
		if streamed[id] != 1 {
			t.Errorf("%s published %d times to the tenant stream, want once", id, streamed[id])
		}
	}
	s.stop(t)
}

// waitAllStored lists the demo tenant's events until every accepted id is
// there, checking each is processed; it returns how often each id appeared.
func waitAllStored(t *testing.T, s *server, accepted map[string]bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		counts := map[string]int{}
		cursor := ""
		for {
			url := s.httpURL + "/v1/events?limit=1000"
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Events []struct {
					ID      string
					Erfired string
					Erkb    string
				}
				Next string
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Events {
				counts[ev.ID]++
				if ev.Erkb != "iot@1.0.0" {
					t.Fatalf("event %s stored unprocessed: %+v", ev.ID, ev)
				}
			}
			if cursor = page.Next; cursor == "" {
				break
			}
		}
		missing := 0
		for id := range accepted {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events missing after restart:\n%s", missing, len(accepted), s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// loadThenKill posts batches of 50 fresh iot events from `writers`
// goroutines until ready(accepted so far) holds (or a minute passes), then
// kills the server with SIGKILL and returns the ids answered 202. Batches of
// 50 are below the acceptor's GroupEvents, so concurrent ones share ER_PROC
// envelopes: the kill lands while envelopes are between their store write
// and their ack.
func loadThenKill(t *testing.T, s *server, prefix string, writers int, ready func(accepted int) bool) map[string]bool {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; !stop.Load(); b++ {
				evs := make([]string, 50)
				for i := range evs {
					evs[i] = iotEvent(fmt.Sprintf("%s%d-%d-%d", prefix, w, b, i), float64(50+i))
				}
				req, _ := http.NewRequest(http.MethodPost, s.httpURL+"/v1/events", strings.NewReader("["+strings.Join(evs, ",")+"]"))
				req.Header.Set("Content-Type", "application/cloudevents-batch+json")
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var reply struct {
					Results []struct {
						ID     string
						Status int
					}
				}
				err = json.NewDecoder(resp.Body).Decode(&reply)
				resp.Body.Close()
				if err != nil {
					return
				}
				mu.Lock()
				for _, r := range reply.Results {
					if r.Status == http.StatusAccepted {
						accepted[r.ID] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if ready(n) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	stop.Store(true)
	wg.Wait()
	t.Logf("%d events answered 202 before SIGKILL", len(accepted))
	return accepted
}
