package main

import (
	"fmt"

	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain FILE NAME",
		Short: "Show a strategy merged with its built-in default, and its step plan",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := strategies.Load(args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError(1)
			}
			sp := plan.Strategy(args[1])
			if sp == nil {
				return fmt.Errorf("%s has no strategy %q (it has: %v)", args[0], args[1], plan.Names())
			}
			return strategies.Explain(cmd.OutOrStdout(), sp)
		},
	}
}
