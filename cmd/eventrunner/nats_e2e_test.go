package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventrunner/eventrunner/runtime/bus/bustest"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// startOperatorServer starts a nats-server, as an operator would, from a
// configuration that includes what `eventrunner nats init` wrote to dir.
func startOperatorServer(t *testing.T, dir string) *natsserver.Server {
	t.Helper()
	conf := filepath.Join(dir, "server.conf")
	writeFile(t, conf, "listen: 127.0.0.1:-1\njetstream { store_dir: "+filepath.Join(dir, "js")+" }\ninclude "+serverConfName+"\n")
	opts, err := natsserver.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("the server configuration of nats init: %v", err)
	}
	return bustest.StartServer(t, opts)
}

// TestServeOnOperatorServer: `nats init` then serve against an external
// server that trusts the operator: tenants created in the file get
// accounts there, log in with their API key or a creds file, and see only
// their own stream.
func TestServeOnOperatorServer(t *testing.T) {
	dir := t.TempDir()
	opDir := filepath.Join(dir, "op")
	out, err := exec.Command(buildBinary(t), "nats", "init", "--dir", opDir, "--resolver-dir", filepath.Join(opDir, "jwt")).CombinedOutput()
	if err != nil {
		t.Fatalf("nats init: %v\n%s", err, out)
	}
	if out, err := exec.Command(buildBinary(t), "nats", "init", "--dir", opDir).CombinedOutput(); err == nil || !strings.Contains(string(out), "exists") {
		t.Errorf("a second nats init did not refuse: %v\n%s", err, out)
	}
	ns := startOperatorServer(t, opDir)
	seed := filepath.Join(opDir, operatorFileName)
	data := filepath.Join(dir, "data")
	acme := createTenant(t, "acme", "--data-dir", data)
	s := startServer(t, data, "--nats-url", ns.ClientURL(), "--nats-operator-key", seed)
	if code, _, b := request(t, "POST", s.httpURL+"/v1/events", acme.APIKey, "application/cloudevents+json", iotEvent("ext-1", 70)); code != 202 {
		t.Fatalf("post: %d %s\n%s", code, b, s.stderr)
	}
	waitGet(t, s.httpURL+"/v1/events/ext-1", acme.APIKey)

	credsFile := filepath.Join(dir, "acme.creds")
	if out, err := exec.Command(buildBinary(t), "tenant", "creds", "acme", "--data-dir", data, "--nats-operator-key", seed, "-o", credsFile).CombinedOutput(); err != nil {
		t.Fatalf("tenant creds: %v\n%s", err, out)
	}
	for name, opts := range map[string][]nats.Option{
		"API key": tenantnats.ClientOptions("acme", acme.APIKey),
		"creds":   {nats.UserCredentials(credsFile)},
	} {
		nc, err := nats.Connect(ns.ClientURL(), opts...)
		if err != nil {
			t.Fatalf("%s login: %v", name, err)
		}
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var names []string
		for n := range js.StreamNames(ctx).Name() {
			names = append(names, n)
		}
		st, err := js.Stream(ctx, tenantnats.StreamName("acme"))
		cancel()
		nc.Close()
		if len(names) != 1 || err != nil || st.CachedInfo().State.Msgs != 1 {
			t.Errorf("%s: streams %v, own stream %v", name, names, err)
		}
	}
	sys, err := os.ReadFile(filepath.Join(opDir, sysCredsName))
	if err != nil || !strings.Contains(string(sys), "NATS USER JWT") {
		t.Errorf("sys.creds: %v", err)
	}
	s.stop(t)
}
