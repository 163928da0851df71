package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
)

// iotEventFrom is iotEvent from another source.
func iotEventFrom(source, id string, fahrenheit float64) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":"com.acme.iot.reading","data":{"deviceId":"dev-e2e1","sensor":"temperature","value":%g,"unit":"F","recordedAt":"2026-11-28T09:00:00Z"}}`,
		id, source, fahrenheit)
}

// getJSON GETs path with the demo key and decodes a JSON reply into into.
func (s *server) getJSON(t *testing.T, path string, into any) int {
	t.Helper()
	code, b := s.getRaw(t, path)
	if into != nil && len(b) > 0 {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return code
}

// TestServeSameIDTwoSources posts two events with the same id from two
// sources, and a retry of one: both are stored (the identity is source +
// id), the retry once; GET by id alone answers 300 with both, ?source=
// reads each, the list and the tenant stream hold each once, and all of it
// survives a restart.
func TestServeSameIDTwoSources(t *testing.T) { sameIDTwoSources(t) }

// TestServeSameIDTwoSourcesCassandra is the same on the Cassandra store.
func TestServeSameIDTwoSourcesCassandra(t *testing.T) {
	if e2eCassandraHosts == "" {
		if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" {
			t.Fatal("EVENTRUNNER_CASSANDRA_HOSTS is unset but EVENTRUNNER_REQUIRE_SERVICES=1")
		}
		t.Skip("skipping: EVENTRUNNER_CASSANDRA_HOSTS is unset (start one with `make services`)")
	}
	// A keyspace of its own, left behind like the other e2e keyspaces.
	sameIDTwoSources(t, "--cassandra-hosts", e2eCassandraHosts, "--cassandra-keyspace", fmt.Sprintf("e2e_identity_%d", os.Getpid()),
		"--cassandra-consistency", "ONE")
}

func sameIDTwoSources(t *testing.T, flags ...string) {
	dir := t.TempDir()
	s := startServer(t, dir, flags...)
	body := "[" + iotEventFrom("/e2e/a", "dup-1", 212) + "," + iotEventFrom("/e2e/b", "dup-1", 32) + "]"
	code, reply := s.post(t, "application/cloudevents-batch+json", nil, body)
	if code != http.StatusAccepted {
		t.Fatalf("batch: %d %s", code, reply)
	}
	var br struct {
		Results []struct {
			ID, Source string
			Status     int
		}
	}
	if err := json.Unmarshal(reply, &br); err != nil || len(br.Results) != 2 ||
		br.Results[0].Source != "/e2e/a" || br.Results[1].Source != "/e2e/b" || br.Results[0].ID != "dup-1" || br.Results[1].ID != "dup-1" {
		t.Fatalf("batch reply does not name both events by source and id: %s", reply)
	}
	if code, reply := s.post(t, "application/cloudevents+json", nil, iotEventFrom("/e2e/a", "dup-1", 212)); code != http.StatusAccepted {
		t.Fatalf("retry: %d %s", code, reply)
	}

	want := map[string]float64{"/e2e/a": 100, "/e2e/b": 0} // °C after the rules
	check := func(when string) {
		t.Helper()
		for src, celsius := range want {
			var ev struct {
				ID, Source string
				Data       struct{ Value float64 }
			}
			deadline := time.Now().Add(30 * time.Second)
			for s.getJSON(t, "/v1/events/dup-1?source="+url.QueryEscape(src), &ev) != 200 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: (%s, dup-1) not stored after 30s:\n%s", when, src, s.stderr)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if ev.ID != "dup-1" || ev.Source != src || ev.Data.Value != celsius {
				t.Errorf("%s: (%s, dup-1) read back as %+v, want %g °C", when, src, ev, celsius)
			}
		}
		var amb struct {
			Status     int
			Candidates []struct{ Source, Href string }
		}
		if code := s.getJSON(t, "/v1/events/dup-1", &amb); code != http.StatusMultipleChoices || amb.Status != 300 || len(amb.Candidates) != 2 ||
			amb.Candidates[0].Source != "/e2e/a" || amb.Candidates[1].Source != "/e2e/b" {
			t.Errorf("%s: GET by id alone: %d %+v, want 300 listing both sources", when, code, amb)
		}
		for _, c := range amb.Candidates {
			var ev struct{ Source string }
			if code := s.getJSON(t, c.Href, &ev); code != 200 || ev.Source != c.Source {
				t.Errorf("%s: candidate URL %s: %d %+v", when, c.Href, code, ev)
			}
		}
		var list struct{ Events []json.RawMessage }
		if code := s.getJSON(t, "/v1/events?type=com.acme.iot.reading", &list); code != 200 {
			t.Fatalf("%s: list: %d", when, code)
		}
		seen := map[string]int{}
		for _, raw := range list.Events {
			var ev struct{ ID, Source string }
			_ = json.Unmarshal(raw, &ev)
			seen[ev.Source+" "+ev.ID]++
		}
		if len(seen) != 2 || seen["/e2e/a dup-1"] != 1 || seen["/e2e/b dup-1"] != 1 {
			t.Errorf("%s: list holds %v, want each source's dup-1 once", when, seen)
		}
		if code := s.getJSON(t, "/v1/events/dup-1?source=%2Fe2e%2Fc", nil); code != 404 {
			t.Errorf("%s: a third source: %d, want 404", when, code)
		}
	}
	check("stored")
	if got := readTenantStream(t, s.natsURL, "demo", 1); got["dup-1"] != 2 {
		t.Errorf("tenant stream has dup-1 %d times, want twice (once per source)", got["dup-1"])
	}
	s.stop(t)

	s = startServer(t, dir, flags...)
	check("after a restart")
	s.stop(t)
}
