// Command eventrunner is the one binary users run: the engine (serve), the
// schema and rule tooling (check, rules eval) and the operator commands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is the engine version, set at build time with
// -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "eventrunner:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "eventrunner",
		Short: "A multi-tenant event processing engine with compiled GRL rules",
		Long: `eventrunner ingests CloudEvents, validates them against compiled schemas, runs
business rules written in GRL (grule's language) compiled ahead of time by
go generate, stores the processed events and streams them per tenant.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newSendCmd(), newTailCmd(), newBenchCmd(), newCheckCmd(), newRulesCmd(), newVersionCmd())
	root.AddCommand(newTenantCmd(), newWASMCmd(), newNATSCmd(), newDLQCmd()) // tenant.go, wasm.go, nats.go, dlq.go
	return root
}

// exitError carries a process exit code for failures already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func exitCode(err error) int {
	if e, ok := err.(exitError); ok {
		return e.code
	}
	return 1
}
