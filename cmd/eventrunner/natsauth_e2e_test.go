package main

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// TestServeOnPasswordServer: serve against an external nats-server with
// JetStream that knows eventrunner only as a user with a password (no
// operator: one account, the shared-streams mode), given a list of servers
// whose first is dead. An event posted is processed, read back, and in the
// tenant's stream on that server. A wrong password stops serve at once with
// an error naming the flags to fix.
func TestServeOnPasswordServer(t *testing.T) {
	dir := t.TempDir()
	ns := bustest.StartServer(t, &natsserver.Options{
		JetStream: true, StoreDir: t.TempDir(),
		Username: "engine", Password: "s3cret-password",
	})
	urls := deadURL(t) + "," + ns.ClientURL()

	out, err := exec.Command(buildBinary(t), "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "",
		"--nats-url", ns.ClientURL(), "--nats-user", "engine", "--nats-password", "wrong").CombinedOutput()
	if want := `nats: Authorization Violation: the server refused nats-user "engine" with that nats-password`; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("serve with a wrong password: %v, want an error with %q:\n%s", err, want, out)
	}

	t.Setenv("EVENTRUNNER_NATS_PASSWORD", "s3cret-password") // as a deployment keeps it out of the command line
	s := startServer(t, dir, "--nats-url", urls, "--nats-user", "engine")
	if code, b := s.post(t, "application/cloudevents+json", nil, iotEvent("pw-1", 212)); code != 202 {
		t.Fatalf("post: %d %s\n%s", code, b, s.stderr)
	}
	if ev := s.waitEvent(t, "pw-1"); ev["tenantid"] != "demo" || ev["data"].(map[string]any)["unit"] != "C" {
		t.Errorf("not processed as expected: %v", ev)
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("engine", "s3cret-password"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, tenantnats.StreamName("demo"))
	if err != nil {
		t.Fatalf("the demo tenant's stream on the external server: %v", err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("the demo tenant's stream holds %d events, want 1", n)
	}
	s.stop(t)
}

// deadURL is a loopback address where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "nats://" + l.Addr().String()
}
