package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/generated"
	"github.com/eventrunner/eventrunner/generated/typedpb"
	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/schemas"
)

func newServeCmd() *cobra.Command {
	var cfg app.Config
	var configFile, logLevel, logFormat, roles string
	consoleOn := true
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the engine: ingest, rules, store and tenant streams (all in one process, or the --roles you pick)",
		Long: `serve runs the whole pipeline. With no configuration it starts an embedded
NATS server with JetStream (files under ./data), the HTTP API on loopback, the
runner, the engine with the compiled knowledge bases, an embedded Pebble store
and a demo tenant whose API key it prints with a working curl example.

Every flag can also be set in the environment (--http-addr ↔
EVENTRUNNER_HTTP_ADDR) or in a YAML file given with --config whose keys are
the flag names; flags win over the environment, which wins over the file.`,
		Example: `  eventrunner serve
  eventrunner serve --data-dir /var/lib/eventrunner --http-addr :8080 --demo-api-key "$KEY"
  eventrunner serve --nats-url nats://nats-1:4222,nats://nats-2:4222 --nats-creds engine.creds --nats-replicas 3
  eventrunner serve --nats-url nats://nats-1:4222 --nats-creds engine.creds --roles ingest   # an ingest-only node
  eventrunner serve --config /etc/eventrunner.yaml   # keys are flag names: nats-url: [nats://a:4222, nats://b:4222]
  eventrunner serve --rules-dir rules   # interpreted GRL, reloaded on change (development)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), configFile); err != nil {
				return err
			}
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			if cfg.Roles, err = app.ParseRoles(roles); err != nil {
				return err
			}
			cfg.NoConsole = !consoleOn
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg.TypedGRPC = typedpb.RegisterServices
			cfg.SchemaFiles = schemas.FS
			a, err := app.Start(ctx, cfg, generated.Registry(), log)
			if err != nil {
				return err
			}
			printBanner(cmd.OutOrStdout(), a, cfg)
			<-ctx.Done()
			log.Info("shutting down: draining in-flight events")
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Defaults().ShutdownTimeout)
			defer cancel()
			if err := a.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML file of settings (keys are flag names)")
	f.StringVar(&cfg.DataDir, "data-dir", "data", "directory for the JetStream and Pebble files")
	f.StringVar(&roles, "roles", "all", "parts of the pipeline this process runs, comma-separated: ingest, runner, engine, wasm, analytics, query (see docs/deploy.md)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8080", "HTTP API listen address")
	f.StringVar(&cfg.SchemaBaseURL, "schema-base-url", "", "the HTTP API's public URL: processed events carry dataschema <url>/v1/schemas/<type>/v<N>, served there (default http://<http-addr>)")
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:9090", "gRPC ingest listen address (port 0 picks one; empty disables gRPC)")
	addNATSFlags(f, &cfg) // --nats-* (nats_flags.go)
	f.StringVar(&cfg.DemoTenant, "demo-tenant", "demo", "id of the demo tenant")
	f.StringVar(&cfg.DemoAPIKey, "demo-api-key", "", "API key of the demo tenant (generated and printed when empty)")
	f.StringVar(&cfg.TenantsFile, "tenants-file", "", "tenants registry (YAML, see `eventrunner tenant`); default <data-dir>/tenants.yaml, re-read on change")
	f.StringVar(&cfg.AdminKey, "admin-key", "", "key guarding the admin API (/admin/v1/…) and the console's admin view; empty disables them")
	f.BoolVar(&consoleOn, "console", true, "serve the web console at /console, with the live tail /v1/events/stream, /v1/kbs and /v1/nats (docs/console.md)")
	f.StringVar(&cfg.RulesDir, "rules-dir", "", "run the GRL in this directory through grule, reloading on change, instead of the compiled rules")
	f.IntVar(&cfg.Workers, "workers", 0, "runner and engine workers (0 = one per core)")
	f.DurationVar(&cfg.IngestLinger, "ingest-linger", time.Millisecond, "how long a small ingest request waits for concurrent ones of its tenant to share one JetStream write (group commit); negative turns it off")
	f.DurationVar(&cfg.AckWait, "ack-wait", 30*time.Second, "how long an event may stay unacknowledged before it is redelivered (e.g. after a crash)")
	f.Int64Var(&cfg.MaxEventBytes, "max-event-bytes", 1<<20, "largest event accepted over HTTP")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 0, "how long shutdown may drain in-flight work (default 30s)")
	addStorageFlags(f, &cfg) // --cassandra-*, --clickhouse-dsn (storage_flags.go)
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

// printBanner tells the user where everything is and how to try it.
func printBanner(w io.Writer, a *app.App, cfg app.Config) {
	url := "http://" + a.HTTPAddr()
	key := a.DemoAPIKey()
	nats := a.NATSURL()
	if !cfg.NATS.External() {
		nats += " (embedded JetStream, files in " + cfg.Defaults().DataDir + ")"
	}
	tenantLine := fmt.Sprintf("%s, API key %s (also its NATS password; user = tenant id)", a.DemoTenant(), key)
	if a.DemoTenant() == "" {
		tenantLine = "none on an external NATS unless --demo-api-key is given; create tenants with\n          eventrunner tenant create ID --server " + url + " --admin-key …"
		key = "$API_KEY" // the created tenant's, which create prints
	}
	consoleURL := "off"
	if !cfg.NoConsole {
		consoleURL = url + "/console/  (log in with an API key, or the admin key; see docs/console.md)"
	}
	grpcAddr := "off"
	if a.GRPCAddr() != "" {
		grpcAddr = a.GRPCAddr() + "  (CloudEventIngest + typed services, health, reflection; see docs/grpc.md)"
	}
	fmt.Fprintf(w, `eventrunner %s, bundle %s: ready
  HTTP    %s  (POST/GET /v1/events, GET /v1/schemas, /metrics, /healthz, /readyz)
  schemas %s  (processed events' dataschema: <that>/<type>/v<N>)
  console %s
  gRPC    %s
  NATS    %s
  tenant  %s

Send an event, then read it back processed:
  curl -i %s/v1/events -H "Authorization: Bearer %s" \
    -H 'Content-Type: application/cloudevents+json' \
    -d '{"specversion":"1.0","id":"demo-1","source":"/curl","type":"com.acme.iot.reading","data":{"deviceId":"dev-demo1","sensor":"temperature","value":212,"unit":"F","battery":9,"recordedAt":"2026-11-28T09:00:00Z"}}'
  curl -s %s/v1/events/demo-1 -H "Authorization: Bearer %s"
`, version, generated.BundleHash, url, a.SchemaBase()+"/v1/schemas", consoleURL, grpcAddr, nats, tenantLine, url, key, url, key)
}
