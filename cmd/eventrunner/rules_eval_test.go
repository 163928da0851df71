package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/generated"
)

var update = flag.Bool("update", false, "rewrite testdata/eval golden files")

// TestEvalSamples runs every knowledge base over its rules/<kb>/samples.jsonl
// compiled and through grule: both outputs must be identical, and equal to
// the golden file.
func TestEvalSamples(t *testing.T) {
	for _, kb := range generated.Registry().KnowledgeBases() {
		t.Run(kb.Name(), func(t *testing.T) {
			samples := filepath.Join("..", "..", "rules", kb.Name(), "samples.jsonl")
			in, err := os.ReadFile(samples)
			if err != nil {
				t.Fatalf("every knowledge base needs sample events: %v", err)
			}
			compiled := evalAll(t, kb.Name(), false, in)
			interpreted := evalAll(t, kb.Name(), true, in)
			if compiled != interpreted {
				t.Fatalf("compiled and interpreted differ:\ncompiled:\n%s\ninterpreted:\n%s", compiled, interpreted)
			}
			if got, want := strings.Count(compiled, "\n"), bytes.Count(bytes.TrimSpace(in), []byte("\n"))+1; got != want {
				t.Fatalf("%d output lines for %d events", got, want)
			}
			golden := filepath.Join("testdata", "eval", kb.Name()+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(compiled), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if compiled != string(want) {
				t.Errorf("output differs from %s (run go test -update if intended):\n%s", golden, compiled)
			}
		})
	}
}

func evalAll(t *testing.T, kbName string, interpreted bool, in []byte) string {
	t.Helper()
	kb, err := evalKnowledgeBase(kbName, interpreted)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := newEvaluator(kb).run(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestEvalInputShapes(t *testing.T) {
	const ev = `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.iot.reading","data":{"deviceId":"dev-abcd","sensor":"humidity","value":50,"recordedAt":"2026-11-28T09:00:00Z"}}`
	inputs := map[string]string{
		"object":  ev,
		"array":   "[" + ev + "," + ev + "]",
		"lines":   ev + "\n" + ev + "\n",
		"unknown": `{"specversion":"1.0","id":"x","source":"/s","type":"com.acme.nope","data":{}}`,
		"bad ce":  `{"specversion":"1.0","source":"/s","type":"com.acme.iot.reading","data":{}}`,
	}
	want := map[string]string{
		"object":  `{"data":{"deviceId":"dev-abcd","sensor":"humidity","value":50,"recordedAt":"2026-11-28T09:00:00Z"},"fired":[],"error":null}` + "\n",
		"array":   strings.Repeat(`{"data":{"deviceId":"dev-abcd","sensor":"humidity","value":50,"recordedAt":"2026-11-28T09:00:00Z"},"fired":[],"error":null}`+"\n", 2),
		"lines":   strings.Repeat(`{"data":{"deviceId":"dev-abcd","sensor":"humidity","value":50,"recordedAt":"2026-11-28T09:00:00Z"},"fired":[],"error":null}`+"\n", 2),
		"unknown": `{"data":null,"fired":[],"error":"knowledge base iot does not run on events of type \"com.acme.nope\" (on: [com.acme.iot.reading])"}` + "\n",
		"bad ce":  `{"data":null,"fired":[],"error":"attribute \"id\": required, non-empty"}` + "\n",
	}
	for name, in := range inputs {
		if got := evalAll(t, "iot", false, []byte(in)); got != want[name] {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want[name])
		}
	}
}
