package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus"
)

// TestBenchCommand runs `eventrunner bench`, small, on the embedded server
// and on a 3-node cluster with R3 streams: every phase prints its figure
// and its ratio to raw publish of the same replication; on the cluster it
// leaves no stream behind, and it refuses a cluster an eventrunner uses.
// With EVENTRUNNER_BENCH_EVENTS=50000 it is the measurement of
// docs/benchmarks.md on both, in one run (-v shows the figures).
func TestBenchCommand(t *testing.T) {
	bin := buildBinary(t)
	size := []string{"--events", "600", "--batch", "50", "--concurrency", "2"}
	if n := os.Getenv("EVENTRUNNER_BENCH_EVENTS"); n != "" { // a measurement: the figures are logged
		size = []string{"--events", n}
	}
	bench := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, append(append([]string{"bench"}, size...), args...)...)
		out, err := cmd.CombinedOutput()
		t.Logf("eventrunner bench %s:\n%s", strings.Join(args, " "), out)
		return string(out), err
	}
	figures := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(out) {
				t.Errorf("bench output lacks %q:\n%s", w, out)
			}
		}
	}
	t.Run("embedded", func(t *testing.T) {
		out, err := bench(t)
		if err != nil {
			t.Fatalf("bench: %v\n%s", err, out)
		}
		figures(t, out, `bench on embedded NATS`, `raw JetStream async publish: +\d+ msg/s +\(R1, median of \d+/\d+/\d+ msg/s\)`,
			`pipeline, full load: +\d+ events/s +\(\d+% of raw\)`, `ingest, gRPC typed stream: +\d+ events/s acknowledged`,
			`pipeline, half load \(\d+/s\): +\d+ events/s`)
	})
	t.Run("cluster", func(t *testing.T) {
		c, seed, keys := operatorCluster(t)
		args := []string{"--nats-url", c.ConnectURL(), "--nats-operator-key", seed, "--nats-replicas", "3", "--skip-ingest"}
		out, err := bench(t, args...)
		if err != nil {
			t.Fatalf("bench: %v\n%s", err, out)
		}
		figures(t, out, `bench on NATS at nats://127\.0\.0\.1:\d+, streams R3`, `raw JetStream async publish: +\d+ msg/s +\(R3, median of \d+/\d+/\d+ msg/s\)`,
			`pipeline, full load: +\d+ events/s +\(\d+% of raw\)`, `pipeline, half load`)
		if strings.Contains(out, "bench: delete") {
			t.Errorf("bench could not clean up:\n%s", out)
		}
		js := engineJetStream(t, c, keys)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := js.StreamNames(ctx)
		var left []string
		for name := range names.Name() {
			left = append(left, name)
		}
		if len(left) > 0 || names.Err() != nil {
			t.Errorf("streams left after bench: %v (%v)", left, names.Err())
		}

		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: bus.StreamRaw, Subjects: []string{"er.raw.>"}}); err != nil {
			t.Fatal(err)
		}
		out, err = bench(t, args...)
		if err == nil || !strings.Contains(out, "already has stream ER_RAW") {
			t.Errorf("bench on a cluster with ER_RAW: %v, want a refusal:\n%s", err, out)
		}
	})
}
