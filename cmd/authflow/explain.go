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
			set, err := strategies.Load(args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return exitError(1)
			}
			st := set.Lookup(args[1])
			if st == nil {
				var names []string
				for _, s := range set.Strategies {
					names = append(names, s.Name)
				}
				return fmt.Errorf("%s has no strategy %q (it has: %v)", args[0], args[1], names)
			}
			return strategies.Explain(cmd.OutOrStdout(), st)
		},
	}
}
