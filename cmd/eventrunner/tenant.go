package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/app"
	"github.com/eventrunner/eventrunner/runtime/tenant"
	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

// tenantOps is what the tenant commands do, on the tenants file directly or
// through a running engine's admin API.
type tenantOps interface {
	Create(t tenant.Tenant) (tenant.Secrets, error)
	List() ([]tenant.Tenant, error)
	RotateKey(id string, keepOld bool) (tenant.Secrets, error)
	Delete(id string) error
	// Creds issues a NATS .creds file of a user of the tenant's account
	// (expires zero: never).
	Creds(id string, expires time.Duration) ([]byte, error)
	// Export is every stored tenant as a tenants file.
	Export() ([]byte, error)
}

// tenantTarget holds the flags that choose where tenants live.
type tenantTarget struct {
	dataDir, file, server, adminKey, operatorKey string
}

func (t *tenantTarget) flags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&t.dataDir, "data-dir", "data", "the engine's data directory (the tenants file is <data-dir>/tenants.yaml)")
	f.StringVar(&t.file, "tenants-file", "", "tenants file to edit (default <data-dir>/tenants.yaml); a running serve re-reads it")
	f.StringVar(&t.server, "server", "", "URL of a running engine: go through its admin API instead of the file")
	f.StringVar(&t.adminKey, "admin-key", "", "the engine's admin key (with --server)")
	f.StringVar(&t.operatorKey, "nats-operator-key", "", "NATS operator seed for creds (default <data-dir>/nats/operator.nk, the embedded server's)")
}

func (t *tenantTarget) ops(cmd *cobra.Command) (tenantOps, error) {
	if err := applyConfig(cmd.Flags(), ""); err != nil {
		return nil, err
	}
	if t.server != "" {
		return &adminClient{base: strings.TrimRight(t.server, "/"), key: t.adminKey, hc: &http.Client{Timeout: 30 * time.Second}}, nil
	}
	path := t.file
	if path == "" {
		path = filepath.Join(t.dataDir, "tenants.yaml")
	}
	ts, err := tenant.ReadFile(path)
	if err != nil {
		return nil, err
	}
	reg := tenant.NewRegistry()
	if err := reg.Replace(ts); err != nil {
		return nil, err
	}
	operator := t.operatorKey
	if operator == "" {
		operator = filepath.Join(t.dataDir, "nats", "operator.nk")
	}
	return fileOps{&tenant.Manager{Store: &tenant.FileStore{Path: path}, Registry: reg, NewSigningKey: app.NewSigningKey}, operator}, nil
}

type fileOps struct {
	*tenant.Manager
	operatorKey string
}

func (f fileOps) List() ([]tenant.Tenant, error) { return f.Registry.List(), nil }

func (f fileOps) Export() ([]byte, error) { return tenant.Encode(f.Registry.List()) }

func (f fileOps) Creds(id string, expires time.Duration) ([]byte, error) {
	if _, ok := f.Registry.Get(id); !ok {
		return nil, fmt.Errorf("tenant %s: %w", id, tenant.ErrNotFound)
	}
	keys, err := tenantnats.ReadKeys(f.operatorKey)
	if err != nil {
		return nil, fmt.Errorf("%w\n(the embedded server creates it at its first start; for a cluster, give the seed of `eventrunner nats init` with --nats-operator-key)", err)
	}
	var until time.Time
	if expires > 0 {
		until = time.Now().Add(expires)
	}
	c, err := keys.TenantCreds(id, until)
	if err != nil {
		return nil, err
	}
	return c.File()
}

func newTenantCmd() *cobra.Command {
	var target tenantTarget
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Create, list, rotate the key of, or delete tenants",
		Long: `tenant manages the tenants registry: by default the YAML file a running
serve re-reads (<data-dir>/tenants.yaml), or, with --server and --admin-key,
a running engine's admin API.

A tenant's API key authenticates HTTP requests and is its NATS password
(user = tenant id): NATS logs it into the tenant's own account. Its signing
seed signs its WASM modules. Both are printed once, at creation; only the
key's SHA-256 and the seed's public key are kept. ` + "`tenant creds`" + ` writes a
NATS .creds file for the tenant's account instead of a password.
` + "`tenant export`" + ` writes the registry (a cluster's shared one with --server) as a
tenants file, which serve --tenants-file imports.`,
	}
	target.flags(cmd)
	cmd.AddCommand(newTenantCreateCmd(&target), newTenantListCmd(&target), newTenantRotateCmd(&target), newTenantDeleteCmd(&target),
		newTenantCredsCmd(&target), newTenantExportCmd(&target))
	return cmd
}

func newTenantCreateCmd(target *tenantTarget) *cobra.Command {
	var t tenant.Tenant
	var retention time.Duration
	var signingKey string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create a tenant and print its API key and signing seed (once)",
		Example: `  eventrunner tenant create acme --rate 1000 --burst 5000 --retention 72h --max-bytes 10737418240
  eventrunner tenant create acme --server http://127.0.0.1:8080 --admin-key "$ADMIN_KEY"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			t.ID, t.Retention = args[0], tenant.Duration(retention)
			if signingKey != "" {
				t.SigningKeys = []string{signingKey}
			}
			s, err := ops.Create(t)
			if err != nil {
				return err
			}
			return printSecrets(cmd.OutOrStdout(), s, asJSON, "created")
		},
	}
	f := cmd.Flags()
	f.Float64Var(&t.RatePerSec, "rate", 0, "ingest rate limit in events/s (0 = unlimited)")
	f.IntVar(&t.Burst, "burst", 0, "events allowed at once above the rate (default: one second's worth)")
	f.IntVar(&t.MaxEventKB, "max-event-kb", 0, "largest event in KiB (0 = the engine's limit)")
	f.DurationVar(&retention, "retention", 0, "how long the tenant's stream keeps events (default 7 days)")
	f.Int64Var(&t.MaxBytes, "max-bytes", 0, "size cap of the tenant's stream in bytes (0 = none)")
	f.IntVar(&t.NATS.MaxConnections, "nats-max-connections", 0, "the tenant's NATS connections at once (0 = unlimited)")
	f.Int64Var(&t.NATS.MaxStorage, "nats-max-storage", 0, "bytes of the tenant's own JetStream streams, beside its event stream (0 = unlimited; needs --max-bytes)")
	f.IntVar(&t.NATS.MaxStreams, "nats-max-streams", 0, "streams the tenant may create, beside its event stream (0 = unlimited)")
	f.IntVar(&t.NATS.MaxConsumers, "nats-max-consumers", 0, "the tenant's consumers per stream (0 = unlimited)")
	f.StringVar(&signingKey, "signing-key", "", "register this nkeys public key for WASM signatures instead of generating a seed")
	f.BoolVar(&asJSON, "json", false, "print the secrets as JSON")
	return cmd
}

func newTenantListCmd(target *tenantTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tenants and their limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			ts, err := ops.List()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TENANT\tKEYS\tSIGNING KEYS\tLIMITS")
			for _, t := range ts {
				keys := "-" // the admin API does not show key digests
				if len(t.KeyHashes) > 0 {
					keys = strconv.Itoa(len(t.KeyHashes))
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", t.ID, keys, len(t.SigningKeys), tenant.FormatLimits(t))
			}
			return w.Flush()
		},
	}
}

func newTenantRotateCmd(target *tenantTarget) *cobra.Command {
	var keepOld, asJSON bool
	cmd := &cobra.Command{
		Use:   "rotate-key ID",
		Short: "Issue a new API key (the old ones stop working unless --keep-old)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			s, err := ops.RotateKey(args[0], keepOld)
			if err != nil {
				return err
			}
			return printSecrets(cmd.OutOrStdout(), s, asJSON, "has a new key")
		},
	}
	cmd.Flags().BoolVar(&keepOld, "keep-old", false, "keep the previous keys valid, for a rollover")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the secrets as JSON")
	return cmd
}

func newTenantDeleteCmd(target *tenantTarget) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a tenant: its keys stop working, its stream and WASM consumers are removed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			if err := ops.Delete(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s deleted\n", args[0])
			return nil
		},
	}
}

func newTenantCredsCmd(target *tenantTarget) *cobra.Command {
	var out string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "creds ID",
		Short: "Write a NATS .creds file for a user of the tenant's account (for the nats CLI and the SDKs)",
		Long: `creds issues a user of the tenant's NATS account, signed by the account's
creds signing key, and writes it as a .creds file that the nats CLI (--creds)
and every NATS client library read. The user may use the tenant's account
like any NATS account (its streams, consumers, KV buckets, within the
tenant's limits) but not change or empty the stream the engine writes.
Deleting the tenant revokes every creds file; rotating an API key does not.

Without --server it needs the NATS operator seed: the embedded server's
(<data-dir>/nats/operator.nk) or a cluster's (--nats-operator-key).`,
		Example: `  eventrunner tenant creds acme --out acme.creds
  nats --server nats://127.0.0.1:4222 --creds acme.creds stream ls
  eventrunner tenant creds acme --expires 720h --server http://127.0.0.1:8080 --admin-key "$ADMIN_KEY" > acme.creds`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			b, err := ops.Creds(args[0], expires)
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (keep it secret: it logs in as tenant %s)\n", out, args[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (mode 0600); default stdout")
	cmd.Flags().DurationVar(&expires, "expires", 0, "how long the creds are valid (0 = until the tenant is deleted)")
	return cmd
}

func newTenantExportCmd(target *tenantTarget) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every tenant as a tenants file (the format serve --tenants-file imports)",
		Long: `export writes the tenants registry in the tenants.yaml format: with --server,
the running engine's (on a cluster, the shared ER_TENANTS bucket every
process follows), else the tenants file. It holds each API key's SHA-256
digest, never a key, so the keys keep working where the file is imported:
serve --tenants-file FILE on a new data directory or cluster (tenants the
cluster's registry already has are kept as they are). The file is as
sensitive as the registry: written with mode 0600.`,
		Example: `  eventrunner tenant export --server http://127.0.0.1:8080 --admin-key "$ADMIN_KEY" -o tenants.yaml
  eventrunner serve --nats-url nats://new-cluster:4222 --tenants-file tenants.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ops, err := target.ops(cmd)
			if err != nil {
				return err
			}
			b, err := ops.Export()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (mode 0600); default stdout")
	return cmd
}

func printSecrets(w io.Writer, s tenant.Secrets, asJSON bool, what string) error {
	if asJSON {
		return json.NewEncoder(w).Encode(s)
	}
	fmt.Fprintf(w, "tenant %s %s; these secrets are shown only now:\n", s.Tenant, what)
	fmt.Fprintf(w, "  API key       %s\n", s.APIKey)
	fmt.Fprintf(w, "                HTTP: Authorization: Bearer <key>; NATS: user %s, password <key>\n", s.Tenant)
	if s.SigningSeed != "" {
		fmt.Fprintf(w, "  signing seed  %s\n", s.SigningSeed)
		fmt.Fprintf(w, "                save it to a file (e.g. %s.nk): `eventrunner wasm sign` needs it\n", s.Tenant)
	}
	return nil
}

// adminClient is tenantOps over the admin API.
type adminClient struct {
	base, key string
	hc        *http.Client
}

func (c *adminClient) do(method, path string, in, out any) error {
	return callAPI(c.hc, method, c.base+path, method+" "+path, c.key, in, out)
}

func (c *adminClient) Create(t tenant.Tenant) (s tenant.Secrets, err error) {
	return s, c.do(http.MethodPost, "/admin/v1/tenants", t, &s)
}

func (c *adminClient) List() ([]tenant.Tenant, error) {
	var r struct{ Tenants []tenant.Tenant }
	return r.Tenants, c.do(http.MethodGet, "/admin/v1/tenants", nil, &r)
}

func (c *adminClient) RotateKey(id string, keepOld bool) (s tenant.Secrets, err error) {
	return s, c.do(http.MethodPost, fmt.Sprintf("/admin/v1/tenants/%s/rotate-key?keep_old=%t", id, keepOld), nil, &s)
}

func (c *adminClient) Creds(id string, expires time.Duration) ([]byte, error) {
	path := "/admin/v1/tenants/" + id + "/creds"
	if expires > 0 {
		path += "?expires=" + expires.String()
	}
	var b rawBody
	err := c.do(http.MethodPost, path, nil, &b)
	return b, err
}

func (c *adminClient) Export() ([]byte, error) {
	var b rawBody
	err := c.do(http.MethodGet, "/admin/v1/tenants.yaml", nil, &b)
	return b, err
}

func (c *adminClient) Delete(id string) error {
	return c.do(http.MethodDelete, "/admin/v1/tenants/"+id, nil, nil)
}
