package main

import (
	"github.com/authflow/authflow/strategies"
	"github.com/spf13/cobra"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of strategy files, for editor completion",
		Long: `Print the JSON Schema (draft 2020-12) of strategy files to stdout. Save it and
point a file's "$schema" key at it for completion, hover help and checks in an
editor:

  authflow schema > strategies.schema.json
  { "$schema": "./strategies.schema.json", "strategies": { ... } }

The schema checks structure; authflow validate checks everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(strategies.Schema())
			return err
		},
	}
}
