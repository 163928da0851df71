package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/runtime/tenant/tenantnats"
)

func newNATSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nats",
		Short: "Set up a NATS cluster whose operator is eventrunner (tenants as NATS accounts)",
		Long: `eventrunner gives every tenant a NATS account of its own, so that NATS itself
isolates tenants and enforces their limits. The embedded server does this by
itself. A NATS cluster does it when its servers trust eventrunner's operator:
` + "`nats init`" + ` creates the operator and prints the server configuration that
trusts it; ` + "`serve --nats-operator-key`" + ` then issues and pushes every tenant's
account as tenants come and go. See docs/deploy.md and docs/tenants.md.`,
	}
	cmd.AddCommand(newNATSInitCmd(), newNATSConfigCmd())
	return cmd
}

const (
	operatorFileName = "operator.nk"
	serverConfName   = "eventrunner-operator.conf"
	sysCredsName     = "sys.creds"
)

func newNATSInitCmd() *cobra.Command {
	var dir, resolverDir string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the NATS operator and write the configuration every server of the cluster includes",
		Long: `init creates a new NATS operator for eventrunner and writes, into --dir:

  operator.nk                the operator seed: every account, signing key and
                             user is derived from it. It is the deployment's one
                             secret; give it to every serve process
                             (--nats-operator-key) and to no one else.
  eventrunner-operator.conf  the part of nats-server.conf that trusts the operator:
                             operator JWT, system account, full account resolver,
                             the preloaded system, engine and auth accounts, and
                             the auth callout's sentinel. Include it in the
                             configuration of every server of the cluster.
  sys.creds                  a system-account user, for the nats CLI's server
                             commands (nats --creds sys.creds server list).

It never overwrites an existing operator: that would orphan every account.`,
		Example: `  eventrunner nats init --dir /etc/eventrunner/nats --resolver-dir /var/lib/nats/jwt
  # in each nats-server.conf:   include /etc/eventrunner/nats/eventrunner-operator.conf
  eventrunner serve --nats-url nats://n1:4222,nats://n2:4222,nats://n3:4222 --nats-operator-key /etc/eventrunner/nats/operator.nk`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seed := filepath.Join(dir, operatorFileName)
			if _, err := os.Stat(seed); err == nil {
				return fmt.Errorf("%s exists: an operator was created here already (use `eventrunner nats config` to print its server configuration)", seed)
			}
			keys, err := tenantnats.NewKeys()
			if err != nil {
				return err
			}
			if err := keys.WriteFile(seed); err != nil {
				return err
			}
			if err := writeNATSFiles(keys, dir, resolverDir); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created operator %s\n", tenantnats.Public(keys.Operator()))
			fmt.Fprintf(out, "  %s  the operator seed (secret: give it to serve, --nats-operator-key)\n", seed)
			fmt.Fprintf(out, "  %s  include it in every nats-server.conf of the cluster\n", filepath.Join(dir, serverConfName))
			fmt.Fprintf(out, "  %s  system-account creds for the nats CLI\n", filepath.Join(dir, sysCredsName))
			fmt.Fprintf(out, "\nThen: eventrunner serve --nats-url nats://<server>:4222,... --nats-operator-key %s --nats-replicas 3\n", seed)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "nats-operator", "directory to write the operator seed and the server configuration into")
	cmd.Flags().StringVar(&resolverDir, "resolver-dir", "./jwt", "where each server keeps the account JWTs (its account resolver's directory)")
	return cmd
}

func newNATSConfigCmd() *cobra.Command {
	var seed, resolverDir string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the server configuration that trusts an existing operator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if seed == "" {
				return errors.New("--nats-operator-key is required")
			}
			keys, err := tenantnats.ReadKeys(seed)
			if err != nil {
				return err
			}
			conf, err := keys.ServerConfig(resolverDir)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), conf)
			return err
		},
	}
	cmd.Flags().StringVar(&seed, "nats-operator-key", "", "operator seed file (from eventrunner nats init)")
	cmd.Flags().StringVar(&resolverDir, "resolver-dir", "./jwt", "where each server keeps the account JWTs")
	return cmd
}

// writeNATSFiles writes the server configuration and the system creds.
func writeNATSFiles(keys *tenantnats.Keys, dir, resolverDir string) error {
	conf, err := keys.ServerConfig(resolverDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, serverConfName), []byte(conf), 0o644); err != nil {
		return err
	}
	sys, err := keys.SystemCreds()
	if err != nil {
		return err
	}
	b, err := sys.File()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sysCredsName), b, 0o600)
}
