package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSendModes: `eventrunner send` posts with sdk-go in each HTTP binding
// mode; the engine's answers are the same in all three: good events stored
// as sent, the one the schema refuses rejected naming the field, and the
// one sdk-go refuses (an empty id) not sent.
func TestSendModes(t *testing.T) {
	s := startServer(t, t.TempDir())
	for _, mode := range []string{"batch", "structured", "binary"} {
		t.Run(mode, func(t *testing.T) {
			var lines []string
			for i := range 4 {
				lines = append(lines, iotEvent(fmt.Sprintf("%s-%d", mode, i), 60+float64(i)))
			}
			lines = append(lines,
				strings.Replace(iotEvent(mode+"-bad", 1), `"value":1`, `"value":"hot"`, 1),
				iotEvent("", 1))
			file := filepath.Join(t.TempDir(), "events.jsonl")
			os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
			out, err := exec.Command(buildBinary(t), "send", "--mode", mode, "--url", s.httpURL, "--api-key", testKey, "--progress=false", file).CombinedOutput()
			if code := processExit(err); code != 1 {
				t.Fatalf("send: exit %d (%v), want 1 for the rejected ones:\n%s", code, err, out)
			}
			for _, want := range []string{"sent 6, accepted 4, rejected 2", "rejected " + mode + "-bad: 422 ", "data.$.value", `not sent (id ""): the CloudEvents SDK refuses it`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for i := range 4 {
				ev := s.waitEvent(t, fmt.Sprintf("%s-%d", mode, i))
				// The iot rules turn °F into °C.
				data, _ := ev["data"].(map[string]any)
				if c, _ := data["value"].(float64); math.Abs(c-(60+float64(i)-32)*5/9) > 1e-9 || data["unit"] != "C" || data["deviceId"] != "dev-e2e1" {
					t.Errorf("%s-%d stored with data %v", mode, i, ev["data"])
				}
			}
		})
	}
}

func processExit(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
