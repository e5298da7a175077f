package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check strategy files; exit 1 when any has an error",
		Long: `Check strategy files as the server would load them: JSON syntax (FILE:LINE:COL),
then each strategy merged with its built-in default. Prints one line per problem,
FILE: strategy "NAME": step "STEP": FIELD: message, warnings marked "warning:".
Exits 0 when every file is valid (warnings allowed), 1 otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format must be text or json, not %q", format)
			}
			var all strategies.Problems
			failed := false
			for _, f := range files {
				ps := checkFile(f)
				all = append(all, ps...)
				if ps.HasErrors() {
					failed = true
				}
				if format == "text" {
					for _, p := range ps {
						fmt.Fprintln(cmd.OutOrStdout(), p.Error())
					}
					if !ps.HasErrors() {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", f)
					}
				}
			}
			if format == "json" {
				if all == nil {
					all = strategies.Problems{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"valid": !failed, "problems": all}); err != nil {
					return err
				}
			}
			if failed {
				return exitError(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func checkFile(path string) strategies.Problems {
	data, err := os.ReadFile(path)
	if err != nil {
		return strategies.Problems{{File: path, Severity: strategies.SevError, Message: err.Error()}}
	}
	return strategies.Check(path, data)
}
