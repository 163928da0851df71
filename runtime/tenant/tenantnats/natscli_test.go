package tenantnats_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats/tenantnatstest"
)

// TestNatsCLIAsTenant runs natscli, NATS's own command-line client, as
// tenant a with its API key (user a, password the key), on the embedded
// server and on a 3-node cluster: stream ls, stream info, consumer add,
// consumer next and account info all work with natscli's defaults (its
// default inbox prefix among them) and show only a's own.
func TestNatsCLIAsTenant(t *testing.T) {
	cli := natsCLI(t)
	for _, env := range []struct {
		name  string
		start func(testing.TB, ...string) *tenantnatstest.Env
	}{{"embedded", tenantnatstest.Start}, {"cluster", tenantnatstest.StartCluster}} {
		t.Run(env.name, func(t *testing.T) {
			e := withEvents(t, env.start(t, "a", "b"))
			nats := func(args ...string) (string, error) {
				cmd := exec.Command(cli, append([]string{"--server", e.URL, "--user", "a", "--password", e.APIKeys["a"], "--timeout", "10s"}, args...)...)
				cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no natscli contexts of the machine's user
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			must := func(args ...string) string {
				t.Helper()
				out, err := nats(args...)
				if err != nil {
					t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			own := tenantnats.StreamName("a")
			if names := strings.Fields(must("stream", "ls", "--names")); !slices.Equal(names, []string{own}) {
				t.Errorf("stream ls: %v, want only %s", names, own)
			}
			var info struct {
				Config struct{ Name string }
				State  struct{ Messages uint64 }
			}
			if err := json.Unmarshal([]byte(must("stream", "info", own, "--json")), &info); err != nil || info.Config.Name != own || info.State.Messages != 3 {
				t.Errorf("stream info %s: %+v %v, want its 3 messages", own, info, err)
			}
			if out, err := nats("stream", "info", tenantnats.StreamName("b"), "--json"); err == nil {
				t.Errorf("stream info of b's stream as a succeeded:\n%s", out)
			}
			must("consumer", "add", own, "mine", "--pull", "--deliver", "all", "--ack", "explicit", "--defaults")
			if got := strings.Count(must("consumer", "next", own, "mine", "--count", "3", "--raw"), `{"tenant":"a"}`); got != 3 {
				t.Errorf("consumer next: %d of a's events, want 3", got)
			}
			out := must("account", "info")
			for _, want := range []*regexp.Regexp{regexp.MustCompile(`Streams: 1\b`), regexp.MustCompile(`Consumers: 1\b`)} {
				if !want.MatchString(out) {
					t.Errorf("account info does not show %s (a's own only):\n%s", want, out)
				}
			}
		})
	}
}

// natsCLI finds natscli: $EVENTRUNNER_NATSCLI, .cache/bin/nats at the
// repository's root (.ci/natscli.sh installs it there) or nats on PATH.
func natsCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVENTRUNNER_NATSCLI"); p != "" {
		return p
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if p := filepath.Join(dir, ".cache", "bin", "nats"); fileExists(p) {
				return p
			}
			break
		}
	}
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	reason := "natscli is not installed: run .ci/natscli.sh (go install github.com/nats-io/natscli/nats into .cache/bin)"
	if os.Getenv("EVENTRUNNER_REQUIRE_SERVICES") == "1" || os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
