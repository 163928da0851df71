package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/bus"
)

// natsSettings is every external-NATS setting once, by flag name, with
// several servers.
var natsSettings = [][2]string{
	{"nats-url", "nats://nats-1:4222,tls://nats-2:4222,nats://nats-3:4222"},
	{"nats-creds", "/etc/er/engine.creds"},
	{"nats-nkey", "/etc/er/engine.nk"},
	{"nats-user", "engine"},
	{"nats-password", "s3cret: with a colon"},
	{"nats-token", "tok-0123"},
	{"nats-tls-ca", "/etc/er/ca.pem"},
	{"nats-tls-cert", "/etc/er/client.pem"},
	{"nats-tls-key", "/etc/er/client-key.pem"},
	{"nats-connect-timeout", "3s"},
	{"nats-reconnect-wait", "1.5s"},
	{"nats-reconnect-buffer", "1048576"},
	{"nats-replicas", "3"},
	{"nats-placement-tags", "ssd,eu"},
}

// wantNATS is the configuration natsSettings give.
var wantNATS = app.Config{
	NATS: bus.ClientConfig{
		URLs:      []string{"nats://nats-1:4222", "tls://nats-2:4222", "nats://nats-3:4222"},
		CredsFile: "/etc/er/engine.creds", NKeyFile: "/etc/er/engine.nk",
		User: "engine", Password: "s3cret: with a colon", Token: "tok-0123",
		TLSCA: "/etc/er/ca.pem", TLSCert: "/etc/er/client.pem", TLSKey: "/etc/er/client-key.pem",
		ConnectTimeout: 3 * time.Second, ReconnectWait: 1500 * time.Millisecond, ReconnectBufBytes: 1 << 20,
	},
	NATSReplication: bus.Replication{Replicas: 3, Tags: []string{"ssd", "eu"}},
}

// TestNATSFlagsFromEnvAndYAML: the external-NATS settings read from the
// command line, the environment and the YAML file give the same
// configuration, lists included.
func TestNATSFlagsFromEnvAndYAML(t *testing.T) {
	clearNATSEnv(t)
	dir := t.TempDir()
	var args []string
	var yamlFile strings.Builder
	for _, s := range natsSettings {
		args = append(args, "--"+s[0], s[1])
		fmt.Fprintf(&yamlFile, "%s: %q\n", s[0], s[1])
	}
	yamlList := strings.NewReplacer(`nats-url: "nats://nats-1:4222,tls://nats-2:4222,nats://nats-3:4222"`,
		"nats-url:\n  - nats://nats-1:4222\n  - tls://nats-2:4222\n  - nats://nats-3:4222",
		`nats-placement-tags: "ssd,eu"`, "nats-placement-tags: [ssd, eu]",
		`nats-replicas: "3"`, "nats-replicas: 3").Replace(yamlFile.String())
	tests := []struct {
		name string
		load func(t *testing.T, fs *pflag.FlagSet) error
	}{
		{"flags", func(t *testing.T, fs *pflag.FlagSet) error {
			if err := fs.Parse(args); err != nil {
				return err
			}
			return applyConfig(fs, "")
		}},
		{"environment", func(t *testing.T, fs *pflag.FlagSet) error {
			for _, s := range natsSettings {
				t.Setenv(envName(s[0]), s[1])
			}
			return applyConfig(fs, "")
		}},
		{"yaml strings", func(t *testing.T, fs *pflag.FlagSet) error {
			return applyConfig(fs, writeConfigFile(t, filepath.Join(dir, "strings.yaml"), yamlFile.String()))
		}},
		{"yaml lists", func(t *testing.T, fs *pflag.FlagSet) error {
			return applyConfig(fs, writeConfigFile(t, filepath.Join(dir, "lists.yaml"), yamlList))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg app.Config
			fs := natsFlagSet(&cfg)
			if err := tt.load(t, fs); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.NATS, wantNATS.NATS) || !reflect.DeepEqual(cfg.NATSReplication, wantNATS.NATSReplication) {
				t.Errorf("got\n%+v %+v\nwant\n%+v %+v", cfg.NATS, cfg.NATSReplication, wantNATS.NATS, wantNATS.NATSReplication)
			}
		})
	}
}

// TestNATSURLPrecedence: a flag wins over the environment, which wins over
// the file, for the list of servers as for any flag; a bad value names its
// source.
func TestNATSURLPrecedence(t *testing.T) {
	clearNATSEnv(t)
	file := writeConfigFile(t, filepath.Join(t.TempDir(), "er.yaml"), "nats-url: [nats://file-1:4222, nats://file-2:4222]\nnats-user: file-user\n")
	load := func(args ...string) app.Config {
		t.Helper()
		var cfg app.Config
		fs := natsFlagSet(&cfg)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := applyConfig(fs, file); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if got := load().NATS; !reflect.DeepEqual(got.URLs, []string{"nats://file-1:4222", "nats://file-2:4222"}) || got.User != "file-user" {
		t.Errorf("from the file: %v %q", got.URLs, got.User)
	}
	t.Setenv("EVENTRUNNER_NATS_URL", "nats://env-1:4222,nats://env-2:4222")
	if got := load().NATS; !reflect.DeepEqual(got.URLs, []string{"nats://env-1:4222", "nats://env-2:4222"}) || got.User != "file-user" {
		t.Errorf("environment over file: %v %q", got.URLs, got.User)
	}
	if got := load("--nats-url", "nats://flag:4222").NATS.URLs; !reflect.DeepEqual(got, []string{"nats://flag:4222"}) {
		t.Errorf("flag over environment: %v", got)
	}
	t.Setenv("EVENTRUNNER_NATS_RECONNECT_WAIT", "soon")
	var cfg app.Config
	if err := applyConfig(natsFlagSet(&cfg), file); err == nil || !strings.HasPrefix(err.Error(), "EVENTRUNNER_NATS_RECONNECT_WAIT: ") {
		t.Errorf("bad duration in the environment: %v", err)
	}
}

// natsFlagSet is serve's NATS flags over cfg.
func natsFlagSet(cfg *app.Config) *pflag.FlagSet {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addNATSFlags(fs, cfg)
	return fs
}

// clearNATSEnv unsets the EVENTRUNNER_NATS_* variables of the test's
// environment for the test.
func clearNATSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, envPrefix+"NATS_") {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
}

// writeConfigFile writes a YAML configuration file and returns its path.
func writeConfigFile(t *testing.T, path, content string) string {
	t.Helper()
	writeFile(t, path, content)
	return path
}
