package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/eventrunner/eventrunner/gen"
	"github.com/eventrunner/eventrunner/gen/diag"
)

func newCheckCmd() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate schemas/ and rules/ exactly as go generate does",
		Long: `check loads every schema under schemas/ and every knowledge base under rules/,
validates and type-checks them with the generator's own front ends, and prints
every error and warning as file:line:col: message. It exits 1 when there are
errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, warnings, err := gen.Load(cmd.Context(), gen.Config{Root: root})
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var derr *diag.Errors
			if errors.As(err, &derr) {
				errs := 0
				for _, d := range derr.Diagnostics {
					fmt.Fprintln(errOut, d)
					if d.Severity == diag.Error {
						errs++
					}
				}
				fmt.Fprintf(errOut, "%d error(s)\n", errs)
				return exitError{1}
			}
			if err != nil {
				return err
			}
			for _, w := range warnings {
				fmt.Fprintln(errOut, w)
			}
			rules := 0
			for _, kb := range b.KBs {
				rules += len(kb.Rules)
			}
			fmt.Fprintf(out, "ok: %d schemas, %d knowledge bases, %d rules, bundle %s\n", len(b.Schemas), len(b.KBs), rules, b.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", ".", "repository root holding schemas/ and rules/")
	return cmd
}
