package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/wasm"
)

func newWASMCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wasm",
		Short: "Sign, deploy, list and remove a tenant's WASM consumers",
		Long: `A WASM consumer is a WebAssembly module run by the engine against a tenant's
stream in a sandbox (see docs/wasm.md). The tenant signs the module with the
signing seed ` + "`eventrunner tenant create`" + ` printed, then deploys it with its API
key; the engine verifies the signature and the claims before running it.
Outputs go to er.out.<tenant>.<consumer> (` + "`eventrunner tail --outputs`" + `).`,
	}
	var c wasmClient
	f := cmd.PersistentFlags()
	f.StringVar(&c.server, "server", "http://127.0.0.1:8080", "URL of the engine's HTTP API")
	f.StringVar(&c.apiKey, "api-key", "", "the tenant's API key (or EVENTRUNNER_API_KEY)")
	f.StringVar(&c.adminKey, "admin-key", "", "the admin key, to act for --tenant instead")
	f.StringVar(&c.tenant, "tenant", "", "tenant id (with --admin-key; for sign, the tenant the claims name)")
	cmd.AddCommand(newWASMSignCmd(&c), newWASMDeployCmd(&c), newWASMListCmd(&c), newWASMRemoveCmd(&c))
	return cmd
}

func newWASMSignCmd(c *wasmClient) *cobra.Command {
	var seedFile, name, out string
	var caps []string
	cmd := &cobra.Command{
		Use:     "sign MODULE.wasm",
		Short:   "Sign a module: claims naming the tenant, the consumer, the module's SHA-256 and its capabilities",
		Example: `  eventrunner wasm sign --seed acme.nk --tenant acme --name enrich enrich.wasm   # writes enrich.wasm.sig`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			if c.tenant == "" || name == "" || seedFile == "" {
				return fmt.Errorf("sign needs --tenant, --name and --seed")
			}
			module, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			seed, err := os.ReadFile(seedFile)
			if err != nil {
				return err
			}
			tok, err := wasm.Sign(seed, wasm.Claims{Tenant: c.tenant, Name: name, Capabilities: caps}, module)
			if err != nil {
				return err
			}
			if out == "" {
				out = args[0] + ".sig"
			}
			if err := os.WriteFile(out, []byte(tok+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "signed %s (sha256 %s) for tenant %s, consumer %s, capabilities %s: %s\n",
				args[0], wasm.ModuleSHA256(module), c.tenant, name, strings.Join(caps, ","), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&seedFile, "seed", "", "file holding the tenant's signing seed (SA…)")
	cmd.Flags().StringVar(&name, "name", "", "consumer name the module may be deployed as")
	cmd.Flags().StringSliceVar(&caps, "caps", []string{wasm.CapEmit, wasm.CapLog}, "capabilities: host functions the module may import (emit, log)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "signature file (default MODULE.wasm.sig)")
	return cmd
}

func newWASMDeployCmd(c *wasmClient) *cobra.Command {
	var req wasm.DeployRequest
	var sigFile string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "deploy MODULE.wasm --name NAME",
		Short:   "Upload a signed module and run it on the tenant's stream",
		Example: `  eventrunner wasm deploy enrich.wasm --name enrich --api-key "$KEY" --pool 4 --timeout 500ms`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			var err error
			if req.Module, err = os.ReadFile(args[0]); err != nil {
				return err
			}
			if sigFile == "" {
				sigFile = args[0] + ".sig"
			}
			sig, err := os.ReadFile(sigFile)
			if err != nil {
				return fmt.Errorf("signature: %w (run `eventrunner wasm sign` first)", err)
			}
			req.Signature = strings.TrimSpace(string(sig))
			req.TimeoutMS = int(timeout / time.Millisecond)
			var info wasm.Info
			if err := c.do(http.MethodPost, "", req, &info); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deployed %s for tenant %s: pool %d, timeout %s, memory %d MB, outputs on er.out.%s.%s\n",
				info.Name, info.Tenant, info.Limits.Pool, info.Limits.Timeout, info.Limits.MemoryMB, info.Tenant, info.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "consumer name (as signed)")
	f.StringVar(&sigFile, "sig", "", "signature file (default MODULE.wasm.sig)")
	f.IntVar(&req.Pool, "pool", 0, "instances run at once (default 2)")
	f.DurationVar(&timeout, "timeout", 0, "per-event deadline (default 1s)")
	f.IntVar(&req.MemoryMB, "memory-mb", 0, "memory cap per instance (default 64)")
	f.IntVar(&req.MaxAttempts, "max-attempts", 0, "tries before an event is dead-lettered (default 5)")
	f.StringVar(&req.Deliver, "deliver", "", "new (default): events from now on; all: the tenant's whole stream")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newWASMListCmd(c *wasmClient) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tenant's consumers and what they did",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			var r struct{ Consumers []wasm.Info }
			if err := c.do(http.MethodGet, "", nil, &r); err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CONSUMER\tPOOL\tHANDLED\tEMITTED\tFAILED\tDEAD\tLAST ERROR")
			for _, i := range r.Consumers {
				last := i.Stats.LastError
				if i.Error != "" { // the server answering does not run it
					last = i.Error
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", i.Name, i.Limits.Pool, i.Stats.Handled, i.Stats.Emitted, i.Stats.Failed, i.Stats.DeadLettered, last)
			}
			return w.Flush()
		},
	}
}

func newWASMRemoveCmd(c *wasmClient) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Stop a consumer and delete it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd.Flags(), ""); err != nil {
				return err
			}
			if err := c.do(http.MethodDelete, "/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	}
}

// wasmClient calls the WASM consumer API as a tenant (API key) or as the
// operator (admin key and --tenant).
type wasmClient struct {
	server, apiKey, adminKey, tenant string
}

func (c *wasmClient) do(method, suffix string, in, out any) error {
	path, key := "/v1/wasm/consumers", c.apiKey
	if c.adminKey != "" {
		if c.tenant == "" {
			return fmt.Errorf("--admin-key needs --tenant")
		}
		path, key = "/admin/v1/tenants/"+c.tenant+"/wasm/consumers", c.adminKey
	}
	if key == "" {
		return fmt.Errorf("--api-key (or EVENTRUNNER_API_KEY) is required")
	}
	return callAPI(&http.Client{Timeout: 2 * time.Minute}, method, strings.TrimRight(c.server, "/")+path+suffix, method+" "+path+suffix, key, in, out)
}
