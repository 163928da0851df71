package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonDir holds the Python gRPC client example and its requirements;
// .ci/python.sh installs them into pythonDir/.venv.
var pythonDir = filepath.Join("..", "..", "docs", "examples", "python")

// TestPythonGRPCClient runs the Python client example of docs/grpc.md as a
// user would: protoc's Python output of the ingest .proto files (which must
// import as generated, not hidden by Python's built-in io module), then
// client.py against serve, in Publish and Stream mode.
func TestPythonGRPCClient(t *testing.T) {
	python := filepath.Join(pythonDir, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		missing(t, "no Python environment with grpcio-tools in "+filepath.Join(pythonDir, ".venv")+": run .ci/python.sh")
	}
	python, _ = filepath.Abs(python)
	out := t.TempDir()
	protoDir := filepath.Join("..", "..", "runtime", "grpcingest", "cepb", "proto")
	gen := exec.Command(python, "-m", "grpc_tools.protoc", "-I", protoDir, "--python_out", out, "--grpc_python_out", out,
		"eventrunner/cloudevents/v1/cloudevents.proto", "eventrunner/ingest/v1/ingest.proto")
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("grpc_tools.protoc: %v\n%s", err, b)
	}

	s := startServer(t, t.TempDir())
	events := filepath.Join(t.TempDir(), "events.jsonl")
	lines := []string{
		`{"specversion":"1.0","id":"py-1","source":"/python","type":"com.acme.iot.reading","time":"2026-11-28T09:00:00Z","subject":"dev-py","data":{"deviceId":"dev-py0001","sensor":"temperature","value":21.5,"unit":"C","recordedAt":"2026-11-28T09:00:00Z"}}`,
		`{"specversion":"1.0","id":"py-2","source":"/python","type":"com.acme.iot.reading","data":{"deviceId":"dev-py0001","sensor":"temperature","value":"hot","unit":"C","recordedAt":"2026-11-28T09:00:00Z"}}`,
	}
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"publish", "stream"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{filepath.Join(pythonDir, "client.py"), "--addr", s.grpcAddr, "--key", testKey, events}
			if mode == "stream" {
				args = append(args, "--stream")
			}
			cmd := exec.Command(python, args...)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+out)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("client.py: %v (want exit status 1: one event is invalid)\n%s%s", err, stdout.String(), stderr.String())
			}
			var acks []struct{ ID, Source, Status, Error, Field string }
			sc := bufio.NewScanner(&stdout)
			for sc.Scan() {
				var a struct{ ID, Source, Status, Error, Field string }
				if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
					t.Fatalf("client.py printed %q: %v", sc.Text(), err)
				}
				acks = append(acks, a)
			}
			if len(acks) != 2 || acks[0].ID != "py-1" || acks[0].Status != "ACCEPTED" ||
				acks[1].ID != "py-2" || acks[1].Status != "REJECTED" || acks[1].Field != "data.$.value" {
				t.Fatalf("acks %+v, want py-1 ACCEPTED then py-2 REJECTED naming data.$.value\n%s", acks, stderr.String())
			}
		})
	}
	var ev struct{ ID, Subject, Time string }
	if err := json.Unmarshal(s.waitEventRaw(t, "py-1", "/python"), &ev); err != nil || ev.Subject != "dev-py" || ev.Time != "2026-11-28T09:00:00Z" {
		t.Fatalf("stored py-1: %+v %v", ev, err)
	}
	s.stop(t)
}

// missing skips a test whose tool is not installed, or fails it where the
// tools must be there (CI: EVENTRUNNER_REQUIRE_SERVICES=1 or CI=true).
func missing(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" || os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}
