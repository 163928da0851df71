package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRulesDirReload runs serve in its interpreted development mode on
// a copy of rules/, changes a GRL file while it runs, and checks that later
// events run on the new rules (an atomic swap) while the earlier ones ran on
// the old.
func TestServeRulesDirReload(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules")
	if err := os.CopyFS(rules, os.DirFS(filepath.Join("..", "..", "rules"))); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, t.TempDir(), "--rules-dir", rules)
	if code, body := s.post(t, "application/cloudevents+json", nil, iotEvent("before", 212)); code != http.StatusAccepted {
		t.Fatalf("%d %s", code, body)
	}
	ev := s.waitEvent(t, "before")
	bundle := fmt.Sprint(ev["erbundle"])
	if !strings.HasPrefix(bundle, "interpreted-") || !strings.Contains(fmt.Sprint(ev["erfired"]), "FahrenheitToCelsius") {
		t.Fatalf("not run by the interpreted rules: %v", ev)
	}

	grl := filepath.Join(rules, "iot", "reload.grl")
	rule := `rule Reloaded "added while serving" salience -100 {
    when
        Reading.Site == ""
    then
        Reading.Site = "reloaded";
}
`
	if err := os.WriteFile(grl, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		id := fmt.Sprintf("after-%d", i)
		if code, body := s.post(t, "application/cloudevents+json", nil, iotEvent(id, 212)); code != http.StatusAccepted {
			t.Fatalf("%d %s", code, body)
		}
		ev := s.waitEvent(t, id)
		if strings.Contains(fmt.Sprint(ev["erfired"]), "Reloaded") {
			if ev["data"].(map[string]any)["site"] != "reloaded" || ev["erbundle"] == bundle {
				t.Fatalf("reloaded rule fired but the event is %v", ev)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new rule never ran within 30s:\n%s", s.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ev := s.waitEvent(t, "before"); strings.Contains(fmt.Sprint(ev["erfired"]), "Reloaded") {
		t.Fatalf("an event processed before the change was rewritten: %v", ev)
	}
	s.stop(t)
}
